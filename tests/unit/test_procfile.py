"""procfile.py: `type: command` lines; comments and blanks skipped; bad input refused by line."""

from __future__ import annotations

import pytest

from paas import procfile
from paas.errors import InvalidInput


def refused(text: str) -> str:
    with pytest.raises(InvalidInput) as info:
        procfile.parse(text)
    assert info.value.exit_code == 2
    return info.value.message


def test_empty_text_has_no_processes():
    assert procfile.parse("") == {}
    assert procfile.parse("\n\n   \n") == {}


def test_type_and_command():
    text = "web: gunicorn app:app --bind 0.0.0.0:$PORT\nworker: python worker.py\n"
    assert procfile.parse(text) == {
        "web": "gunicorn app:app --bind 0.0.0.0:$PORT",
        "worker": "python worker.py",
    }


def test_order_of_definition_is_kept():
    assert list(procfile.parse("worker: w\nweb: x\nclock: c\n")) == ["worker", "web", "clock"]


def test_comments_and_blank_lines_are_skipped():
    text = "# the web process\n\nweb: python app.py\n   # indented comment\n\t\nworker: python w.py\n"
    assert procfile.parse(text) == {"web": "python app.py", "worker": "python w.py"}


def test_spaces_around_the_colon_and_the_line_are_trimmed():
    assert procfile.parse("  web :   python app.py   \n") == {"web": "python app.py"}
    assert procfile.parse("web:python app.py") == {"web": "python app.py"}


def test_only_the_first_colon_separates_type_from_command():
    assert procfile.parse("web: gunicorn app:app -b :$PORT") == {"web": "gunicorn app:app -b :$PORT"}


def test_command_keeps_shell_syntax_verbatim():
    command = "sh -c 'echo \"$PORT\" && exec ./run --flag=1 # not a comment' | tee /dev/null"
    assert procfile.parse(f"web: {command}") == {"web": command}


def test_windows_line_endings():
    assert procfile.parse("web: a\r\nworker: b\r\n") == {"web": "a", "worker": "b"}


def test_type_names_allowed():
    text = "a: x\nweb-2: x\nmy_worker: x\n" + "w" * 30 + ": x\n"
    assert list(procfile.parse(text)) == ["a", "web-2", "my_worker", "w" * 30]


@pytest.mark.parametrize(
    "line",
    [
        "Web: x",          # uppercase
        "1web: x",         # digit first
        "-web: x",         # hyphen first
        "_web: x",         # underscore first
        "w" * 31 + ": x",  # 31 characters
        "web.1: x",        # dot
        "my web: x",       # space inside
        "wéb: x",          # non-ASCII
        "web x",           # no colon
        "web:",            # no command
        "web:    ",        # blank command
        ": x",             # no type
        "$(id): x",
    ],
)
def test_invalid_lines_are_refused_with_line_number_and_rule(line):
    message = refused(f"# header\n\n{line}\n")
    assert message.startswith("Procfile line 3 is not `type: command`")
    assert "(type: a lowercase letter, then a-z, 0-9, '_' or '-')" in message
    assert repr(line) in message


def test_garbage_line_number_counts_comments_and_blanks():
    text = "web: a\n# c\n\nworker: b\n<<<<<<< HEAD\n"
    assert refused(text) == (
        "Procfile line 5 is not `type: command` "
        "(type: a lowercase letter, then a-z, 0-9, '_' or '-'): '<<<<<<< HEAD'"
    )


def test_garbage_line_is_cut_in_the_message():
    message = refused("x" * 500)
    assert "x" * 80 in message
    assert "x" * 81 not in message


def test_duplicate_type_refused_with_the_second_line_number():
    text = "web: a\nworker: b\n\nweb: c\n"
    assert refused(text) == "Procfile line 4: process type 'web' is defined twice"


def test_duplicate_with_different_spacing_is_still_a_duplicate():
    assert refused("web: a\n  web :b\n") == "Procfile line 2: process type 'web' is defined twice"


def test_at_most_1000_lines():
    assert procfile.parse("# c\n" * 999 + "web: x\n") == {"web": "x"}
    assert refused("# c\n" * 1000 + "web: x\n") == "Procfile has 1001 lines; at most 1000 are accepted"


def test_at_most_50_types():
    fifty = "".join(f"p{i}: x\n" for i in range(50))
    assert len(procfile.parse(fifty)) == 50
    assert refused(fifty + "p50: x\n") == "Procfile defines 51 process types; at most 50"


def test_release_type_is_an_ordinary_entry_here():
    # The release phase is chosen later (deploy/plan); the parser keeps it like any type.
    assert procfile.parse("release: ./migrate\nweb: x") == {"release": "./migrate", "web": "x"}

"""config.py: parsing K=V words, storing per app and globally, exports."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import pytest

from paas import apps, config
from paas.errors import InvalidInput, NotFound

HOSTILE = {
    "SPACES": "  two  spaces inside and around  ",
    "QUOTES": "it's \"quoted\" 'twice'",
    "DOLLAR": "$HOME ${PATH} $(id) `id` $$",
    "EQUALS": "a=b==c=",
    "BACKSLASH": "C:\\path\\to\\n\\t \\\\ end\\",
    "NEWLINES": "line1\nline2\n\nline4\n",
    "ONLY_NEWLINE": "\n",
    "EMPTY": "",
    "EMOJI": "🚀 ünïcödé 中文 עברית \u200b",
    "TAB_CR": "tab\there\r\ncrlf\rcr",
    "DASHES": "--format json",
    "AT": "@",
    "HASH": "#not a comment",
    "SHELL": "x; rm -rf / && echo pwned | cat > /dev/null",
    "ESCAPE": "\x1b[31mred\x1b[0m\x07",
    "C1": "\x9b31mred\x7f",
}


def test_parse_assignments_basic_and_literal_at():
    assert config.parse_assignments(["A=1", "B=x=y", "C=", "D=@", "E=@@text", "F=@@@x", "G=@@"]) == {
        "A": "1", "B": "x=y", "C": "", "D": "@", "E": "@text", "F": "@@x", "G": "@",
    }


def test_parse_assignments_takes_standard_input_once():
    read = []
    with pytest.raises(InvalidInput, match="only one value can come from standard input; A, B all ask for it"):
        config.parse_assignments(["A=@-", "B=@-"], read_file=lambda path: read.append(path) or "x")
    assert read == []


def test_parse_assignments_reads_files_through_the_reader():
    seen = []

    def reader(source):
        seen.append(source)
        return f"<{source}>"

    assert config.parse_assignments(["K=@/tmp/key.pem", "S=@-"], read_file=reader) == {
        "K": "</tmp/key.pem>", "S": "<->",
    }
    assert seen == ["/tmp/key.pem", "-"]


@pytest.mark.parametrize(
    "items, message",
    [
        ([], "nothing to set: give KEY=VALUE pairs"),
        (["A"], "'A' is not KEY=VALUE"),
        (["=1"], "invalid config key an empty name: config keys start with a letter or underscore, "
                 "then letters, digits or underscores (at most 255)"),
        (["A=1", "A=2"], "A is given twice"),
        (["K=@file"], "K: reading values from files is not possible here"),
        (["PORT=1"], "config key 'PORT' is reserved: paas sets PORT and the PAAS_ variables itself"),
        (["A=\x00"], "the value of A contains a NUL byte, which no environment can hold"),
    ],
)
def test_parse_assignments_refuses(items, message):
    with pytest.raises(InvalidInput) as info:
        config.parse_assignments(items)
    assert info.value.message == message


def test_set_reports_changed_keys_only():
    apps.create("web")
    assert config.set_vars("web", {"A": "1", "B": "2"}) == ["A", "B"]
    assert config.set_vars("web", {"A": "1", "B": "3"}) == ["B"]
    assert config.vars_of("web") == {"A": "1", "B": "3"}


def test_set_validates_everything_before_storing():
    apps.create("web")
    with pytest.raises(InvalidInput):
        config.set_vars("web", {"GOOD": "1", "PAAS_BAD": "2"})
    with pytest.raises(InvalidInput):
        config.set_vars("web", {"GOOD": "1", "BAD": "\x00"})
    assert config.vars_of("web") == {}


def test_unset_reports_removed_keys():
    apps.create("web")
    config.set_vars("web", {"A": "1", "B": "2"})
    assert config.unset_vars("web", ["A", "NOPE"]) == ["A"]
    assert config.vars_of("web") == {"B": "2"}
    with pytest.raises(InvalidInput, match="^nothing to unset: give one or more KEYs$"):
        config.unset_vars("web", [])


def test_global_defaults_and_app_precedence():
    apps.create("web")
    apps.create("api")
    config.set_vars(None, {"SHARED": "global", "ONLY_GLOBAL": "g"})
    config.set_vars("web", {"SHARED": "web", "ONLY_WEB": "w"})
    assert config.vars_of(None) == {"ONLY_GLOBAL": "g", "SHARED": "global"}
    assert config.vars_of("web") == {"ONLY_WEB": "w", "SHARED": "web"}
    assert config.effective("web") == {"ONLY_GLOBAL": "g", "ONLY_WEB": "w", "SHARED": "web"}
    assert config.effective("api") == {"ONLY_GLOBAL": "g", "SHARED": "global"}
    assert config.get_var("web", "SHARED") == "web"
    assert config.get_var("api", "SHARED") == "global"
    assert config.get_var(None, "SHARED") == "global"
    with pytest.raises(NotFound, match=r"^ONLY_WEB is not set for the global config$"):
        config.get_var(None, "ONLY_WEB")
    with pytest.raises(NotFound, match=r"^NOPE is not set for app 'api'$"):
        config.get_var("api", "NOPE")


def test_config_of_missing_app():
    with pytest.raises(NotFound, match=r"^app 'ghost' does not exist$"):
        config.set_vars("ghost", {"A": "1"})
    with pytest.raises(NotFound):
        config.vars_of("ghost")


def test_values_round_trip_byte_exact_through_the_store():
    apps.create("web")
    config.set_vars("web", HOSTILE)
    assert config.vars_of("web") == dict(sorted(HOSTILE.items()))
    for key, value in HOSTILE.items():
        assert config.get_var("web", key) == value


def test_export_json_round_trips():
    text = config.export(HOSTILE, "json")
    assert json.loads(text) == HOSTILE
    assert "🚀" in text  # not \\u-escaped
    # No control character reaches a terminal raw, the C1 ones included (U+009B is a CSI).
    assert not any(ord(c) < 0x20 and c != "\n" or 0x7f <= ord(c) < 0xa0 for c in text)
    assert config.export({}, "json") == "{}"


def test_export_shell_round_trips_through_sh():
    text = config.export(HOSTILE, "shell")
    keys = list(HOSTILE)
    script = text + "\nprintf '%s\\0' " + " ".join(f'"${k}"' for k in keys)
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    values = out.decode("utf-8").split("\0")[:-1]
    assert dict(zip(keys, values)) == HOSTILE


def test_export_dotenv_sourced_by_sh_runs_nothing_and_reads_back_exactly():
    # `set -a; . ./.env` is how many load a .env: a collaborator's value must not run there.
    text = config.export({**HOSTILE, "RUN": "`touch ran` $(touch ran) it's"}, "dotenv")
    keys = [*HOSTILE, "RUN"]
    script = "set -a\n" + text + "\nprintf '%s\\0' " + " ".join(f'"${k}"' for k in keys)
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(["sh", "-c", script], capture_output=True, check=True, cwd=scratch).stdout
        assert not os.path.exists(os.path.join(scratch, "ran"))
    values = out.decode("utf-8").split("\0")[:-1]
    assert dict(zip(keys, values)) == {**HOSTILE, "RUN": "`touch ran` $(touch ran) it's"}


def test_export_formats_exactly():
    values = {"A": "plain", "B": 'say "hi" $USER\\n', "C": "two\nlines", "D": ""}
    assert config.export(values, "dotenv") == (
        "A='plain'\n"
        'B="say \\"hi\\" \\$USER\\\\n"\n'
        'C="two\nlines"\n'
        "D=''"
    )
    assert config.export(values, "shell") == (
        "export A=plain\n"
        "export B='say \"hi\" $USER\\n'\n"
        "export C='two\nlines'\n"
        "export D=''"
    )
    assert config.export({}, "dotenv") == ""
    with pytest.raises(InvalidInput, match=r"^unknown format 'yaml': use dotenv, shell or json$"):
        config.export(values, "yaml")

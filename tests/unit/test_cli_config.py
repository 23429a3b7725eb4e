"""config:* commands: exact output, --global, restarts, and byte-exact round trips."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paas import apps, config, releases

from .test_config import HOSTILE

PEM = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACD+/=example+key/material==\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.fixture
def web(cli):
    cli("apps:create", "web")
    return "web"


def ok(result, stdout: str) -> None:
    assert (result.exit_code, result.stderr, result.stdout) == (0, "", stdout)


def test_set_and_get(cli, web):
    ok(cli("config:set", web, "A=1", "B=two words"), "-----> Setting A, B on web\n")
    ok(cli("config:get", web, "A"), "1\n")
    ok(cli("config:get", web, "B"), "two words\n")
    ok(cli("config:set", web, "A=1"), "-----> Setting A on web\n       No value changed\n")


def test_get_missing_key(cli, web):
    result = cli("config:get", web, "NOPE")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == " !     NOPE is not set for app 'web'\n"


def test_global_set_get_and_inheritance(cli, web):
    ok(cli("config:set", "--global", "G=g", "A=glob"),
       "-----> Setting G, A on global config\n"
       "       Global values apply to each app at its next deploy or ps:restart\n")
    ok(cli("config:set", "--global", "--no-restart", "H=h"), "-----> Setting H on global config\n")
    ok(cli("config:get", "--global", "A"), "glob\n")
    ok(cli("config:get", web, "A"), "glob\n")  # inherited
    cli("config:set", web, "A=mine")
    ok(cli("config:get", web, "A"), "mine\n")  # app wins
    ok(cli("config:get", "--global", "A"), "glob\n")
    result = cli("config:get", "--global", "NOPE")
    assert (result.exit_code, result.stderr) == (3, " !     NOPE is not set for the global config\n")


def test_show(cli, web):
    ok(cli("config:show", web), "=====> web config vars\n       (none)\n")
    cli("config:set", web, "A=1", "LONGER_KEY=x", "MULTI=one\ntwo", "EMPTY=")
    cli("config:set", "--global", "G=g")
    ok(cli("config:show", web),
       "=====> web config vars\n"
       "A:          1\n"
       "EMPTY:\n"
       "LONGER_KEY: x\n"
       "MULTI:      one\n"
       "            two\n")
    ok(cli("config:show", web, "--merged"),
       "=====> web config vars\n"
       "A:          1\n"
       "EMPTY:\n"
       "G:          g\n"
       "LONGER_KEY: x\n"
       "MULTI:      one\n"
       "            two\n")
    ok(cli("config:show", "--global"), "=====> global config vars\nG: g\n")


def test_show_json(cli, web):
    cli("config:set", web, "B=2", "A=1")
    cli("config:set", "--global", "G=g")
    ok(cli("config:show", web, "--format", "json"), '{\n  "A": "1",\n  "B": "2"\n}\n')
    assert json.loads(cli("config:show", web, "--merged", "--format", "json").stdout) == {
        "A": "1", "B": "2", "G": "g"}
    assert json.loads(cli("config:show", "--global", "--format", "json").stdout) == {"G": "g"}
    ok(cli("config:show", "--global", "--format", "json", "--merged"), '{\n  "G": "g"\n}\n')


def test_export_formats(cli, web):
    cli("config:set", "--global", "G=g", "A=glob")
    cli("config:set", web, "A=it's $x", "B=two\nlines")
    ok(cli("config:export", web),
       'A="it\'s \\$x"\n'
       'B="two\nlines"\n'
       "G='g'\n")
    ok(cli("config:export", web, "--format", "dotenv"), cli("config:export", web).stdout)
    ok(cli("config:export", web, "--format", "shell"),
       "export A='it'\"'\"'s $x'\n"
       "export B='two\n"
       "lines'\n"
       "export G=g\n")
    ok(cli("config:export", web, "--format", "json"),
       '{\n  "A": "it\'s $x",\n  "B": "two\\nlines",\n  "G": "g"\n}\n')
    ok(cli("config:export", "--global", "--format", "json"), '{\n  "A": "glob",\n  "G": "g"\n}\n')


def test_export_empty(cli, web):
    ok(cli("config:export", web), "")
    ok(cli("config:export", web, "--format", "json"), "{}\n")


def test_export_bad_format(cli, web):
    result = cli("config:export", web, "--format", "yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == " !     unknown format 'yaml': use dotenv, shell or json\n"
    result = cli("config:show", web, "--format", "dotenv")
    assert (result.exit_code, result.stderr) == (2, " !     unknown format 'dotenv': use text or json\n")


def test_unset(cli, web):
    cli("config:set", web, "A=1", "B=2", "C=3")
    ok(cli("config:unset", web, "A", "NOPE"), "-----> Unsetting A, NOPE on web\n")
    ok(cli("config:unset", web, "NOPE"), "-----> Unsetting NOPE on web\n       None of them was set\n")
    assert config.vars_of(web) == {"B": "2", "C": "3"}
    cli("config:set", "--global", "G=1")
    ok(cli("config:unset", "--global", "G"),
       "-----> Unsetting G on global config\n"
       "       Global values apply to each app at its next deploy or ps:restart\n")
    assert config.vars_of(None) == {}


@pytest.mark.parametrize(
    "args, message",
    [
        (("config:set",), "give an APP, or --global for the defaults every app inherits"),
        (("config:set", "web"), "nothing to set: give KEY=VALUE pairs"),
        (("config:set", "--global"), "nothing to set: give KEY=VALUE pairs"),
        (("config:set", "web", "A"), "'A' is not KEY=VALUE"),
        (("config:set", "web", "A=1", "A=2"), "A is given twice"),
        (("config:unset", "web"), "nothing to unset: give one or more KEYs"),
        (("config:get", "web"), "give exactly one KEY"),
        (("config:get", "--global", "A", "B"), "give exactly one KEY"),
        (("config:show",), "give an APP, or --global for the defaults every app inherits"),
        (("config:show", "web", "--global"), "give either an APP or --global, not both"),
        (("config:export",), "give an APP, or --global for the defaults every app inherits"),
        (("config:set", "web", "X=@/nonexistent/file"), "cannot read /nonexistent/file: No such file or directory"),
    ],
)
def test_usage_errors(cli, web, state, args, message):
    before = state()
    result = cli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f" !     {message}\n")
    assert state() == before


def test_missing_app(cli, state):
    before = state()
    for args in (("config:set", "ghost", "A=1"), ("config:get", "ghost", "A"),
                 ("config:unset", "ghost", "A"), ("config:show", "ghost"), ("config:export", "ghost")):
        result = cli(*args)
        assert (result.exit_code, result.stdout) == (3, ""), args
        assert result.stderr == " !     app 'ghost' does not exist\n !     list apps with: paas apps:list\n"
    assert state() == before


# deployed apps: a config change makes a release and restarts (via paas.deploy) -------------

def test_set_on_a_deployed_app_releases_and_restarts(cli, web, deploy_calls):
    releases.create(web, description="Deploy", status="live")
    ok(cli("config:set", web, "A=1", "B=2"), "-----> Setting A, B on web\n")
    ok(cli("config:set", web, "A=1", "B=3"), "-----> Setting A, B on web\n")
    ok(cli("config:unset", web, "A", "NOPE"), "-----> Unsetting A, NOPE on web\n")
    ok(cli("config:set", web, "B=3"), "-----> Setting B on web\n       No value changed\n")
    assert deploy_calls == [
        ("release_config_change", "web", "Set A, B"),
        ("release_config_change", "web", "Set B"),
        ("release_config_change", "web", "Unset A"),
    ]


def test_a_config_change_whose_release_fails_is_undone(cli, web, monkeypatch):
    import paas
    from paas.errors import DeployFailed

    releases.create(web, description="Deploy", status="live")
    ok(cli("config:set", web, "KEEP=1", "A=old"), "-----> Setting KEEP, A on web\n")

    def failing_release(app, description):
        raise DeployFailed("web v3 failed its checks; the previous release keeps serving")

    monkeypatch.setattr(paas.deploy, "release_config_change", failing_release)
    result = cli("config:set", web, "A=new", "B=2")
    assert result.exit_code != 0 and "failed its checks" in result.stderr
    assert "A, B left as before: the config change was undone" in result.stdout
    assert config.vars_of(web) == {"A": "old", "KEEP": "1"}
    result = cli("config:unset", web, "KEEP")
    assert result.exit_code != 0
    assert config.vars_of(web) == {"A": "old", "KEEP": "1"}


def test_a_config_change_that_went_live_is_kept_even_if_a_later_step_fails(cli, web, monkeypatch):
    import paas
    from paas.errors import DeployFailed

    releases.create(web, description="Deploy", status="live")

    def live_then_failing(app, description):
        new = releases.create(app, description=description, status="pending")
        releases.mark_live(app, new.version)  # the switch happened: the app runs the new value
        raise DeployFailed("something after the switch failed")

    monkeypatch.setattr(paas.deploy, "release_config_change", live_then_failing)
    result = cli("config:set", web, "A=new")
    assert result.exit_code != 0 and "undone" not in result.stdout
    assert config.vars_of(web) == {"A": "new"}


def test_no_restart_waits_for_the_next_deploy(cli, web, deploy_calls):
    releases.create(web, description="Deploy", status="live")
    ok(cli("config:set", web, "A=1", "--no-restart"),
       "-----> Setting A on web\n       Takes effect at the next deploy or ps:restart web (--no-restart)\n")
    ok(cli("config:unset", web, "A", "--no-restart"),
       "-----> Unsetting A on web\n       Takes effect at the next deploy or ps:restart web (--no-restart)\n")
    assert deploy_calls == []


def test_undeployed_app_and_global_changes_restart_nothing(cli, web, deploy_calls):
    cli("config:set", web, "A=1")
    cli("config:set", "--global", "A=1")
    assert deploy_calls == []


# round trips ----------------------------------------------------------------------------

def test_hostile_values_round_trip_byte_exact(cli, web):
    words = [f"{k}={v}" for k, v in HOSTILE.items()]
    result = cli("config:set", web, *words)
    assert result.exit_code == 0, result.stderr
    for key, value in HOSTILE.items():
        got = cli("config:get", web, key)
        assert got.exit_code == 0
        assert got.stdout_bytes == (value + "\n").encode("utf-8"), key
    exported = cli("config:export", web, "--format", "json")
    assert json.loads(exported.stdout_bytes.decode("utf-8")) == HOSTILE
    assert json.loads(cli("config:show", web, "--format", "json").stdout_bytes) == HOSTILE


def test_global_hostile_values_round_trip(cli):
    result = cli("config:set", "--global", *[f"{k}={v}" for k, v in HOSTILE.items()])
    assert result.exit_code == 0, result.stderr
    for key, value in HOSTILE.items():
        assert cli("config:get", "--global", key).stdout_bytes == (value + "\n").encode()
    assert json.loads(cli("config:export", "--global", "--format", "json").stdout_bytes) == HOSTILE


def test_value_from_a_file(cli, web, tmp_path):
    pem = tmp_path / "id_ed25519"
    pem.write_bytes(PEM.encode())
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"windows\r\nline endings\r\n")
    ok(cli("config:set", web, f"SSH_KEY=@{pem}", f"CRLF=@{crlf}"), "-----> Setting SSH_KEY, CRLF on web\n")
    assert cli("config:get", web, "SSH_KEY").stdout_bytes == PEM.encode() + b"\n"
    assert config.vars_of(web)["CRLF"] == "windows\r\nline endings\r\n"
    assert json.loads(cli("config:export", web, "--format", "json").stdout)["SSH_KEY"] == PEM


def test_value_from_stdin(cli, web):
    ok(cli("config:set", web, "SSH_KEY=@-", input=PEM), "-----> Setting SSH_KEY on web\n")
    assert cli("config:get", web, "SSH_KEY").stdout_bytes == PEM.encode() + b"\n"
    assert json.loads(cli("config:export", web, "--format", "json").stdout) == {"SSH_KEY": PEM}


def test_stdin_keeps_carriage_returns_in_a_real_process(web, subprocess_env):
    """Byte-exact means CRLF (a key saved on Windows) and lone CR survive stdin too.
    (A real process: CliRunner's stdin translates newlines, a POSIX sys.stdin does not.)"""
    value = b"-----BEGIN KEY-----\r\nline two\r\nlone\rcr"
    proc = subprocess.run([sys.executable, "-m", "paas", "config:set", "web", "K=@-"],
                          input=value, env=subprocess_env, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert config.vars_of("web")["K"].encode() == value


def test_literal_at_sign(cli, web):
    ok(cli("config:set", web, "A=@@text", "B=@", "C=@@", "D=@@@x", "E=user@example.com"),
       "-----> Setting A, B, C, D, E on web\n")
    assert config.vars_of(web) == {"A": "@text", "B": "@", "C": "@", "D": "@@x", "E": "user@example.com"}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe not utf-8", "{path} is not UTF-8 text"),
        (b"nul \x00 byte", "the value of K contains a NUL byte, which no environment can hold"),
        (b"x" * (127 * 1024 + 1), "the value of K is larger than 127 KiB"),
    ],
)
def test_bad_file_values_are_refused(cli, web, state, tmp_path, content, message):
    path = tmp_path / "value"
    path.write_bytes(content)
    before = state()
    result = cli("config:set", web, "OK=1", f"K=@{path}")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f" !     {message.format(path=path)}\n"
    assert state() == before


def test_a_directory_is_not_a_value(cli, web, tmp_path):
    result = cli("config:set", web, f"K=@{tmp_path}")
    assert result.exit_code == 2
    assert result.stderr == f" !     cannot read {tmp_path}: Is a directory\n"


def test_bad_stdin_is_refused_cleanly(web, state, subprocess_env):
    """Non-UTF-8 bytes on stdin: a clear refusal (exit 2), not a traceback. PYTHONIOENCODING
    stands in for a server whose locale is e.g. en_US.UTF-8 (strict decoding of stdin)."""
    before = state()
    env = dict(subprocess_env, PYTHONIOENCODING="utf-8:strict")
    proc = subprocess.run([sys.executable, "-m", "paas", "config:set", "web", "K=@-"],
                          input=b"\xff\xfe binary", env=env, capture_output=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, b""), proc.stderr.decode()
    assert proc.stderr.startswith(b" !     ") and b"UTF-8" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert state() == before


def test_an_app_that_is_renamed_keeps_its_config_and_the_new_name_answers(cli, web):
    cli("config:set", web, "A=1")
    cli("apps:rename", web, "site")
    ok(cli("config:get", "site", "A"), "1\n")
    assert apps.find("web") is None


def test_endless_stdin_is_refused_after_the_limit_without_reading_it_all(web, state, subprocess_env):
    """A client streaming without end: refused once one byte past 127 KiB has come."""
    before = state()
    proc = subprocess.Popen([sys.executable, "-m", "paas", "config:set", "web", "K=@-"], env=subprocess_env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sent = 0
    try:
        while proc.poll() is None and sent < 64 * 2**20:  # it must give up long before 64 MiB
            proc.stdin.write(b"x" * 65536)
            sent += 65536
    except BrokenPipeError:
        pass
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err.decode()
    assert err == b" !     standard input is larger than 127 KiB, the most one config value may hold\n"
    assert sent < 64 * 2**20
    assert state() == before


def test_show_json_escapes_every_control_character(cli, web):
    # A value set by one collaborator must not drive another's terminal: \x9b is a CSI.
    cli("config:set", web, "C1=\x9b2J\x1b[31m\x7f")
    text = cli("config:show", web, "--format", "json").stdout
    assert text == '{\n  "C1": "\\u009b2J\\u001b[31m\\u007f"\n}\n'
    assert json.loads(text) == {"C1": "\x9b2J\x1b[31m\x7f"}


def test_show_escapes_control_characters_but_keeps_lines(cli, web):
    cli("config:set", web, "E=a\x1b[31mb\x9bc\r\nnext")
    ok(cli("config:show", web), "=====> web config vars\nE: a\\x1b[31mb\\x9bc\\x0d\n   next\n")
    assert cli("config:get", web, "E").stdout_bytes == "a\x1b[31mb\x9bc\r\nnext\n".encode()  # data: exact

"""remote.py (laptop client): git remote URLs -> SSH targets; `config:set K=@file` inlining."""

from __future__ import annotations

from pathlib import Path

import pytest

from paas import remote
from paas.errors import InvalidInput
from paas.remote import Target


# parse_remote_url ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("ssh://paas@example.com:2222/demo.git", Target("paas", "example.com", 2222, "demo")),
        ("ssh://paas@example.com:2222/demo", Target("paas", "example.com", 2222, "demo")),
        ("ssh://dokku@10.0.0.5/my-app.git", Target("dokku", "10.0.0.5", None, "my-app")),
        ("ssh://root@127.0.0.1:2222/demo", Target("root", "127.0.0.1", 2222, "demo")),
        ("ssh://example.com/demo", Target(None, "example.com", None, "demo")),
        ("ssh://example.com:22/demo.git/", Target(None, "example.com", 22, "demo")),
        ("ssh://paas@host/demo/", Target("paas", "host", None, "demo")),
    ],
)
def test_ssh_urls(url, expected):
    assert remote.parse_remote_url(url) == expected


@pytest.mark.parametrize(
    "url, expected",
    [
        ("paas@example.com:demo.git", Target("paas", "example.com", None, "demo")),
        ("paas@example.com:demo", Target("paas", "example.com", None, "demo")),
        ("dokku@192.168.1.9:shop.git", Target("dokku", "192.168.1.9", None, "shop")),
        ("example.com:demo.git", Target(None, "example.com", None, "demo")),
        ("myserver:api", Target(None, "myserver", None, "api")),
    ],
)
def test_scp_like_urls(url, expected):
    assert remote.parse_remote_url(url) == expected


def test_only_one_git_suffix_is_removed():
    assert remote.parse_remote_url("paas@host:demo.git.git") == Target("paas", "host", None, "demo.git")


def test_the_app_is_returned_as_written_and_validated_by_the_server():
    # The server's SSH entry validates the name; the client only splits the URL.
    assert remote.parse_remote_url("paas@host:Demo_App").app == "Demo_App"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://github.com/org/app.git",
        "http://example.com/app",
        "git://example.com/app.git",
        "file:///srv/repos/app.git",
        "/srv/repos/app.git",
        "../app.git",
        "app.git",
        "ssh://host/org/app.git",       # nested path: not an app
        "ssh://host/",                  # no app
        "ssh://host",
        "ssh://host:port/app",          # port not a number
        "ssh://user@host:22:23/app",
        "ssh://host:0/app",             # no such port
        "ssh://host:65536/app",
        "ssh://host:99999/app",
        "host:",                        # no app
        "user@host:org/app.git",        # nested path
        "user@host:/srv/app.git",       # absolute path
        "ssh://@host/app",              # empty user: '@host' is no hostname
        "@host:app",
        "ssh://a@b@host/app",           # 'b@host' is no hostname
        "a@b@host:app",
    ],
)
def test_other_urls_are_not_paas_remotes(url):
    assert remote.parse_remote_url(url) is None


# inline_local_files ---------------------------------------------------------------------


def test_file_content_replaces_the_path(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERT-----\nabc\n-----END CERT-----\n")
    args = ["config:set", "demo", f"TLS_CERT=@{cert}", "PLAIN=1"]
    assert remote.inline_local_files(args) == [
        "config:set", "demo", "TLS_CERT=-----BEGIN CERT-----\nabc\n-----END CERT-----\n", "PLAIN=1",
    ]


def test_the_input_list_is_not_mutated(tmp_path):
    path = tmp_path / "v"
    path.write_text("x")
    args = ["config:set", "demo", f"K=@{path}"]
    remote.inline_local_files(args)
    assert args == ["config:set", "demo", f"K=@{path}"]


def test_content_starting_with_at_is_escaped_so_the_server_keeps_it_literal(tmp_path):
    path = tmp_path / "v"
    path.write_text("@not-a-path")
    assert remote.inline_local_files(["config:set", "demo", f"K=@{path}"]) == [
        "config:set", "demo", "K=@@not-a-path",
    ]


def test_inlined_values_round_trip_through_the_servers_parser(tmp_path):
    from paas import config

    values = {"A": "@x", "B": "@@y", "C": "plain", "D": "", "E": "line1\nline2\n", "F": "=@="}
    args = ["config:set", "demo"]
    for key, value in values.items():
        path = tmp_path / key
        path.write_text(value)
        args.append(f"{key}=@{path}")
    sent = remote.inline_local_files(args)

    def no_file(path):  # the server must never be asked to read a laptop path
        raise AssertionError(f"server asked to read {path}")

    assert config.parse_assignments(sent[2:], read_file=no_file) == values


def test_file_content_is_sent_byte_exact(tmp_path):
    # Config values are kept byte-exact (local `config:set K=@file` reads bytes); the laptop
    # client must not translate CRLF or lone CR line endings on the way.
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"line1\r\nline2\rline3\n")
    assert remote.inline_local_files(["config:set", "demo", f"K=@{path}"]) == [
        "config:set", "demo", "K=line1\r\nline2\rline3\n",
    ]


@pytest.mark.parametrize("word", ["K=@@literal", "K=@@", "K=@-", "K=@", "K=value@x", "K=", "NOEQUALS"])
def test_escapes_stdin_and_plain_values_pass_through(word):
    assert remote.inline_local_files(["config:set", "demo", word]) == ["config:set", "demo", word]


def test_with_global_the_words_are_inlined_too(tmp_path):
    path = tmp_path / "v"
    path.write_text("shared")
    assert remote.inline_local_files(["config:set", "--global", f"K=@{path}"]) == [
        "config:set", "--global", "K=shared",
    ]


@pytest.mark.parametrize(
    "args",
    [
        ["run", "demo", "--", "echo", "K=@/etc/passwd"],
        ["config:get", "demo", "K=@/etc/passwd"],
        ["config:unset", "demo", "K=@/etc/passwd"],
        ["apps:list"],
        [],
    ],
)
def test_other_commands_are_untouched(args):
    assert remote.inline_local_files(list(args)) == args


def test_missing_file_is_refused_naming_it(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(InvalidInput) as info:
        remote.inline_local_files(["config:set", "demo", f"K=@{missing}"])
    assert info.value.message.startswith(f"cannot read {missing}: ")
    assert info.value.exit_code == 2


def test_directory_is_refused(tmp_path):
    with pytest.raises(InvalidInput) as info:
        remote.inline_local_files(["config:set", "demo", f"K=@{tmp_path}"])
    assert info.value.message.startswith(f"cannot read {tmp_path}: ")


def test_non_utf8_file_is_refused(tmp_path):
    path = tmp_path / "bin"
    path.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(InvalidInput) as info:
        remote.inline_local_files(["config:set", "demo", f"K=@{path}"])
    assert info.value.message.startswith(f"cannot read {path}: ")


def test_unicode_content(tmp_path):
    path = tmp_path / "u"
    path.write_text("héllo ✓", encoding="utf-8")
    assert remote.inline_local_files(["config:set", "demo", f"K=@{path}"])[2] == "K=héllo ✓"


# target_for: which server, which app (the git remote lookup replaced) -------------------


@pytest.fixture
def laptop(monkeypatch):
    """Laptop mode with a fake `git config remote.NAME.url`: remotes = {name: url}."""
    remotes: dict[str, str] = {}
    monkeypatch.delenv("PAAS_LOCAL", raising=False)
    monkeypatch.setattr(remote, "_git_remote_url", lambda name: remotes.get(name))
    return remotes


def test_paas_local_means_no_server(monkeypatch):
    monkeypatch.setenv("PAAS_LOCAL", "1")
    monkeypatch.setattr(remote, "_git_remote_url", lambda name: "paas@host:demo")
    args = ["config:show"]
    assert remote.target_for(args) is None
    assert args == ["config:show"]


def test_no_remote_and_no_host_runs_locally(laptop):
    args = ["config:show", "demo"]
    assert remote.target_for(args) is None
    assert args == ["config:show", "demo"]


def test_the_paas_remote_names_server_and_app(laptop):
    laptop["paas"] = "ssh://paas@example.com:2222/demo.git"
    args = ["config:show", "--format", "json"]
    target = remote.target_for(args)
    assert target == Target("paas", "example.com", 2222, "demo")
    assert remote.words_to_send(target, args) == ["--app", "demo", "config:show", "--format", "json"]


@pytest.mark.parametrize("args", [["apps:list"], ["apps:create", "other"], ["ssh-keys:list"]])
def test_the_app_is_inserted_only_where_the_first_argument_is_the_app(laptop, args):
    laptop["paas"] = "paas@example.com:demo"
    sent = list(args)
    target = remote.target_for(sent)
    assert target.app == "demo" and sent == args
    assert remote.apply_app_option(remote.words_to_send(target, sent)) == args


@pytest.mark.parametrize("sent, received", [
    (["--app", "demo", "config:show", "--format", "json"], ["config:show", "demo", "--format", "json"]),
    (["-a", "demo", "ps:scale", "web=2"], ["ps:scale", "demo", "web=2"]),
    (["--app=demo", "ps:report"], ["ps:report", "demo"]),
    (["--app", "demo", "run", "--", "ls", "-a", "x"], ["run", "demo", "--", "ls", "-a", "x"]),
    (["--app", "demo", "config:set", "--global", "K=V"], ["config:set", "--global", "K=V"]),
    (["--app"], ["--app"]),
    (["--app", "demo"], []),
    # Further on, -a and --app are the command's own words.
    (["run", "demo", "grep", "-a", "pat", "f"], ["run", "demo", "grep", "-a", "pat", "f"]),
    (["enter", "demo", "web.1", "ls", "-a", "/tmp"], ["enter", "demo", "web.1", "ls", "-a", "/tmp"]),
    (["ps:report", "--app=demo"], ["ps:report", "--app=demo"]),
])
def test_the_server_puts_the_app_option_in_place(sent, received):
    assert remote.apply_app_option(list(sent)) == received


def test_dash_a_overrides_the_remote_app_and_is_removed(laptop):
    laptop["paas"] = "paas@example.com:demo"
    args = ["-a", "other", "ps:scale", "web=2"]
    assert remote.target_for(args) == Target("paas", "example.com", None, "other")
    assert args == ["ps:scale", "web=2"]
    args = ["ps:report", "--app=third"]
    assert remote.target_for(args).app == "third"
    assert args == ["ps:report"]


def test_options_after_double_dash_belong_to_the_command(laptop):
    laptop["paas"] = "paas@example.com:demo"
    args = ["run", "--", "ls", "-a", "x"]
    target = remote.target_for(args)
    assert args == ["run", "--", "ls", "-a", "x"]
    assert remote.apply_app_option(remote.words_to_send(target, args)) == ["run", "demo", "--", "ls", "-a", "x"]


def test_dash_dash_remote_picks_another_git_remote(laptop):
    laptop["paas"] = "paas@example.com:demo"
    laptop["staging"] = "ssh://deploy@staging.example.com:2200/demo-staging"
    args = ["--remote", "staging", "releases"]
    assert remote.target_for(args) == Target("deploy", "staging.example.com", 2200, "demo-staging")
    assert args == ["releases"]


def test_unknown_remote_name_is_an_error(laptop):
    with pytest.raises(InvalidInput) as info:
        remote.target_for(["--remote", "prod", "releases"])
    assert info.value.message == "no git remote named 'prod' in this directory"


def test_a_paas_remote_that_is_not_ssh_is_an_error(laptop):
    laptop["paas"] = "https://example.com/demo.git"
    with pytest.raises(InvalidInput) as info:
        remote.target_for(["releases"])
    assert info.value.message == "git remote 'paas' (https://example.com/demo.git) is not an SSH remote"


def test_paas_host_without_a_remote(laptop, monkeypatch):
    monkeypatch.setenv("PAAS_HOST", "deploy@example.com:2200")
    args = ["-a", "demo", "logs", "-t"]
    assert remote.target_for(args) == Target("deploy", "example.com", 2200, "demo")
    assert args == ["logs", "-t"]
    monkeypatch.setenv("PAAS_HOST", "example.com")
    assert remote.target_for(["apps:list"]) == Target(None, "example.com", None, None)


@pytest.mark.parametrize("args", [["help"], ["help", "config"], ["server:status"], ["server:up", "--ssh-port", "1"]])
def test_help_and_server_commands_always_run_locally(laptop, args):
    laptop["paas"] = "paas@example.com:demo"
    sent = list(args)
    assert remote.target_for(sent) is None
    assert sent == args


@pytest.mark.parametrize(
    "args",
    [["config:set", "--global", "K=V"], ["config:show", "--global"], ["checks:set", "--global", "wait", "5"]],
)
def test_global_commands_get_no_app_inserted(laptop, args):
    # Inside an app's repo, `paas config:set --global K=V` must stay global: with the app
    # inserted the server reads `demo` as the first KEY=VALUE and refuses the command.
    laptop["paas"] = "paas@example.com:demo"
    sent = list(args)
    target = remote.target_for(sent)
    assert remote.apply_app_option(remote.words_to_send(target, sent)) == args


# endpoint: the remote's user/port, else ~/.ssh/config, else paas@host:22 --------------------


def write_config(tmp_path, text):
    path = tmp_path / "ssh_config"
    path.write_text(text)
    return path


def test_ssh_config_fills_what_the_remote_leaves_out(tmp_path):
    from paas.ssh_client import endpoint

    config = write_config(tmp_path, "Host prod\n  HostName 10.0.0.7\n  Port 2200\n  User deploy\n"
                                    "  IdentityFile ~/.ssh/deploy_key\n\nHost *\n  User fallback\n")
    found = endpoint(remote.parse_remote_url("prod:shop"), config)
    assert (found.user, found.host, found.port) == ("deploy", "10.0.0.7", 2200)
    assert found.identities == (str(Path.home() / ".ssh" / "deploy_key"),)
    assert found.proxy_command is None
    # What the remote says wins, as with OpenSSH.
    found = endpoint(remote.parse_remote_url("ssh://paas@prod:2222/shop"), config)
    assert (found.user, found.host, found.port) == ("paas", "10.0.0.7", 2222)
    other = endpoint(remote.parse_remote_url("example.com:shop"), config)
    assert (other.user, other.host, other.port) == ("fallback", "example.com", 22)


def test_without_ssh_config_the_defaults_are_paas_and_22(tmp_path):
    from paas.ssh_client import endpoint

    found = endpoint(remote.parse_remote_url("example.com:shop"), tmp_path / "missing")
    assert (found.user, found.host, found.port, found.identities) == ("paas", "example.com", 22, ())


def test_proxy_command_comes_through(tmp_path):
    from paas.ssh_client import endpoint

    config = write_config(tmp_path, "Host inner\n  ProxyCommand ssh -W %h:%p bastion\n")
    assert endpoint(remote.parse_remote_url("inner:shop"), config).proxy_command == "ssh -W inner:22 bastion"

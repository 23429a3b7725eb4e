"""The SSH door, in-process: `paas.ssh_entry.main([KEYNAME])` with SSH_ORIGINAL_COMMAND set,
exactly what sshd's forced command runs for every key, but without sshd.

Hostile commands must be refused with a non-zero exit, a clear message on stderr and an
audit entry, and nothing of them may run: canary files must stay absent, no repo or app may
appear, and no process may be started. The access matrix (admin / owner / collaborator /
stranger) is checked for read, write, key, global and git commands.
"""

from __future__ import annotations

import json
import os
import subprocess
import types
from pathlib import Path

import pytest

from paas import access, apps, config, events, handoff, keys, paths, ssh_entry, store

ROLES = ("admin", "owner", "collaborator", "stranger")
KEY_OF = {"admin": "root", "owner": "alice", "collaborator": "carol", "stranger": "mallory"}


# Fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def public_keys(tmp_path_factory) -> dict[str, str]:
    """Real OpenSSH public keys, made once by ssh-keygen."""
    folder = tmp_path_factory.mktemp("ssh-keys")
    made = {}
    for name in ("root", "alice", "carol", "mallory", "gone"):
        path = folder / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)], check=True)
        made[name] = Path(f"{path}.pub").read_text()
    return made


@pytest.fixture
def keyring(public_keys) -> dict[str, str]:
    """root (admin), alice (owns `web`), carol (acl on `web`), mallory (nothing); `other` is root's."""
    keys.add("root", public_keys["root"], role="admin")
    for name in ("alice", "carol", "mallory"):
        keys.add(name, public_keys[name], role="user")
    apps.create("web", owner="alice")
    apps.create("other", owner="root")
    access.grant("web", "carol")
    return KEY_OF


class Spawned(AssertionError):
    pass


@pytest.fixture
def no_processes(monkeypatch) -> list:
    """Every way of starting a process raises (and is recorded): proof that nothing ran."""
    attempts: list = []

    def refuse(what):
        def stub(*args, **kwargs):
            attempts.append((what, args))
            raise Spawned(f"{what} was called with {args!r}")

        return stub

    monkeypatch.setattr(subprocess, "Popen", refuse("subprocess.Popen"))
    for name in ("system", "popen", "execv", "execve", "execvp", "execvpe", "execl", "execlp",
                 "posix_spawn", "posix_spawnp", "fork", "forkpty", "spawnv", "spawnvp"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, refuse(f"os.{name}"))
    return attempts


@pytest.fixture
def door(monkeypatch, capsys):
    """door(key, command) -> (exit code, stdout, stderr), as sshd would run it."""

    def run(key: str | None, command: str | None) -> tuple[int, str, str]:
        capsys.readouterr()
        if command is None:
            monkeypatch.delenv("SSH_ORIGINAL_COMMAND", raising=False)
        elif "\x00" in command:
            # os.environ cannot hold a NUL; hand the entry a process environment that does.
            environ = {**os.environ, "SSH_ORIGINAL_COMMAND": command}
            monkeypatch.setattr(ssh_entry, "os", types.SimpleNamespace(environ=environ))
        else:
            monkeypatch.setattr(ssh_entry, "os", os)
            monkeypatch.setenv("SSH_ORIGINAL_COMMAND", command)
        code = ssh_entry.main([] if key is None else [key])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def last_event() -> dict:
    items = events.recent(limit=1)
    assert items, "no audit entry was written"
    return items[-1]


def all_events_text() -> str:
    return json.dumps(events.recent(limit=10_000))


# The hostile corpus ----------------------------------------------------------------------

# {canary} is a file that must never be created, {victim} one that must never be deleted.
# Each entry: (command, a fragment the refusal must contain, or None for "any clear error").
HOSTILE = [
    # path traversal and repos outside repos/
    ("git-receive-pack '../../etc'", "invalid app name"),
    ("git-receive-pack /etc/passwd", "invalid app name"),
    ("git-upload-pack 'a/../../b'", "invalid app name"),
    ("git-receive-pack '~/../../etc'", "invalid app name"),
    ("git-receive-pack 'web/../../../tmp/evil.git'", "invalid app name"),
    ("git-receive-pack '//etc'", "invalid app name"),
    ("git-upload-pack '{canary}'", "invalid app name"),
    ("git-receive-pack '.git'", "invalid app name"),
    ("git-receive-pack '-uall'", "invalid app name"),
    ("git-receive-pack", "takes exactly one repo"),
    ("git-receive-pack 'web' 'other'", "takes exactly one repo"),
    ("git-receive-pack 'web'; touch {canary}", "takes exactly one repo"),
    ("git-upload-pack --upload-pack='touch {canary}' web", "takes exactly one repo"),
    # quoting tricks
    ("apps:list 'unbalanced", "cannot parse"),
    ('apps:list "unbalanced', "cannot parse"),
    ("git-receive-pack 'web", "cannot parse"),
    ("apps:list \\", "cannot parse"),
    ("'apps:list;touch {canary}'", "is not a paas command"),
    ("apps:list';'touch {canary}", "is not a paas command"),
    # shell metacharacters
    ("apps:list; touch {canary}", "is not a paas command"),
    ("apps:list;touch {canary}", "is not a paas command"),
    ("apps:list | touch {canary}", None),
    ("apps:list && touch {canary}", None),
    ("apps:list || touch {canary}", None),
    ("apps:list > {canary}", None),
    ("apps:list & touch {canary}", None),
    ("$(touch {canary})", "is not a paas command"),
    ("apps:report $(touch {canary})", "give the app's name"),
    ("apps:report web$(touch {canary})", "give the app's name"),
    ("`touch {canary}`", "is not a paas command"),
    ("apps:report `touch {canary}`", "give the app's name"),
    ("config:set web K=$(touch {canary})", None),
    # newlines and other line breaks
    ("apps:list\nrm -rf {victim}", None),
    ("apps:list\ntouch {canary}", None),
    ("apps:list\rtouch {canary}", None),
    ("\ntouch {canary}", "is not a paas command"),
    ("git-receive-pack 'web'\ntouch {canary}", "takes exactly one repo"),
    # unknown verbs
    ("sh", "is not a paas command"),
    ("sh -c 'touch {canary}'", "is not a paas command"),
    ("bash -c id", "is not a paas command"),
    ("bash -c 'touch {canary}'", "is not a paas command"),
    ("/bin/sh -c 'touch {canary}'", "is not a paas command"),
    ("touch {canary}", "is not a paas command"),
    ("rm -rf {victim}", "is not a paas command"),
    ("scp -t /tmp", "is not a paas command"),
    ("scp -f /etc/passwd", "is not a paas command"),
    ("rsync --server -vlogDtpre.iLsfxC . /tmp", "is not a paas command"),
    ("internal-sftp", "is not a paas command"),
    ("git-upload-archive 'web'", "is not a paas command"),
    ("git upload-pack 'web'", "is not a paas command"),
    ("python3 -c 'open(\"{canary}\", \"w\")'", "is not a paas command"),
    ("exec touch {canary}", "is not a paas command"),
    ("env", "is not a paas command"),
    ("server:up", "is not a paas command"),
    ("server:down", "is not a paas command"),
    # option-looking first words
    ("--help", "is not a paas command"),
    ("-h", "is not a paas command"),
    ("--version", "is not a paas command"),
    ("-c 'touch {canary}'", "is not a paas command"),
    ("--install-completion", "is not a paas command"),
    ("--show-completion", "is not a paas command"),
    # size and bytes
    ("apps:list " + "A" * 100_000, "longer than 64 KiB"),
    ("touch {canary} #" + "B" * 100_000, "longer than 64 KiB"),
    ("apps:list\x00; touch {canary}", "NUL byte"),
    ("\x00", "NUL byte"),
]


def _ids(entry) -> str:
    text = entry[0] if isinstance(entry, tuple) else entry
    text = text if len(text) < 60 else f"{text[:40]}...({len(text)} chars)"
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "\\0")


@pytest.fixture
def traps(tmp_path) -> dict[str, Path]:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("still here\n")
    return {"canary": tmp_path / "canary", "victim": victim}


def _assert_nothing_happened(traps, apps_before, attempts) -> None:
    assert not traps["canary"].exists(), "a hostile command created the canary"
    assert (traps["victim"] / "keep").exists(), "a hostile command deleted the victim"
    repos = paths.root() / "repos"
    assert not repos.exists() or list(repos.iterdir()) == [], f"a repo appeared: {list(repos.iterdir())}"
    assert [a.name for a in apps.list_all()] == apps_before
    assert attempts == []


@pytest.mark.parametrize("command,fragment", HOSTILE, ids=[_ids(e) for e in HOSTILE])
def test_hostile_command_is_refused_and_nothing_runs(command, fragment, keyring, door, traps, no_processes):
    # As the admin: refusals must come from the door itself, not from the access rules.
    command = command.replace("{canary}", str(traps["canary"])).replace("{victim}", str(traps["victim"]))
    apps_before = [a.name for a in apps.list_all()]
    events_before = len(events.recent(limit=10_000))

    code, out, err = door("root", command)

    assert code != 0
    assert err.strip(), "the refusal must say why on stderr"
    assert err.startswith(" !     "), err
    assert "Traceback" not in err and "internal error" not in err
    if fragment:
        assert fragment in err
    audit = events.recent(limit=10_000)
    assert len(audit) == events_before + 1, "exactly one audit entry per refused command"
    assert audit[-1]["actor"] == "root"
    assert audit[-1]["outcome"] != "ok"
    if fragment:
        assert audit[-1]["outcome"].startswith("refused: ")
    _assert_nothing_happened(traps, apps_before, no_processes)


@pytest.mark.parametrize("command", [
    "git-receive-pack '../../etc'",
    "apps:list; touch {canary}",
    "$(touch {canary})",
    "bash -c 'touch {canary}'",
    "ssh-keys:list; touch {canary}",
    "config:set --global K=V && touch {canary}",
    "apps:report other | touch {canary}",
], ids=_ids)
def test_hostile_commands_are_refused_for_a_stranger_too(command, keyring, door, traps, no_processes):
    command = command.replace("{canary}", str(traps["canary"]))
    apps_before = [a.name for a in apps.list_all()]
    code, out, err = door("mallory", command)
    assert code != 0
    assert err.startswith(" !     ")
    assert last_event()["actor"] == "mallory" and last_event()["outcome"] != "ok"
    _assert_nothing_happened(traps, apps_before, no_processes)


def test_the_canary_would_be_created_by_a_shell(traps):
    """The corpus means something only if its commands really act when a shell runs them."""
    subprocess.run(["sh", "-c", f"apps:list; touch {traps['canary']}"], capture_output=True)
    assert traps["canary"].exists()


# Empty command, unknown keys -------------------------------------------------------------


@pytest.mark.parametrize("command", ["", "   ", None])
def test_empty_command_prints_help(command, keyring, door, no_processes):
    code, out, err = door("alice", command)
    assert code == 0
    assert "Usage: paas COMMAND" in out
    assert "Namespaces:" in out
    assert err == ""
    assert no_processes == []


def test_unknown_key_name_is_refused(keyring, door, traps, no_processes):
    code, out, err = door("nobody", "apps:list")
    assert code == ssh_entry.EXIT_REFUSED
    assert "no longer authorised" in err
    assert out == ""
    assert last_event()["actor"] == "nobody"
    assert last_event()["outcome"].startswith("refused")


def test_removed_key_is_refused(keyring, door, public_keys):
    keys.add("gone", public_keys["gone"], role="admin")
    assert door("gone", "apps:list")[0] == 0
    keys.remove("gone")
    code, out, err = door("gone", "apps:list --format json")
    assert code == ssh_entry.EXIT_REFUSED
    assert "no longer authorised" in err
    assert out == ""


@pytest.mark.parametrize("argv", [[], [""], ["../root"], ["root;id"], ["a b"]])
def test_missing_or_malformed_key_name_is_refused(argv, keyring, monkeypatch, capsys, no_processes):
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "apps:list")
    code = ssh_entry.main(argv)
    captured = capsys.readouterr()
    assert code == ssh_entry.EXIT_REFUSED
    assert "not set up correctly" in captured.err
    assert captured.out == ""


# The access matrix -----------------------------------------------------------------------

ALLOWED_ALL = {"admin", "owner", "collaborator"}
MATRIX = [
    ("apps:report web", ALLOWED_ALL),
    ("config:show web", ALLOWED_ALL),
    ("config:get web GREETING", ALLOWED_ALL),
    ("releases web", ALLOWED_ALL),
    ("acl:list web", ALLOWED_ALL),
    ("config:set web FLAVOUR=mint", ALLOWED_ALL),
    ("config:unset web GREETING", ALLOWED_ALL),
    ("acl:add web mallory", {"admin", "owner"}),
    ("apps:rename web site", {"admin", "owner"}),
    ("ssh-keys:list", {"admin"}),
    ("ssh-keys:remove carol", {"admin"}),
    ("config:set --global FLAVOUR=mint", {"admin"}),
    ("config:show --global", {"admin"}),
    ("apps:set --global autocreate false", {"admin"}),
    ("apps:report other", {"admin"}),
    ("config:set other FLAVOUR=mint", {"admin"}),
    ("builder:report web", ALLOWED_ALL),
    ("builder:set web memory 64g", {"admin"}),  # the build caps protect the host from every app
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("command,allowed", MATRIX, ids=[m[0] for m in MATRIX])
def test_access_matrix(command, allowed, role, keyring, door):
    config.set_vars("web", {"GREETING": "hi"})
    key = KEY_OF[role]
    code, out, err = door(key, command)
    entry = last_event()
    assert entry["actor"] == key
    if role in allowed:
        assert code == 0, err
        assert entry["outcome"] == "ok"
    else:
        assert code == 13, (code, out, err)
        assert out == ""
        assert "no access to app" in err or "for admins only" in err or "owner and admins" in err
        assert entry["outcome"].startswith("refused: ")


@pytest.mark.parametrize("role", ROLES)
def test_writes_take_effect_only_when_allowed(role, keyring, door):
    door(KEY_OF[role], "config:set web FLAVOUR=mint")
    door(KEY_OF[role], "config:set --global FLAVOUR=lime")
    expected_app = "mint" if role in ALLOWED_ALL else None
    expected_global = "lime" if role == "admin" else None
    assert config.vars_of("web").get("FLAVOUR") == expected_app
    assert config.vars_of(None).get("FLAVOUR") == expected_global


def test_stranger_cannot_tell_a_hidden_app_from_a_missing_one(keyring, door):
    hidden = door("mallory", "apps:report web")
    missing = door("mallory", "apps:report nosuchapp")
    assert hidden[0] == missing[0] == 13
    assert hidden[2].replace("'web'", "'X'") == missing[2].replace("'nosuchapp'", "'X'")


@pytest.mark.parametrize("role,expected", [
    ("admin", ["other", "web"]), ("owner", ["web"]), ("collaborator", ["web"]), ("stranger", []),
])
def test_apps_list_shows_only_reachable_apps(role, expected, keyring, door):
    code, out, err = door(KEY_OF[role], "apps:list --format json")
    assert code == 0, err
    assert sorted(a["name"] for a in json.loads(out)) == expected


def test_apps_list_text_for_a_stranger_names_no_app(keyring, door):
    code, out, err = door("mallory", "apps:list")
    assert code == 0
    assert "web" not in out and "other" not in out


def test_stranger_sees_no_events_of_other_apps(keyring, door):
    door("alice", "config:set web FLAVOUR=mint")
    door("root", "config:set other FLAVOUR=lime")
    code, out, err = door("mallory", "events --format json")
    assert code == 0, err
    assert [e for e in json.loads(out) if e["app"] in ("web", "other")] == []
    code, out, err = door("alice", "events --format json")
    shown = {e["app"] for e in json.loads(out)}
    assert "web" in shown and "other" not in shown
    # Naming an app after an option (past the door's own app check) reveals nothing either.
    hidden = door("mallory", "events -n 5 other")
    missing = door("mallory", "events -n 5 nosuchapp")
    assert hidden[0] == missing[0] == 13
    assert hidden[2].replace("other", "X") == missing[2].replace("nosuchapp", "X")
    assert door("alice", "events -n 5 web")[0] == 0


def test_an_apps_new_owner_does_not_read_what_an_earlier_app_of_that_name_did(keyring, door, monkeypatch):
    # `web` was once another app (destroyed, its name taken again): its trail is not alice's.
    with store.transaction() as db:
        db.execute("INSERT INTO events (at, actor, app, command, outcome) VALUES (?, 'root', 'web', "
                   "'run web -- psql postgres://u:secret@db', 'ok')", (apps.get("web").created_at - 60,))
    assert "secret" not in door("alice", "events --format json")[1]
    assert "secret" not in door("alice", "events web --format json")[1]
    assert "secret" in door("root", "events web --format json")[1]  # admins read the whole trail
    # An app renamed onto the name later is no different: it has the name since the rename.
    created = apps.create("blog", owner="alice").created_at
    with store.transaction() as db:  # after blog was created, before it took the name
        db.execute("INSERT INTO events (at, actor, app, command, outcome) VALUES (?, 'root', 'site', "
                   "'run site -- cat /run/secrets/token', 'ok')", (created + 1800,))
    monkeypatch.setattr("paas.apps.time", types.SimpleNamespace(time=lambda: created + 3600))
    apps.rename("blog", "site")  # `site` was another app's until then
    assert "token" not in door("alice", "events --format json")[1]


def test_the_trail_shows_control_characters_escaped(keyring, door):
    # A word with a carriage return and an escape sequence could overwrite the line on an
    # admin's terminal and forge an entry.
    door("alice", "ps:scale web 'web=1\r2026-01-01 00:00:00  root  other  apps:destroy other  -> ok\x1b[K'")
    code, out, _ = door("root", "events -n 5")
    assert code == 0
    assert "\r" not in out and "\x1b" not in out
    assert "web=1\\x0d2026-01-01" in out and "\\x1b[K" in out


# git over the door (git-receive-pack itself is stubbed: no sshd, no pack protocol) ------


@pytest.fixture
def git_calls(monkeypatch) -> list[list[str]]:
    calls: list[list[str]] = []

    def fake_call(argv, *args, **kwargs):
        calls.append(list(argv))
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    monkeypatch.setattr(handoff, "run_receive_pack", lambda argv: (fake_call(argv), None))  # receive-pack's way in
    return calls


@pytest.mark.parametrize("verb", ["git-receive-pack", "git-upload-pack"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path", ["'web'", "'web.git'", "'/web.git'", "'~/web.git'", "web"])
def test_git_access_matrix(verb, role, path, keyring, door, git_calls):
    code, out, err = door(KEY_OF[role], f"{verb} {path}")
    if role == "stranger":
        assert code == 13
        assert "no access to app 'web'" in err
        assert git_calls == []
        assert last_event()["outcome"].startswith("refused: ")
    else:
        assert code == 0, err
        assert git_calls == [[verb, str(paths.repo("web"))]]
        assert last_event()["outcome"] == "ok"
        assert (paths.repo("web") / "hooks" / "pre-receive").exists()


@pytest.mark.parametrize("command, tty, by_server", [
    ("git-receive-pack 'web'", False, True),
    ("git-upload-pack 'web'", False, True),
    ("apps:list", False, True),
    ("config:set web A=1 --no-restart", False, True),
    ("", False, True),  # help
    ("logs web -t", False, False),  # follows its client: ends with the session's process group
    ("run web -- sh", False, False),
    ("enter web", False, False),
    ("events -t", False, False),
    ("'logs' web -t", False, False),  # not a plain first word: the entry's own parsing decides
    ("--app web apps:info", False, True),  # the laptop client's leading app option
    ("--app web logs -t", False, False),
    ("-a web run -- sh", False, False),
    ("--app=web ps:report", False, True),
    ("--app web", False, True),  # help
    ("apps:list", True, False),  # a terminal
])
def test_which_commands_a_deploy_server_may_run(command, tty, by_server, monkeypatch):
    if tty:
        monkeypatch.setenv("SSH_TTY", "/dev/pts/3")
    else:
        monkeypatch.delenv("SSH_TTY", raising=False)
    assert ssh_entry._for_deploy_server(command) is by_server


@pytest.fixture
def no_server(monkeypatch) -> list[list[str]]:
    """deploy_server.run_entry finding no server: what it was handed, then None."""
    from paas import deploy_server

    handed: list[list[str]] = []
    monkeypatch.setattr(deploy_server, "run_entry", lambda argv: handed.append(argv))
    monkeypatch.setattr(ssh_entry, "os", os)
    monkeypatch.delenv("SSH_TTY", raising=False)
    return handed


def test_an_entry_no_server_took_runs_here_then_starts_one_unless_turned_off(keyring, git_calls, no_server,
                                                                             deploy_server_starts, monkeypatch):
    from paas import deploy_server, settings

    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "git-receive-pack 'web'")
    assert ssh_entry._run(["alice"]) == 0
    assert (no_server, len(git_calls), deploy_server_starts) == ([["alice"]], 1, [1800])
    settings.set_value("git", None, "deploy-server-idle", "0")
    assert ssh_entry._run(["alice"]) == 0
    assert (len(git_calls), deploy_server_starts) == (2, [1800])  # turned off: none started
    monkeypatch.setattr(deploy_server, "run_entry", lambda argv: 7)  # a server's child ran it
    assert ssh_entry._run(["alice"]) == 7
    assert (len(git_calls), deploy_server_starts) == (2, [1800])  # nothing ran here
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "logs web -t -n 0")
    monkeypatch.setattr(ssh_entry, "main", lambda argv: 5)
    assert ssh_entry._run(["alice"]) == 5  # never handed over, whatever a server would answer


def test_a_deploy_server_that_cannot_start_never_fails_the_command(keyring, git_calls, no_server, monkeypatch,
                                                                   capsys):
    from paas import deploy_server

    def cannot(idle):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(deploy_server, "start", cannot)
    monkeypatch.setenv("SSH_ORIGINAL_COMMAND", "git-receive-pack 'web'")
    assert ssh_entry._run(["alice"]) == 0
    assert "the deploy server could not be started: [Errno 28] No space left on device" in capsys.readouterr().err
    assert last_event()["outcome"] == "ok"


def test_a_push_whose_deploy_fails_is_audited_as_declined(keyring, door, monkeypatch):
    # receive-pack exits 0 when its pre-receive hook declines: the hook's code tells.
    monkeypatch.setattr(handoff, "run_receive_pack", lambda argv: (0, 1))
    code, out, err = door("alice", "git-receive-pack 'web'")
    assert code == 0
    assert last_event()["outcome"] == "declined (pre-receive hook exit 1)"
    monkeypatch.setattr(handoff, "run_receive_pack", lambda argv: (0, 0))
    door("alice", "git-receive-pack 'web'")
    assert last_event()["outcome"] == "ok"


def test_upload_pack_of_a_missing_app_looks_like_no_access(keyring, door, git_calls):
    """Same message and exit code as for an app that exists: a key cannot probe for app names."""
    hidden = door("mallory", "git-upload-pack 'web'")
    code, out, err = door("mallory", "git-upload-pack 'nosuchapp'")
    assert code == hidden[0] == 13
    assert err.replace("nosuchapp", "X") == hidden[2].replace("web", "X")
    assert git_calls == []
    assert apps.find("nosuchapp") is None


def test_first_push_creates_the_app_owned_by_the_pusher(keyring, door, git_calls):
    code, out, err = door("mallory", "git-receive-pack 'fresh.git'")
    assert code == 0, err
    assert apps.get("fresh").owner == "mallory"
    assert git_calls == [["git-receive-pack", str(paths.repo("fresh"))]]
    # ...and that app is mallory's alone.
    assert door("alice", "apps:report fresh")[0] == 13


@pytest.mark.parametrize("second, allowed", [("mallory", True), ("alice", False), ("root", True)])
def test_a_first_push_that_loses_the_race_to_create_the_app_goes_on_as_a_push(second, allowed, keyring, door,
                                                                                git_calls, monkeypatch):
    """Two first pushes arrive together: both find no app, one creates it. The other is a push
    to an app that exists (and mallory's now), not a failure."""
    assert door("mallory", "git-receive-pack 'fresh.git'")[0] == 0  # the one that won
    real_find, looked = apps.find, []

    def find_as_a_moment_ago(name):  # the other push looked before the app was created
        looked.append(name)
        return None if len(looked) == 1 else real_find(name)

    monkeypatch.setattr(apps, "find", find_as_a_moment_ago)
    code, out, err = door(second, "git-receive-pack 'fresh.git'")
    if allowed:
        assert code == 0, err
        assert len(git_calls) == 2
    else:
        assert code == 13 and "no access to app 'fresh'" in err
        assert len(git_calls) == 1
    assert apps.get("fresh").owner == "mallory"


def test_no_autocreate_refuses_push_to_a_new_app(keyring, door, git_calls):
    assert door("root", "apps:set --global autocreate false")[0] == 0
    code, out, err = door("mallory", "git-receive-pack 'fresh'")
    assert code != 0
    assert "autocreate is off" in err
    assert apps.find("fresh") is None
    assert git_calls == []
    assert not paths.repo("fresh").exists()


# The audit trail -------------------------------------------------------------------------


def test_audit_entries_redact_config_values(keyring, door):
    assert door("alice", "config:set web SECRET=hunter2 TOKEN='s3cr3t value'")[0] == 0
    entry = last_event()
    assert entry["command"] == "config:set web SECRET=*** TOKEN=***"
    assert entry["actor"] == "alice" and entry["app"] == "web" and entry["outcome"] == "ok"
    assert "hunter2" not in all_events_text() and "s3cr3t" not in all_events_text()


@pytest.mark.parametrize("key,command", [
    ("mallory", "config:set web SECRET=hunter2"),            # refused by the access rules
    ("carol", "config:set --global SECRET=hunter2"),         # admin-only
    ("root", "config:set web SECRET=hunter2 'unbalanced"),   # refused by the parser
    ("root", "config:set web SECRET=hunter2 " + "x" * 70_000),  # refused as too long
    ("mallory", "--app web config:set SECRET=hunter2"),      # the laptop client's form, refused
    ("root", "--app web config:set SECRET=hunter2 X=\x00"),  # the laptop client's form, with a NUL
], ids=["stranger", "global", "unparsable", "too-long", "laptop-stranger", "laptop-nul"])
def test_refused_commands_do_not_leak_config_values_into_the_audit(key, command, keyring, door):
    code, out, err = door(key, command)
    assert code != 0
    assert last_event()["outcome"].startswith("refused")
    assert "hunter2" not in all_events_text()


def test_events_without_an_app_is_open_to_every_key(keyring, door):
    """`events [APP]`: the APP is optional, so the door must not demand one."""
    for key in ("root", "alice", "mallory"):
        code, out, err = door(key, "events")
        assert code == 0, (key, err)
        assert last_event()["outcome"] == "ok"


@pytest.mark.parametrize("role", ROLES)
def test_any_key_may_create_an_app_and_then_owns_it(role, keyring, door):
    """apps:create is an open command (access.OPEN_COMMANDS): a user key creates and owns its app."""
    code, out, err = door(KEY_OF[role], "apps:create newapp")
    assert code == 0, err
    assert apps.get("newapp").owner == KEY_OF[role]
    assert door(KEY_OF[role], "config:set newapp A=1")[0] == 0
    if role != "admin":
        assert door("mallory" if role != "stranger" else "alice", "apps:report newapp")[0] == 13


# Review findings: no key may read server files, take hostnames or run other apps' images ----


def test_config_set_over_ssh_cannot_read_server_files(keyring, door, tmp_path):
    secret = tmp_path / "server-secret"
    secret.write_text("server only")
    code, out, err = door("alice", f"config:set web X=@{secret}")
    assert code == 2 and "only K=@- (standard input)" in err
    assert "X" not in config.vars_of("web")


def test_domains_under_the_global_domain_are_reserved_for_their_apps(keyring, door):
    from paas import settings

    settings.set_value("domains", None, "global", "apps.test")
    apps.create("victim", owner="root")
    code, out, err = door("alice", "domains:add web victim.apps.test")
    assert code != 0 and "reserved for apps" in err
    code, out, err = door("alice", "domains:add web *.example.test")
    assert code == 13 and "wildcard domains are for admins only" in err
    for host in ("localhost", "intranet", "127.0.0.1", "10.0.0.7", "web.localhost", "x.localdomain"):
        code, out, err = door("alice", f"domains:add web {host}")
        assert code == 13 and "not a public hostname; only admins may route it" in err
    assert door("alice", "domains:add web www.example.test")[0] == 0


def test_only_admins_deploy_foreign_images(keyring, door):
    code, out, err = door("alice", "deploy web --image paas/other:v1")
    assert code == 13 and "only admins may deploy images other than paas/web:*" in err
    # click keeps the last of a repeated option: every one is checked.
    for command in ("deploy web --image paas/web:v1 --image paas/other:v1",
                    "deploy web --image=paas/web:v1 --image=ubuntu:latest"):
        code, out, err = door("alice", command)
        assert code == 13 and "only admins may deploy images other than paas/web:*" in err, command


def test_deploy_checks_the_image_it_parsed_whoever_ran_it():
    from paas import access
    from paas.errors import AccessDenied
    from paas.identity import Actor

    collaborator = Actor(name="alice", role="user", via_ssh=True)
    access.check_image(collaborator, "web", "paas/web:v3")
    with pytest.raises(AccessDenied):
        access.check_image(collaborator, "web", "paas/other:v1")
    access.check_image(Actor(name="root", role="admin", via_ssh=True), "web", "paas/other:v1")


def test_redaction_masks_run_env_values_even_when_config_set_appears_later():
    from paas.events import redact

    assert redact(["run", "web", "-e", "TOKEN=abc", "--", "grep", "config:set", "x"]) == \
        "run web -e TOKEN=*** -- grep config:set x"
    assert redact(["--app", "web", "config:set", "A=1", "B=2"]) == "--app web config:set A=*** B=***"


def test_following_ends_when_the_readers_access_does(keyring):
    from paas import identity

    carol = identity.Actor(name="carol", role="user", via_ssh=True)
    web_id = apps.get("web").id
    assert access.still_allowed(carol, "logs", "web", web_id)
    assert access.still_allowed(carol, "events", None, None)
    access.revoke("web", "carol")
    assert not access.still_allowed(carol, "logs", "web", web_id)
    access.grant("web", "carol")
    keys.remove("carol")
    assert not access.still_allowed(carol, "logs", "web", web_id)
    assert not access.still_allowed(carol, "events", None, None)
    # An app destroyed and made again under its name is another app.
    alice = identity.Actor(name="alice", role="user", via_ssh=True)
    apps.delete("web")
    apps.create("web", owner="alice")
    assert not access.still_allowed(alice, "logs", "web", web_id)
    assert access.still_allowed(alice, "logs", "web", apps.get("web").id)

"""deploy_server.py with real processes: a server under a temporary PAAS_ROOT, and SSH entries
handed to it the way sshd's forced command hands a push (`deploy_server.run_entry` in a
process of its own, on its own stdio). The commands here need no Docker; real pushes through
the server are in tests/integration/test_deploy_server.py and test_install.py."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paas import apps, deploy_server, events, keys, paths, settings
from tests.unit.conftest import REPO

PACKAGE = Path(deploy_server.__file__).resolve().parent
IDLE = 1800
NOT_TAKEN = 99  # the stand-in entry's exit when no server took it
ENTRY = ("import sys; from paas import deploy_server; code = deploy_server.run_entry(sys.argv[1:]); "
         f"sys.exit({NOT_TAKEN} if code is None else code)")


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def alice_key(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("keys") / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(path)], check=True)
    return Path(f"{path}.pub").read_text()


@pytest.fixture
def alice(paas_root, alice_key):
    keys.add("alice", alice_key, role="user")
    apps.create("web", owner="alice")
    return "alice"


@pytest.fixture
def running_server(paas_root):
    """A real deploy server of this test's PAAS_ROOT, with the repo's code (as the CLI has)."""
    with _server() as process:
        yield process


@contextlib.contextmanager
def _server(pythonpath: Path | None = None, idle: int = IDLE, look: float | None = None):
    """A deploy server started as an SSH entry starts one, up and listening; ended afterwards.
    `look`: its IDLE_LOOK (seconds between looks at the setting), for a test that cannot wait 30 s."""
    env = {**os.environ, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    paths.run()  # made by the SSH entry that starts a server, as paths.sub does
    argv = ["-m", "paas.deploy_server", str(idle)] if look is None else [
        "-c", f"import sys, paas.deploy_server as d; d.IDLE_LOOK = {look}; sys.exit(d.serve({idle}))"]
    process = subprocess.Popen([sys.executable, *argv], env=env, cwd="/")
    try:
        assert _wait_for(lambda: deploy_server.running_pid() == process.pid or process.poll() is not None)
        assert process.poll() is None, "the deploy server ended at start"
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def _entry(key: str, command: str, stdin: str = "", pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """An SSH entry for `key` running `command`, handed to the deploy server."""
    env = {**os.environ, "SSH_ORIGINAL_COMMAND": command, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    return subprocess.run([sys.executable, "-c", ENTRY, key], env=env, input=stdin, capture_output=True, text=True,
                          cwd="/", timeout=60)


def test_without_a_server_nothing_is_handed_over(paas_root, alice):
    assert _entry("alice", "apps:list").returncode == NOT_TAKEN
    assert deploy_server.running_pid() is None


def test_the_servers_child_runs_the_entry_on_its_callers_stdio_as_its_key(running_server, alice):
    listed = _entry("alice", "apps:list --format json")
    assert listed.returncode == 0, listed.stderr
    assert [a["name"] for a in json.loads(listed.stdout)] == ["web"]
    assert [(e["actor"], e["command"]) for e in events.recent(None, 5)] == [("alice", "apps:list --format json")]
    # stdin reaches it too, and its exit code comes back.
    added = _entry("alice", "config:set web GREETING=@- --no-restart", stdin="hi from stdin")
    assert added.returncode == 0, added.stderr
    assert _entry("alice", "config:get web GREETING").stdout == "hi from stdin\n"
    missing = _entry("alice", "config:get web NOPE")
    assert missing.returncode == 3 and "NOPE is not set for app 'web'" in missing.stderr
    assert deploy_server.running_pid() == running_server.pid  # one server for every entry


def test_the_child_refuses_what_the_entry_refuses(running_server, alice):
    stranger = _entry("mallory", "apps:list")
    assert stranger.returncode == 13 and "this key is no longer authorised" in stranger.stderr
    shell = _entry("alice", "bash -c id")
    assert shell.returncode == 13 and "'bash' is not a paas command" in shell.stderr


def test_each_entry_gets_a_child_of_its_own(running_server, alice):
    env = {**os.environ, "SSH_ORIGINAL_COMMAND": "apps:list"}
    entries = [subprocess.Popen([sys.executable, "-c", ENTRY, "alice"], env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(4)]
    assert [e.wait(timeout=60) for e in entries] == [0, 0, 0, 0]
    assert all("web" in e.stdout.read() for e in entries)


def test_a_client_that_leaves_before_its_request_leaves_the_server_serving(running_server, alice):
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as early:
        early.connect(deploy_server.socket_path())
        early.send(deploy_server._hello())
        assert early.recv(16) == deploy_server.READY
    assert _entry("alice", "apps:list").returncode == 0


def test_a_server_whose_code_changed_says_so_and_ends(paas_root, alice, tmp_path):
    copy = tmp_path / "code"
    shutil.copytree(PACKAGE, copy / "paas", ignore=shutil.ignore_patterns("__pycache__"))
    with _server(pythonpath=copy) as process:
        assert _entry("alice", "apps:list", pythonpath=copy).returncode == 0
        module = copy / "paas" / "names.py"
        os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))  # an upgrade
        assert _entry("alice", "apps:list", pythonpath=copy).returncode == NOT_TAKEN  # runs in its own entry...
        assert process.wait(timeout=30) == 0  # ...and the server made way for a fresh one
        assert not os.path.exists(deploy_server.socket_path())


def test_an_entry_of_another_paas_gets_stale_and_the_server_ends(running_server, alice, tmp_path):
    """A new install (another interpreter or package folder) must not be served old code."""
    other = tmp_path / "python3"
    other.symlink_to(sys.executable)  # another path to an interpreter: another install, as far as it knows
    env = {**os.environ, "SSH_ORIGINAL_COMMAND": "apps:list", "PYTHONPATH": str(REPO)}  # the same paas code
    entry = subprocess.run([str(other), "-c", ENTRY, "alice"], env=env, capture_output=True, text=True,
                           cwd="/", timeout=60)
    assert entry.returncode == NOT_TAKEN, entry.stderr
    assert running_server.wait(timeout=30) == 0


def test_a_long_paas_root_still_gets_a_server(monkeypatch, tmp_path, alice_key):
    root = tmp_path / ("r" * 60) / ("o" * 60)  # the socket's path: beyond a unix address's 108 bytes
    monkeypatch.setenv("PAAS_ROOT", str(root))
    keys.add("alice", alice_key, role="user")
    assert len(deploy_server.socket_path()) > 108
    with _server():
        assert _entry("alice", "apps:list").returncode == 0


def test_a_pid_file_naming_another_process_names_no_server(paas_root):
    from paas import procs

    other = subprocess.Popen(["sleep", "60"])
    try:
        for identity in (f"{other.pid}.1", procs.identity(other.pid)):  # reused pid; a live stranger
            (paths.run() / "deploy-server.pid").write_text(identity + "\n")
            assert deploy_server.running_pid() is None
            assert deploy_server.stop() is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_the_idle_setting_is_not_read_from_a_removed_root(paas_root):
    paths.run()
    shutil.rmtree(paas_root)
    assert deploy_server._idle_setting(5) == 5
    assert not paas_root.exists()


def test_stop_ends_the_server_and_its_socket(running_server):
    assert deploy_server.stop() is True
    assert running_server.wait(timeout=30) == 0
    assert not os.path.exists(deploy_server.socket_path())
    assert deploy_server.running_pid() is None
    assert deploy_server.stop() is False


def test_a_server_killed_with_minus_9_is_replaced_by_the_next_one(running_server, alice):
    running_server.kill()
    running_server.wait(timeout=30)
    assert os.path.exists(deploy_server.socket_path())  # left behind
    assert _entry("alice", "apps:list").returncode == NOT_TAKEN
    with _server():
        assert _entry("alice", "apps:list").returncode == 0


def test_a_second_server_leaves_while_the_first_holds_the_lock(paas_root):
    with open(paths.run() / "deploy-server.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert deploy_server.serve(IDLE) == 0
    assert not os.path.exists(deploy_server.socket_path())


def test_a_server_ends_once_idle_for_as_long_as_the_setting_says(paas_root):
    settings.set_value("git", None, "deploy-server-idle", "1")
    with _server(idle=1) as process:
        assert process.wait(timeout=30) == 0
    assert not os.path.exists(deploy_server.socket_path()) and deploy_server.running_pid() is None


def test_a_server_looks_at_the_setting_again_before_it_ends(paas_root):
    assert settings.get("git", None, "deploy-server-idle") == "1800"  # the default (the database made)
    with _server(idle=1) as process:  # started with 1 s
        time.sleep(2.5)
        assert process.poll() is None


def test_the_fingerprint_follows_modules_not_compiled_files(tmp_path):
    copy = tmp_path / "paas"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = deploy_server.code_fingerprint(str(copy))
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "names.cpython-311.pyc").write_bytes(b"compiled")
    assert deploy_server.code_fingerprint(str(copy)) == before
    (copy / "runtime" / "scheduler.py").write_text((copy / "runtime" / "scheduler.py").read_text() + "\n")
    assert deploy_server.code_fingerprint(str(copy)) != before


def test_the_request_crosses_unchanged():
    env = {b"SSH_ORIGINAL_COMMAND": b"git-receive-pack 'web'", b"EMPTY": b"", b"X": b"a=b"}
    message = deploy_server._encode_request(["alice"], "/srv", env)
    assert deploy_server._decode_request(message) == (
        ["alice"], "/srv", {"SSH_ORIGINAL_COMMAND": "git-receive-pack 'web'", "EMPTY": "", "X": "a=b"})
    assert deploy_server._decode_request(deploy_server._encode_request([], "/", {})) == ([], "/", {})
    with pytest.raises(ValueError):
        deploy_server._decode_request(b"3\0alice\0/srv")


def test_a_busy_server_still_looks_at_the_setting_and_ends_when_it_is_turned_off(alice):
    with _server(look=0.5) as process:
        settings.set_value("git", None, "deploy-server-idle", "0")
        answered = []
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:  # never idle for 0.5 s
            answered.append(_entry("alice", "apps:list").returncode)
            time.sleep(0.1)
        assert process.poll() == 0
        assert answered[-1] == NOT_TAKEN and set(answered) <= {0, NOT_TAKEN}  # the last ran in its entry

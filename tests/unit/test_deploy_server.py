"""deploy_server.py with real processes: a server under a temporary PAAS_ROOT, the SSH entry's
side in this process, and a stand-in receive-pack (`sh`) whose stand-in hook hands over as the
real one does. The pushes here deploy nothing (another branch, a refused deletion), so no
Docker is needed; real deploys through the server are in tests/integration/test_deploy_server.py."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paas import apps, deploy_server, handoff, identity, paths

HOOK = "import sys; from paas import handoff; code = handoff.hand_over(); sys.exit(99 if code is None else code)"
PACKAGE = Path(deploy_server.__file__).resolve().parent
PUSHER = identity.Actor(name="alice", role="user", via_ssh=True)
IDLE = 1800


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def running_server(paas_root):
    """A real deploy server of this test's PAAS_ROOT, with the repo's code (as the CLI has)."""
    process = _start_server(os.environ)
    yield process
    process.terminate()
    process.wait(timeout=30)


def _start_server(env, pythonpath: Path | None = None, idle: float = IDLE) -> subprocess.Popen:
    env = {**env, **({"PYTHONPATH": str(pythonpath)} if pythonpath else {})}
    paths.run()  # created by its first client, as the SSH entry's connect() does
    process = subprocess.Popen([sys.executable, "-m", "paas.deploy_server", str(idle)], env=env, cwd="/")
    assert _wait_for(lambda: deploy_server.socket_path().exists() or process.poll() is not None)
    assert process.poll() is None, "the deploy server ended at start"
    return process


def _receive_pack(tmp_path: Path, update: str) -> list[str]:
    """`sh` as receive-pack: runs the stand-in hook in the repo of app `web` with `update` on stdin."""
    if apps.find("web") is None:
        apps.create("web", owner=PUSHER.name)
    repo = paths.repo("web")
    repo.mkdir(parents=True, exist_ok=True)
    (tmp_path / "in").write_text(update + "\n")
    script = (f"cd {repo} && {sys.executable} -c '{HOOK}' <{tmp_path}/in >{tmp_path}/out 2>{tmp_path}/err; "
              f"echo $? >{tmp_path}/code")
    return ["sh", "-c", script]


def test_without_a_server_the_entry_gets_no_connection(paas_root):
    assert deploy_server.connect(PUSHER, IDLE) is None
    assert deploy_server.running_pid() is None


def test_a_push_handed_to_a_servers_child_runs_there_and_both_sides_get_its_code(running_server, tmp_path):
    server = deploy_server.connect(PUSHER, IDLE)
    assert server is not None
    codes = handoff.run_receive_pack(_receive_pack(tmp_path, f"{'0' * 40} {'1' * 40} refs/heads/feature"),
                                     server=server)
    assert codes == (0, 0)  # sh's own, and the hook's as the child told the entry
    assert (tmp_path / "code").read_text().strip() == "0"  # the hook's, as the child told it
    assert "Stored; not the deploy branch, nothing deployed" in (tmp_path / "out").read_text()
    assert deploy_server.running_pid() == running_server.pid


def test_a_declined_push_is_declined_on_both_sides(running_server, tmp_path):
    server = deploy_server.connect(PUSHER, IDLE)
    assert server is not None
    codes = handoff.run_receive_pack(_receive_pack(tmp_path, f"{'1' * 40} {'0' * 40} refs/heads/main"),
                                     server=server)
    assert codes == (0, 1)
    assert (tmp_path / "code").read_text().strip() == "1"
    assert "refs/heads/main is the deploy branch of web: it is not deleted" in (tmp_path / "err").read_text()


def test_a_push_that_runs_no_hook_leaves_the_child_and_the_entry_to_go_on(running_server):
    server = deploy_server.connect(PUSHER, IDLE)
    assert server is not None
    assert handoff.run_receive_pack(["sh", "-c", "exit 3"], server=server) == (3, None)
    # One child per push: the server still answers the next one.
    assert deploy_server.connect(PUSHER, IDLE) is not None


def test_each_push_gets_a_child_of_its_own(running_server, tmp_path):
    first, second = deploy_server.connect(PUSHER, IDLE), deploy_server.connect(PUSHER, IDLE)
    assert first is not None and second is not None
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    update = f"{'0' * 40} {'1' * 40} refs/heads/feature"
    assert handoff.run_receive_pack(_receive_pack(tmp_path / "b", update), server=second) == (0, 0)
    assert handoff.run_receive_pack(_receive_pack(tmp_path / "a", update), server=first) == (0, 0)


def test_a_server_whose_code_changed_says_so_and_ends(paas_root, tmp_path):
    copy = tmp_path / "code"
    shutil.copytree(PACKAGE, copy / "paas", ignore=shutil.ignore_patterns("__pycache__"))
    process = _start_server(os.environ, pythonpath=copy)
    try:
        assert deploy_server.connect(PUSHER, IDLE) is not None
        module = copy / "paas" / "names.py"
        os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))  # an upgrade
        assert deploy_server.connect(PUSHER, IDLE) is None  # this push deploys the old way...
        assert process.wait(timeout=30) == 0  # ...and the server made way for a fresh one
        assert not deploy_server.socket_path().exists()
    finally:
        if process.poll() is None:
            process.kill()


def test_stop_ends_the_server_and_its_socket(running_server):
    assert deploy_server.stop() is True
    assert running_server.wait(timeout=30) == 0
    assert not deploy_server.socket_path().exists()
    assert deploy_server.running_pid() is None
    assert deploy_server.stop() is False


def test_a_server_killed_with_minus_9_is_replaced_by_the_next_one(running_server):
    running_server.kill()
    running_server.wait(timeout=30)
    assert deploy_server.socket_path().exists()  # left behind
    assert deploy_server.connect(PUSHER, IDLE) is None  # refused: the push deploys the old way
    replacement = _start_server(os.environ)
    try:
        assert _wait_for(lambda: deploy_server.connect(PUSHER, IDLE) is not None)
    finally:
        replacement.terminate()
        replacement.wait(timeout=30)


def test_a_second_server_leaves_while_the_first_holds_the_lock(paas_root, monkeypatch):
    monkeypatch.setattr(deploy_server, "LOCK_WAIT", 0.2)
    with open(paths.run() / "deploy-server.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert deploy_server.serve(IDLE) == 0
    assert not deploy_server.socket_path().exists()


def test_the_fingerprint_follows_modules_not_compiled_files(tmp_path):
    copy = tmp_path / "paas"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = deploy_server.code_fingerprint(copy)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "names.cpython-311.pyc").write_bytes(b"compiled")
    assert deploy_server.code_fingerprint(copy) == before
    (copy / "runtime" / "scheduler.py").write_text((copy / "runtime" / "scheduler.py").read_text() + "\n")
    assert deploy_server.code_fingerprint(copy) != before


def test_who_pushes_and_the_idle_time_cross_unchanged():
    for actor in (PUSHER, identity.Actor(name="local:root", role="admin", via_ssh=False)):
        assert deploy_server._decode_request(deploy_server._encode_request(actor, 12)) == (actor, 12)


def test_a_server_ends_by_itself_once_idle(paas_root):
    process = _start_server(os.environ, idle=1)
    assert process.wait(timeout=30) == 0
    assert not deploy_server.socket_path().exists() and deploy_server.running_pid() is None


def test_each_push_sets_how_long_the_server_stays_after_it(running_server):
    server = deploy_server.connect(PUSHER, 0.5)  # the setting, lowered since the server started
    assert server is not None
    assert handoff.run_receive_pack(["sh", "-c", "exit 0"], server=server) == (0, None)
    assert running_server.wait(timeout=30) == 0

"""Pushes and SSH commands run by the deploy server (paas/deploy_server.py) through real git,
sshd, Docker and nginx: a push after the first runs in a child of the server, as does
`ssh apps:list` (`logs` does not); a push that finds no server (killed with -9) deploys through
its SSH entry and leaves a fresh server behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from bench.common import cmdline, paas_processes
from paas import procs
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ssh")]


def _server_pid(server) -> int | None:
    status = json.loads(server.paas("server:status", "--format", "json", check=True).stdout)
    if not status["deploy_server"]:
        return None
    return int((server.root / "run" / "deploy-server.pid").read_text().partition(".")[0])  # "PID.START"


def _deploy_server_processes(server) -> list[int]:
    """Every process of this PAAS_ROOT running the deploy server's code: the server, its children
    and any server waiting for the lock."""
    return [pid for pid in paas_processes(server.root) if "paas.deploy_server" in cmdline(pid)]


def _change(source, text: str) -> None:
    page = source.path / "public" / "index.html"
    page.write_text(page.read_text().replace("</body>", f"<p>{text}</p></body>"))
    source.commit(text)


def _push_watching_children(source, pid: int) -> tuple[subprocess.CompletedProcess, set[int]]:
    """git push, noting every child the deploy server has while it runs."""
    env = {**os.environ, "GIT_SSH_COMMAND": source.server.ssh_command(), "GIT_TERMINAL_PROMPT": "0"}
    return _watching_children(["git", "push", "paas", "main"], pid, cwd=source.path, env=env)


def _watching_children(argv: list[str], pid: int, **popen) -> tuple[subprocess.CompletedProcess, set[int]]:
    """Run argv, noting every child the deploy server (pid) has meanwhile."""
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)
    seen: set[int] = set()
    while process.poll() is None:
        seen |= procs.children(pid)
        time.sleep(0.005)
    out, err = process.communicate()
    return subprocess.CompletedProcess(argv, process.returncode, out, err), seen


def test_pushes_after_the_first_deploy_in_a_child_of_the_deploy_server(server, make_app):
    source = make_app("static")
    source.push()  # starts one if no earlier push on this server did
    assert wait_for(lambda: _server_pid(server) is not None)
    pid = _server_pid(server)

    _change(source, "second")
    pushed, children = _push_watching_children(source, pid)
    assert pushed.returncode == 0, pushed.stderr
    assert f"{source.app} v2 is live" in pushed.stderr
    assert children, "no child of the deploy server ran the push's deploy"
    status, body = server.get(source.app)
    assert status == 200 and "<p>second</p>" in body
    history = json.loads(server.paas("releases", source.app, "--format", "json", check=True).stdout)
    assert history[0]["author"] == "local-admin", "the release names the pushing key, as without the server"
    assert _server_pid(server) == pid  # one server for every push
    time.sleep(1)  # the push's child ends as it answers
    assert _deploy_server_processes(server) == [pid], "a push through the server started another"

    # Other SSH commands go through it too; one that follows its client stays in its own entry.
    ssh = [*server.ssh_command().split(), "-p", str(server.ssh_port), f"{server.user}@127.0.0.1"]
    listed, children = _watching_children([*ssh, "apps:list"], pid)
    assert listed.returncode == 0 and source.app in listed.stdout, listed.stderr
    assert children, "no child of the deploy server ran apps:list"
    time.sleep(0.5)  # apps:list's child is gone
    logs, children = _watching_children([*ssh, f"logs {source.app} -n 1"], pid)
    assert logs.returncode == 0, logs.stderr
    assert not children, "logs ran in the deploy server"

    # A declined deploy is declined through the server too, and the audit says so.
    source.write("app.json", "{not json")
    source.commit("broken app.json")
    declined = source.push(check=False)
    assert declined.returncode != 0 and "pre-receive hook declined" in declined.stderr
    events = server.paas("events", source.app, "-n", "1", check=True).stdout
    assert "declined (pre-receive hook exit 1)" in events


def test_a_push_that_finds_no_deploy_server_deploys_and_starts_a_fresh_one(server, make_app):
    source = make_app("static")
    source.push()
    assert wait_for(lambda: _server_pid(server) is not None)
    killed = _server_pid(server)
    os.kill(killed, signal.SIGKILL)  # its socket file stays behind
    assert wait_for(lambda: _server_pid(server) is None)

    _change(source, "without")
    pushed = source.push()
    assert f"{source.app} v2 is live" in pushed.stderr
    assert "<p>without</p>" in server.get(source.app)[1]
    assert wait_for(lambda: _server_pid(server) not in (None, killed))

    _change(source, "with")
    pushed, children = _push_watching_children(source, _server_pid(server))
    assert pushed.returncode == 0, pushed.stderr
    assert children and "<p>with</p>" in server.get(source.app)[1]

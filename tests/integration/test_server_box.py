"""`server:up` twice is harmless; `server:down` stops what it started and nothing else."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from paas import procs
from tests.integration.conftest import PAAS, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("server-box")]


def test_server_up_twice_then_down(tmp_path):
    root = tmp_path / "root"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}, "PAAS_LOCAL": "1", "NO_COLOR": "1"}
    ssh_port, http_port = free_port(), free_port()

    def paas(*args):
        return subprocess.run([*PAAS, *args], env=env, capture_output=True, text=True, timeout=120)

    first = paas("server:up", "--root", str(root), "--ssh-port", str(ssh_port), "--http-port", str(http_port))
    assert first.returncode == 0, first.stderr
    assert "started a private sshd" in first.stdout and "started nginx" in first.stdout
    assert "git remote:  ssh://" in first.stdout and f"127.0.0.1:{ssh_port}/APP" in first.stdout
    env["PAAS_ROOT"] = str(root)
    second = paas("server:up", "--ssh-port", str(ssh_port), "--http-port", str(http_port))
    assert second.returncode == 0, second.stderr
    assert "sshd is running" in second.stdout and "nginx is running" in second.stdout
    status = json.loads(paas("server:status", "--format", "json").stdout)
    assert status["docker"] and status["sshd"] and status["nginx"]
    assert (root.stat().st_mode & 0o777) == 0o700 and ((root / "paas.db").stat().st_mode & 0o777) == 0o600

    # A real ssh round trip through the private sshd.
    ssh = subprocess.run(["ssh", "-i", str(root / "ssh" / "client_ed25519"), "-o", f"UserKnownHostsFile={root / 'ssh' / 'known_hosts'}",
                          "-o", "BatchMode=yes", "-p", str(ssh_port), f"{os.environ.get('USER', 'root')}@127.0.0.1", "apps:list"],
                         capture_output=True, text=True, timeout=30)
    assert ssh.returncode == 0 and "No apps yet" in ssh.stdout, ssh.stderr

    # That first SSH command started a deploy server for the ones that follow.
    assert wait_for(lambda: json.loads(paas("server:status", "--format", "json").stdout)["deploy_server"])
    deploy_server = int((root / "run" / "deploy-server.pid").read_text().partition(".")[0])

    docker_before = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout
    down = paas("server:down")
    assert down.returncode == 0
    assert "nginx" in down.stdout and "sshd" in down.stdout and "dockerd" not in down.stdout
    assert "the deploy server" in down.stdout
    assert wait_for(lambda: not procs.running(deploy_server))
    status = json.loads(paas("server:status", "--format", "json").stdout)
    assert not status["sshd"] and not status["nginx"] and not status["deploy_server"] and status["docker"]
    assert subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout == docker_before

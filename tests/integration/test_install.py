"""`paas server:install` on this (throwaway) host, then a real push through the system-style sshd.

The installed paas is a wheel in its own venv under /opt, run by a dedicated system user,
exactly as the README's production steps describe. No systemd here: the router is started
by hand, as the installer tells the user to.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bench.installed import installed_server
from paas import procs
from tests.integration.conftest import EXAMPLES, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("install")]


def run(*argv, **kwargs):
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def installed():
    with installed_server("it", domain="install.test") as srv:
        yield srv


def test_server_install_then_first_push(installed, tmp_path):
    user, root = installed.user, installed.root
    assert all("Installed" in output for output in installed.install_output)  # twice: idempotent
    entry = subprocess.run(["getent", "passwd", user], capture_output=True, text=True).stdout.strip().split(":")
    assert entry[6] == "/bin/sh"
    assert (root.stat().st_mode & 0o777) == 0o700 and root.owner() == user
    keys = Path(f"/home/{user}/.ssh/authorized_keys").read_text()
    assert 'command="' in keys and "no-port-forwarding" in keys and " paas:me" in keys

    work = tmp_path / "hello"
    shutil.copytree(EXAMPLES / "python", work)
    git = ["git", "-C", str(work)]
    run(*git, "init", "-q", "-b", "main")
    run(*git, "add", "-A")
    run(*git, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "hello")
    run(*git, "remote", "add", "paas", installed.remote("hello"))
    pushed = run(*git, "push", "paas", "main", env={**os.environ, "GIT_SSH_COMMAND": installed.git_ssh_command()})
    assert "hello v1 is live" in pushed.stderr
    status, body = installed.get("hello")
    assert status == 200 and body.startswith("Hello from paas! release=v1")
    # The app's containers and repo belong to the paas user's world, not root's.
    assert (root / "repos" / "hello.git").owner() == user

    # The push left a deploy server behind, run by the paas user; the next push deploys in its child.
    pid_file = root / "run" / "deploy-server.pid"
    assert wait_for(lambda: pid_file.exists() and not procs.gone(pid_file.read_text().strip()))
    server = int(pid_file.read_text().partition(".")[0])  # "PID.START"
    assert Path(f"/proc/{server}").stat().st_uid == pwd.getpwnam(user).pw_uid
    (work / "app.py").write_text((work / "app.py").read_text().replace("Hello from paas", "Hello again"))
    run(*git, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qam", "again")
    push = subprocess.Popen([*git, "push", "paas", "main"], env={**os.environ, "GIT_SSH_COMMAND": installed.git_ssh_command()},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: set[int] = set()
    while push.poll() is None:
        children |= procs.children(server)
        time.sleep(0.005)
    _, err = push.communicate()
    assert push.returncode == 0 and "hello v2 is live" in err, err
    assert children, "no child of the deploy server ran the second push"
    assert installed.get("hello")[1].startswith("Hello again! release=v2")

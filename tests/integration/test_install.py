"""`paas server:install` on this (throwaway) host, then a real push through the system-style sshd.

The installed paas is a wheel in its own venv under /opt, run by a dedicated system user,
exactly as the README's production steps describe. No systemd here: the router is started
by hand, as the installer tells the user to.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import EXAMPLES, REPO, free_port

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("install")]


def run(*argv, **kwargs):
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{argv} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def installed(tmp_path):
    tag = uuid.uuid4().hex[:6]
    user, venv, root = f"paasit{tag}", Path(f"/opt/paas-it-{tag}"), Path(f"/var/lib/paas-it-{tag}")
    http_port, ssh_port = free_port(), free_port()
    sshd_pid = tmp_path / "sshd.pid"
    try:
        run("/usr/bin/python3", "-m", "venv", str(venv))
        run(str(venv / "bin" / "pip"), "install", "-q", str(REPO))
        paas = str(venv / "bin" / "paas")
        first = run(paas, "server:install", "--user", user, "--root", str(root), "--domain", "install.test",
                    "--http-port", str(http_port), env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        again = run(paas, "server:install", "--user", user, "--root", str(root), "--domain", "install.test",
                    "--http-port", str(http_port), env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        as_user = ["runuser", "-u", user, "--", "env", f"PAAS_ROOT={root}", "PAAS_LOCAL=1", "HOME=/home/" + user, paas]
        run(*as_user, "proxy:start")
        key = tmp_path / "id_ed25519"
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        run(*as_user, "ssh-keys:add", "me", "--admin", input=(tmp_path / "id_ed25519.pub").read_text())
        Path("/run/sshd").mkdir(exist_ok=True)
        run("/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config", "-p", str(ssh_port), "-o", "ListenAddress=127.0.0.1",
            "-o", f"PidFile={sshd_pid}", "-o", f"AllowUsers={user}")
        host_key = Path("/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{ssh_port} {host_key[0]} {host_key[1]}\n")
        yield {"user": user, "root": root, "http_port": http_port, "ssh_port": ssh_port, "as_user": as_user,
               "ssh": f"ssh -i {key} -o UserKnownHostsFile={known} -o IdentitiesOnly=yes -o BatchMode=yes",
               "first": first.stdout, "again": again.stdout}
    finally:
        subprocess.run(["runuser", "-u", user, "--", "env", f"PAAS_ROOT={root}", "PAAS_LOCAL=1",
                        str(venv / "bin" / "paas"), "apps:destroy", "hello", "--force"], capture_output=True)
        if sshd_pid.exists():
            subprocess.run(["kill", sshd_pid.read_text().strip()])
        nginx_pid = root / "nginx" / "nginx.pid"
        if nginx_pid.exists():
            subprocess.run(["kill", "-QUIT", nginx_pid.read_text().strip()])
        subprocess.run(["userdel", "-r", user], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(venv, ignore_errors=True)


def test_server_install_then_first_push(installed, tmp_path):
    user, root = installed["user"], installed["root"]
    assert "Installed" in installed["first"] and "Installed" in installed["again"]
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
    run(*git, "remote", "add", "paas", f"ssh://{user}@127.0.0.1:{installed['ssh_port']}/hello")
    import os

    pushed = run(*git, "push", "paas", "main", env={**os.environ, "GIT_SSH_COMMAND": installed["ssh"]})
    assert "hello v1 is live" in pushed.stderr
    answer = run("curl", "-fsS", "-H", "Host: hello.install.test", f"http://127.0.0.1:{installed['http_port']}/")
    assert answer.stdout.startswith("Hello from paas! release=v1")
    # The app's containers and repo belong to the paas user's world, not root's.
    assert (root / "repos" / "hello.git").owner() == user

"""A production-shaped paas on this (throwaway) host, as the README's server steps make it.

paas is installed from the repo into its own venv under /opt, `server:install` creates a
dedicated system user (login shell /bin/sh) owning PAAS_ROOT, and pushes go through the
system sshd configuration (/etc/ssh/sshd_config, PAM included) on a port of its own. No
systemd here: the router is started by hand, as the installer tells the user to.

Used by the `deploy` bench group (what a push costs on a real install, where the SSH account's
shell reads no rc file) and by tests/integration/test_install.py.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import REPO, Server, free_port, log, run

SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # server:install must not lean on this venv's PATH


@dataclass
class InstalledServer(Server):
    account: str = ""
    venv: Path = Path("/nonexistent")
    workdir: Path = Path("/nonexistent")
    install_output: list[str] = field(default_factory=list)

    @property
    def user(self) -> str:
        return self.account

    @property
    def as_user(self) -> list[str]:
        """argv prefix: paas run as the paas account, as systemd or `sudo -u` would run it."""
        return ["runuser", "-u", self.account, "--", "env", f"PAAS_ROOT={self.root}", "PAAS_LOCAL=1",
                f"HOME=/home/{self.account}", "NO_COLOR=1", "COLUMNS=80", str(self.venv / "bin" / "paas")]

    def paas(self, *args: str, check: bool = False, timeout: float = 600, input: str | None = None):
        return run([*self.as_user, *args], timeout=timeout, check=check, input=input)

    @property
    def client_key(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"


@contextlib.contextmanager
def installed_server(label: str, domain: str = "installed.test"):
    """pip install of this repo into /opt, `server:install` (twice: it must be idempotent), the
    router, an admin key, and a system-style sshd; everything removed afterwards."""
    tag = f"{label}{uuid.uuid4().hex[:6]}"
    workdir = Path(tempfile.mkdtemp(prefix=f"paas-{tag}-"))
    srv = InstalledServer(root=Path(f"/var/lib/paas-{tag}"), ssh_port=free_port(), http_port=free_port(),
                          domain=domain, account=f"paas{tag}", venv=Path(f"/opt/paas-{tag}"), workdir=workdir)
    sshd_pid = workdir / "sshd.pid"
    log(f"{label}: installing paas into {srv.venv} for user {srv.account}")
    try:
        run(["/usr/bin/python3", "-m", "venv", str(srv.venv)], check=True)
        run([str(srv.venv / "bin" / "pip"), "install", "-q", str(REPO)], check=True, timeout=900)
        install = [str(srv.venv / "bin" / "paas"), "server:install", "--user", srv.account, "--root", str(srv.root),
                   "--domain", domain, "--http-port", str(srv.http_port)]
        for _ in range(2):
            srv.install_output.append(run(install, env={"PATH": SYSTEM_PATH}, check=True).stdout)
        srv.paas("proxy:start", check=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(srv.client_key)], check=True)
        srv.paas("ssh-keys:add", "me", "--admin", input=Path(f"{srv.client_key}.pub").read_text(), check=True)
        Path("/run/sshd").mkdir(exist_ok=True)
        run(["/usr/sbin/sshd", "-f", "/etc/ssh/sshd_config", "-p", str(srv.ssh_port), "-o", "ListenAddress=127.0.0.1",
             "-o", f"PidFile={sshd_pid}", "-o", f"AllowUsers={srv.account}"], check=True)
        host_key = Path("/etc/ssh/ssh_host_ed25519_key.pub").read_text().split()
        srv.known_hosts.write_text(f"[127.0.0.1]:{srv.ssh_port} {host_key[0]} {host_key[1]}\n")
        yield srv
    finally:
        log(f"{label}: removing the installed paas")
        with contextlib.suppress(Exception):
            for app in srv.apps():
                srv.destroy(app)
        if sshd_pid.exists():
            subprocess.run(["kill", sshd_pid.read_text().strip()])
        nginx_pid = srv.root / "nginx" / "nginx.pid"
        if nginx_pid.exists():
            subprocess.run(["kill", "-QUIT", nginx_pid.read_text().strip()])
        _remove_account(srv.account)
        for path in (srv.root, srv.venv, workdir):
            shutil.rmtree(path, ignore_errors=True)


def _remove_account(account: str) -> None:
    """userdel refuses an account that still runs a process (a retire, an nginx worker that is
    finishing, an sshd session closing): end them first."""
    for _ in range(20):
        subprocess.run(["pkill", "-KILL", "-u", account], capture_output=True)
        if subprocess.run(["userdel", "-r", account], capture_output=True).returncode in (0, 6):  # 6: no such user
            return
        time.sleep(0.25)

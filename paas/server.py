"""A local server in a box: dockerd (if none answers), a private sshd on 127.0.0.1, and
a paas-managed nginx under PAAS_ROOT/nginx. Nothing system-wide is configured; `server:down`
stops only what `server:up` started, and the deploy server the first SSH command started.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from paas import console, deploy_server, keys, lifecycle, paths, procs, router, settings
from paas.errors import InvalidInput, ServiceUnavailable

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
DOCKER_SOCKET = Path("/var/run/docker.sock")


def _info_path() -> Path:
    return paths.ensure_root() / "server.json"


def save_info(info: dict) -> None:
    tmp = _info_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, _info_path())


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


# dockerd -------------------------------------------------------------------------------


def docker_answers() -> bool:
    try:
        result = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def ensure_dockerd() -> bool:
    """Start dockerd when none answers; True if we started it."""
    if docker_answers():
        return False
    if shutil.which("dockerd") is None:
        raise ServiceUnavailable("dockerd is not installed", hint="run scripts/bootstrap (installs docker.io)")
    log = (paths.run() / "dockerd.log").open("ab")
    process = subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    (paths.run() / "dockerd.pid").write_text(str(process.pid))
    for _ in range(120):
        if docker_answers():
            return True
        if process.poll() is not None:
            raise ServiceUnavailable(f"dockerd exited with {process.returncode}; see {paths.run() / 'dockerd.log'}")
        time.sleep(0.25)
    raise ServiceUnavailable("dockerd did not answer within 30s")


# sshd ----------------------------------------------------------------------------------


def _sshd_config(port: int, user: str) -> str:
    ssh = paths.ssh()
    return "\n".join([
        "# Written by paas server:up: a private sshd for this PAAS_ROOT only.",
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {ssh / 'ssh_host_ed25519_key'}",
        f"PidFile {ssh / 'sshd.pid'}",
        f"AuthorizedKeysFile {keys.authorized_keys_path()}",
        "AuthorizedKeysCommand none",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin forced-commands-only",
        "UsePAM no",
        "StrictModes no",
        f"AllowUsers {user}",
        "AllowTcpForwarding no",
        "AllowAgentForwarding no",
        "X11Forwarding no",
        "PermitTunnel no",
        "PermitUserEnvironment no",
        # sshd runs the forced command through the account's shell, and bash first reads the
        # account's ~/.bashrc for a command from sshd unless it believes it is nested. A
        # .bashrc that prints would break git's protocol; one that runs `pyenv init` costs
        # 0.1 s a push. SHLVL=1 makes bash a nested shell; sh ignores it.
        "SetEnv SHLVL=1",
        "PrintMotd no",
        "PrintLastLog no",
        "UseDNS no",
        "MaxStartups 100:30:200",
        "LogLevel ERROR",
        "",
    ])


def ensure_sshd(port: int, user: str) -> bool:
    ssh = paths.ssh()
    pid = _read_pid(ssh / "sshd.pid")
    if procs.running(pid):
        return False
    host_key = ssh / "ssh_host_ed25519_key"
    if not host_key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    config = ssh / "sshd_config"
    config.write_text(_sshd_config(port, user))
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    keys.write_authorized_keys()
    if not port_free(port):
        raise ServiceUnavailable(f"port {port} on 127.0.0.1 is taken; pick another with --ssh-port")
    result = subprocess.run([SSHD, "-f", str(config), "-E", str(ssh / "sshd.log")], capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceUnavailable(f"sshd did not start: {result.stderr.strip()}")
    for _ in range(100):
        if procs.running(_read_pid(ssh / "sshd.pid")):
            break
        time.sleep(0.05)
    host_pub = (ssh / "ssh_host_ed25519_key.pub").read_text().split()
    (ssh / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    return True


def _client_key() -> Path:
    """A key for the local user to push with (made once, kept under PAAS_ROOT)."""
    key = paths.ssh() / "client_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "paas-local-admin", "-f", str(key)], check=True)
    return key


def ssh_command() -> str:
    ssh = paths.ssh()
    return (f"ssh -i {ssh / 'client_ed25519'} -o UserKnownHostsFile={ssh / 'known_hosts'} "
            "-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes")


# up / down / status -------------------------------------------------------------------------


def up(ssh_port: int, http_port: int, domain: str) -> dict:
    from paas import names

    names.domain(domain)
    for port in (ssh_port, http_port):
        if not 1 <= port <= 65535:
            raise InvalidInput(f"port {port} is out of range")
    previous = lifecycle.server_info()
    started = dict(previous.get("started", {}))
    user = previous.get("ssh_user") or getpass.getuser()
    info = {**previous, "ssh_host": "127.0.0.1", "ssh_port": ssh_port, "ssh_user": user, "http_port": http_port,
            "http_bind": "127.0.0.1", "domain": domain, "mode": "local", "started": started}

    def note_started(service: str) -> None:
        # Saved at once: if a later step fails, server:down still stops what this one started.
        started[service] = True
        save_info(info)

    save_info(info)
    console.step("Docker")
    if ensure_dockerd():
        note_started("dockerd")
        console.detail("started dockerd")
    else:
        console.detail("dockerd answers")
    console.step(f"OpenSSH on 127.0.0.1:{ssh_port}")
    key = _client_key()
    if not any(k["name"] == "local-admin" for k in keys.list_all()):
        keys.add("local-admin", Path(f"{key}.pub").read_text(), role="admin")
    if ensure_sshd(ssh_port, user):
        note_started("sshd")
        console.detail("started a private sshd")
    else:
        console.detail("sshd is running")
    console.step(f"nginx on 127.0.0.1:{http_port}")
    if router.master_pid() is None:
        if not port_free(http_port):
            raise ServiceUnavailable(f"port {http_port} on 127.0.0.1 is taken; pick another with --http-port")
        router.start()
        note_started("nginx")
        console.detail("started nginx")
    else:
        router.reload()
        console.detail("nginx is running")
    console.step("Ready")
    console.detail(f"git remote:  ssh://{user}@127.0.0.1:{ssh_port}/APP")
    console.detail(f"push with:   GIT_SSH_COMMAND='{ssh_command()}' git push paas main")
    console.detail(f"apps answer: http://APP.{domain}:{http_port}")
    return info


def status() -> dict:
    info = lifecycle.server_info()
    ssh_pid = _read_pid(paths.ssh() / "sshd.pid")
    return {
        "root": str(paths.root()),
        "docker": docker_answers(),
        "sshd": procs.running(ssh_pid),
        "ssh_port": info.get("ssh_port"),
        "nginx": router.master_pid() is not None,
        "deploy_server": deploy_server.running_pid() is not None,
        "deploy_server_idle": int(settings.get("git", None, "deploy-server-idle")),
        "http_port": info.get("http_port"),
        "domain": info.get("domain"),
    }


def down() -> list[str]:
    info = lifecycle.server_info()
    started = info.get("started", {})
    stopped = []
    if started.get("nginx") and router.stop():
        stopped.append("nginx")
    if deploy_server.stop():  # the first SSH command started it, for this PAAS_ROOT
        stopped.append("the deploy server")
    if started.get("sshd"):
        pid = _read_pid(paths.ssh() / "sshd.pid")
        if procs.running(pid):
            os.kill(pid, signal.SIGTERM)
            stopped.append("sshd")
    if started.get("dockerd"):
        pid = _read_pid(paths.run() / "dockerd.pid")
        if procs.running(pid):
            os.kill(pid, signal.SIGTERM)
            stopped.append("dockerd")
    info["started"] = {}
    save_info(info)
    return stopped

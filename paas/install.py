"""`paas server:install`: turn a fresh Debian/Ubuntu host into a paas server. Idempotent.

Plan, then act: `plan()` returns the steps as data (tested as such); `apply()` runs them.
The result: a `paas` system user whose authorized_keys paas manages under the system sshd,
PAAS_ROOT owned by it, nginx on port 80 run by systemd as that user (with only the
capability to bind low ports, so deploys can reload it), and units that restore apps at
boot and retire/clean up periodically.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from paas import console, names
from paas.errors import InvalidInput, ServiceUnavailable

SYSTEMD_DIR = Path("/etc/systemd/system")


@dataclass(frozen=True)
class Step:
    what: str
    argv: tuple[str, ...] = ()
    write: tuple[str, str, int] | None = None  # (path, content, mode)


def _units(user: str, root: Path, python: str, http_port: int) -> dict[str, str]:
    env = f"Environment=PAAS_ROOT={root} PAAS_LOCAL=1"
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return {
        "paas-nginx.service": f"""[Unit]
Description=paas router (nginx for every app)
After=network.target

[Service]
User={user}
AmbientCapabilities=CAP_NET_BIND_SERVICE
{env}
ExecStartPre={python} -m paas proxy:render
ExecStart={nginx} -p {root}/nginx -e {root}/nginx/logs/error.log -c {root}/nginx/nginx.conf -g 'daemon off;'
ExecReload=/bin/kill -HUP $MAINPID
Restart=always

[Install]
WantedBy=multi-user.target
""",
        "paas-restore.service": f"""[Unit]
Description=paas: bring every app back after boot
After=docker.service paas-nginx.service
Wants=docker.service

[Service]
Type=oneshot
User={user}
{env}
ExecStart={python} -m paas ps:restore --all

[Install]
WantedBy=multi-user.target
""",
        "paas-cleanup.service": f"""[Unit]
Description=paas: retire stragglers and prune old images

[Service]
Type=oneshot
User={user}
{env}
ExecStart={python} -m paas cleanup --retire
""",
        "paas-cleanup.timer": """[Unit]
Description=paas: hourly retire and cleanup

[Timer]
OnBootSec=10min
OnUnitActiveSec=1h

[Install]
WantedBy=timers.target
""",
    }


def plan(user: str, root: Path, domain: str, http_port: int, python: str, has_systemd: bool) -> list[Step]:
    names.domain(domain)
    if not root.is_absolute():
        raise InvalidInput("--root must be an absolute path")
    steps: list[Step] = []
    try:
        pwd.getpwnam(user)
    except KeyError:
        steps.append(Step(f"create system user {user}", ("useradd", "--system", "--create-home", "--home-dir",
                                                          f"/home/{user}", "--shell", "/bin/sh", user)))
    # sshd refuses accounts whose password is locked ('!') when UsePAM is off.
    steps.append(Step(f"unlock {user} for key logins", ("usermod", "-p", "*", "--shell", "/bin/sh", user)))
    try:
        grp.getgrnam("docker")
        steps.append(Step(f"let {user} use Docker", ("usermod", "-aG", "docker", user)))
    except KeyError:
        pass
    steps.append(Step(f"create {root}", ("install", "-d", "-m", "0700", "-o", user, "-g", user, str(root))))
    home = Path(f"/home/{user}")
    steps.append(Step("create ~/.ssh", ("install", "-d", "-m", "0700", "-o", user, "-g", user, str(home / ".ssh"))))
    info = {
        "mode": "production", "ssh_host": socket.getfqdn(), "ssh_port": 22, "ssh_user": user,
        "http_port": http_port, "domain": domain, "authorized_keys": str(home / ".ssh" / "authorized_keys"),
    }
    import json

    steps.append(Step("record the server's endpoints", write=(str(root / "server.json"), json.dumps(info, indent=2), 0o600)))
    if has_systemd:
        for name, text in _units(user, root, python, http_port).items():
            steps.append(Step(f"install {name}", write=(str(SYSTEMD_DIR / name), text, 0o644)))
        steps.append(Step("reload systemd", ("systemctl", "daemon-reload")))
        steps.append(Step("enable and start the units", ("systemctl", "enable", "--now", "paas-nginx.service",
                                                          "paas-restore.service", "paas-cleanup.timer")))
    steps.append(Step(f"give {root} to {user}", ("chown", "-R", f"{user}:{user}", str(root))))
    return steps


def apply(steps: list[Step]) -> None:
    for step in steps:
        console.step(step.what)
        if step.write:
            path, content, mode = step.write
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() and target.read_text() == content:
                console.detail("unchanged")
                continue
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(content)
            tmp.chmod(mode)
            os.replace(tmp, target)
            continue
        result = subprocess.run(list(step.argv), capture_output=True, text=True)
        if result.returncode != 0:
            raise ServiceUnavailable(f"{step.what} failed: {' '.join(step.argv)}", hint=result.stderr.strip() or None)


def check_prerequisites(user: str) -> None:
    if os.geteuid() != 0:
        raise InvalidInput("server:install changes the system: run it as root")
    interpreter = Path(sys.executable).resolve()
    for parent in [interpreter, *interpreter.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o005 and parent != Path("/"):
            raise InvalidInput(
                f"{user} could not run paas from {sys.executable}: {parent} is not readable by other users",
                hint="install paas system-wide, e.g. python3 -m venv /opt/paas && /opt/paas/bin/pip install .",
            )


def has_systemd() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def install(user: str, root: Path, domain: str, http_port: int) -> None:
    from paas import keys

    check_prerequisites(user)
    systemd = has_systemd()
    steps = plan(user, root, domain, http_port, sys.executable, systemd)
    apply(steps)
    os.environ["PAAS_ROOT"] = str(root)
    from paas import router, store

    store.reset_connections()
    keys.write_authorized_keys()
    router.write_main()
    apply([Step(f"give {root} to {user}", ("chown", "-R", f"{user}:{user}", str(root))),
           Step("give authorized_keys to the user", ("chown", f"{user}:{user}", str(keys.authorized_keys_path())))])
    console.step("Installed")
    if not systemd:
        console.detail("no systemd here: start the router with "
                       f"sudo -u {user} PAAS_ROOT={root} {sys.executable} -m paas proxy:start")
    console.detail(f"add your key:  sudo -u {user} PAAS_ROOT={root} paas ssh-keys:add you --admin < ~/.ssh/id_ed25519.pub")
    console.detail(f"then push:     git remote add paas {user}@{socket.getfqdn()}:myapp && git push paas main")

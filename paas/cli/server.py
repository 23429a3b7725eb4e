"""server:* commands."""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from paas import console
from paas.cli.base import Format, app, check_format


@app.command("server:up")
def up(
    root: Annotated[Optional[str], typer.Option("--root", help="PAAS_ROOT for this server")] = None,
    ssh_port: Annotated[int, typer.Option("--ssh-port")] = 2222,
    http_port: Annotated[int, typer.Option("--http-port")] = 8080,
    domain: Annotated[str, typer.Option("--domain", help="Apps answer at APP.DOMAIN")] = "paas.localhost",
) -> None:
    """Start dockerd (if needed), a private sshd and nginx: a whole server on this machine."""
    from paas import server, store

    if root:
        os.environ["PAAS_ROOT"] = os.path.abspath(root)
        store.reset_connections()
    server.up(ssh_port, http_port, domain)


@app.command("server:status")
def status(fmt: Format = "text") -> None:
    """What runs: dockerd, sshd, nginx, the deploy server."""
    from paas import server

    check_format(fmt)
    data = server.status()
    if fmt == "json":
        console.emit_json(data)
        return
    def state(ok):
        return "running" if ok else "stopped"
    console.report("paas server", [
        ("Root", data["root"]), ("Docker", state(data["docker"])),
        ("sshd", f"{state(data['sshd'])} (port {data['ssh_port'] or '-'})"),
        ("nginx", f"{state(data['nginx'])} (port {data['http_port'] or '-'})"),
        ("Deploy server", _deploy_server_state(data["deploy_server"], data["deploy_server_idle"])),
        ("Domain", data["domain"] or "-"),
    ])


def _deploy_server_state(running: bool, idle: int) -> str:
    if running:
        return f"running (ends {idle}s after the last SSH command)" if idle else "running (ends within 30s: turned off)"
    return "stopped (the next SSH command starts it)" if idle else "off (git:set --global deploy-server-idle 0)"


@app.command("server:down")
def down() -> None:
    """Stop what server:up started (and the deploy server SSH commands started), nothing else."""
    from paas import server

    stopped = server.down()
    console.step("Stopped " + (", ".join(stopped) if stopped else "nothing (server:up started nothing that runs)"))


@app.command("server:install")
def install(
    user: Annotated[str, typer.Option("--user", help="The system account that owns paas")] = "paas",
    root: Annotated[str, typer.Option("--root", help="PAAS_ROOT")] = "/var/lib/paas",
    domain: Annotated[str, typer.Option("--domain", help="Apps answer at APP.DOMAIN")] = "localhost",
    http_port: Annotated[int, typer.Option("--http-port")] = 80,
) -> None:
    """Install paas as this host's service: user, state, sshd keys, nginx on :80, systemd units."""
    from pathlib import Path

    from paas import install as installer, names

    names.key_name(user)
    installer.install(user, Path(os.path.abspath(root)), domain, http_port)

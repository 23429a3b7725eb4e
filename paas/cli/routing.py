"""domains:*, nginx:show-config and proxy:* commands."""

from __future__ import annotations

from typing import Annotated

import typer

from paas import apps, console, domains, releases, router, settings
from paas.cli.base import AppArg, Format, app, check_format

Domain = Annotated[str, typer.Argument(metavar="DOMAIN")]


@app.command("domains:add")
def add(app_name: AppArg, domain: Domain) -> None:
    """Answer at DOMAIN too."""
    from paas import proxy

    host = domains.add(app_name, domain)
    proxy.refresh_or_undo(app_name, lambda: domains.remove(app_name, host))
    console.step(f"Added {host} to {app_name}")


@app.command("domains:remove")
def remove(app_name: AppArg, domain: Domain) -> None:
    """Stop answering at DOMAIN."""
    from paas import proxy

    domains.remove(app_name, domain)
    proxy.refresh(app_name)
    console.step(f"Removed {domain} from {app_name}")


@app.command("domains:report")
def report(app_name: AppArg, fmt: Format = "text") -> None:
    """The hostnames an app answers to."""
    check_format(fmt)
    hosts = domains.hosts_for(app_name)
    if fmt == "json":
        console.emit_json({"global": domains.global_domain(), "hosts": hosts})
        return
    console.report(f"{app_name} domains", [("Hosts", " ".join(hosts) or "-"),
                                            ("Global domain", domains.global_domain() or "-")])


@app.command("domains:set-global")
def set_global(domain: Domain) -> None:
    """Every app answers at APP.DOMAIN (re-routes every deployed app)."""
    from paas import proxy

    settings.set_value("domains", None, "global", domain)
    for item in apps.list_all():
        proxy.refresh(item.name)
    now = domains.global_domain()  # "" resets it to the server's own domain (or none)
    console.step(f"Apps now answer at APP.{now}" if now else "Apps now answer only at the domains added to them")


@app.command("nginx:show-config")
def show_config(app_name: AppArg) -> None:
    """Print the nginx config that routes the app."""
    apps.get(app_name)
    path = router.app_config_path(app_name)
    console.out(path.read_text().rstrip() if path.exists() else f"# {app_name} has no route (not deployed, or no web process)")


@app.command("proxy:report")
def proxy_report(app_name: AppArg, fmt: Format = "text") -> None:
    """Whether the app is routed, where, and to which containers."""
    from paas import deploy

    check_format(fmt)
    apps.get(app_name)
    web = [c for c in deploy.serving_containers(app_name) if c.process == "web"]
    data = {
        "routed": router.app_config_path(app_name).exists(),
        "hosts": domains.hosts_for(app_name),
        "listen": router.listen_address(),
        "upstreams": [f"{c.address}:{c.port}" for c in web if c.address and c.port],
        "nginx_running": router.master_pid() is not None,
        "release": (releases.current(app_name).tag if releases.current(app_name) else None),
    }
    if fmt == "json":
        console.emit_json(data)
        return
    console.report(f"{app_name} proxy", [
        ("Routed", "yes" if data["routed"] else "no"), ("Hosts", " ".join(data["hosts"]) or "-"),
        ("Listen", data["listen"]), ("Upstreams", " ".join(data["upstreams"]) or "-"),
        ("nginx running", "yes" if data["nginx_running"] else "no"), ("Release", data["release"] or "-"),
    ])


@app.command("proxy:start")
def proxy_start() -> None:
    """Start the paas-managed nginx if it is not running."""
    pid = router.start()
    console.step(f"nginx is running (pid {pid})")


@app.command("proxy:render")
def proxy_render() -> None:
    """Write the main nginx config from templates/nginx (apps keep their vhosts)."""
    path = router.write_main()
    router.check_config(path)
    console.step(f"Wrote {path}")

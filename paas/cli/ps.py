"""ps:* commands (and apps:scale)."""

from __future__ import annotations

import itertools
import time
from typing import Annotated, Optional

import typer

from paas import apps, console, formation, names, releases, settings
from paas.cli.base import AppArg, Format, app, check_format
from paas.errors import InvalidInput

Pairs = Annotated[Optional[list[str]], typer.Argument(metavar="TYPE=N...")]


def _scale(app_name: str, pairs: list[str] | None) -> None:
    from paas import deploy

    apps.get(app_name)
    if not pairs:
        shown = formation.shown(app_name, releases.current(app_name))
        console.out(" ".join(f"{k}={v}" for k, v in shown.items()))
        return
    changes = formation.parse_changes(pairs)
    console.step(f"Scaling {app_name}: " + " ".join(f"{k}={v}" for k, v in changes.items()))
    deploy.scale(app_name, changes)


@app.command("ps:scale")
def scale(app_name: AppArg, pairs: Pairs = None) -> None:
    """Set how many containers run per process type (no pairs: show the formation)."""
    _scale(app_name, pairs)


@app.command("apps:scale")
def apps_scale(app_name: AppArg, pairs: Pairs = None) -> None:
    """Alias of ps:scale."""
    _scale(app_name, pairs)


def _uptime(container) -> str:
    started = container.started_epoch
    if started is None:
        return "-"
    seconds = max(0, int(time.time() - started))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@app.command("ps:report")
def report(app_name: AppArg, fmt: Format = "text") -> None:
    """Every container: process, index, release, state, health, uptime, address."""
    from paas import deploy, serving
    from paas.runtime import scheduler

    check_format(fmt)
    apps.get(app_name)
    live = releases.current(app_name)
    # Serving: recorded as serving and of the live release (a deploy in flight records its
    # new containers a moment before they take traffic).
    current = serving.ids(app_name) if live else set()
    running = deploy.containers(app_name)
    # Probed now with the live release's checks (as a deploy would gate them), in parallel.
    health = scheduler.health_all(app_name, running, deploy.port_of(live), deploy.manifest_of(live)) if live else []
    rows = [
        {
            "process": f"{c.process}.{c.index}", "release": f"v{c.release}", "state": c.state,
            "health": outcome.detail if outcome else "-", "healthy": outcome.ok if outcome else None,
            "serving": c.id in current and c.release == live.version, "uptime": _uptime(c),
            "address": f"{c.address}:{c.port}" if c.address and c.port else (c.address or "-"),
            "container": c.name,
        }
        for c, outcome in itertools.zip_longest(running, health)
    ]
    if fmt == "json":
        console.emit_json(rows)
        return
    if not rows:
        console.out(f"{app_name} has no containers")
        return
    console.table(["PROCESS", "RELEASE", "STATE", "HEALTH", "SERVING", "UPTIME", "ADDRESS"],
                  [[r["process"], r["release"], r["state"], _short(r["health"]),
                    "yes" if r["serving"] else "retiring", r["uptime"], r["address"]] for r in rows])


def _short(text: str, width: int = 60) -> str:
    line = text.splitlines()[0] if text else "-"
    return line if len(line) <= width else line[: width - 1] + "…"


@app.command("ps:restart")
def restart(app_name: AppArg,
            process: Annotated[Optional[str], typer.Argument(metavar="[TYPE]", help="Only this process type")] = None
            ) -> None:
    """Replace every container (or those of one process type) with fresh ones, zero downtime; config changed since the release goes live as a new one."""
    from paas import deploy

    apps.get(app_name)
    if process is not None:
        names.process_type(process)
    console.step(f"Restarting {app_name}" + (f" {process}" if process else ""))
    deploy.restart(app_name, process)


@app.command("ps:rebuild")
def rebuild(app_name: AppArg) -> None:
    """Build the deploy branch again and deploy it."""
    from paas import deploy

    deploy.deploy_rev(app_name)


@app.command("ps:stop")
def stop(app_name: AppArg) -> None:
    """Stop every container of the app (the route answers 503)."""
    from paas import deploy

    deploy.stop(app_name)
    console.step(f"Stopped {app_name}")


@app.command("ps:start")
def start(app_name: AppArg) -> None:
    """Start the app's current release again (config changed since it goes live as a new one)."""
    from paas import deploy

    console.step(f"Starting {app_name}")
    deploy.restart(app_name)


@app.command("ps:retire")
def retire(app_name: AppArg) -> None:
    """Stop containers that no longer serve (normally done in the background)."""
    from paas import deploy

    stale = deploy.retire(app_name)
    console.step(f"Retired {len(stale)} container(s) of {app_name}")


@app.command("ps:restore")
def restore(
    app_name: Annotated[Optional[str], typer.Argument(metavar="[APP]")] = None,
    all_apps: Annotated[bool, typer.Option("--all", help="Every app")] = False,
) -> None:
    """Bring apps back after a Docker or host restart: containers and routes (not apps stopped with ps:stop)."""
    from paas import deploy, router

    if bool(app_name) == all_apps:
        raise InvalidInput("give an APP or --all")
    from paas.errors import PaasError

    router.start()
    targets = [a.name for a in apps.list_all()] if all_apps else [app_name]
    failed = []
    for name in targets:
        if releases.current(name) is None:
            continue
        console.step(f"Restoring {name}")
        try:
            if not deploy.restore(name):
                console.detail(f"{name} was stopped with ps:stop and stays so (ps:start {name} starts it)")
        except PaasError as exc:  # one broken app must not keep the others down
            console.error(f"{name}: {exc.message}", exc.hint)
            failed.append(name)
    if failed:
        raise PaasError(f"could not restore {', '.join(failed)}; every other app is back")


@app.command("ps:set")
def set_(app_name: AppArg, key: Annotated[str, typer.Argument(metavar="KEY")],
         value: Annotated[Optional[str], typer.Argument(metavar="VALUE")] = None) -> None:
    """Set stop-timeout, restart-policy or TYPE.strategy (no VALUE resets)."""
    settings.set_value("ps", app_name, key, value)
    console.step(f"Set ps {key} on {app_name}" if value else f"Reset ps {key} on {app_name}")

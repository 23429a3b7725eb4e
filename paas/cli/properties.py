"""`<namespace>:set APP KEY [VALUE]` and `<namespace>:report APP` for property namespaces.

One factory serves checks, nginx, builder, git and apps, so they validate and print alike.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from paas import console, settings
from paas.cli.base import Format, Global, app, app_or_global, check_format
from paas.errors import InvalidInput

OptionalApp = Annotated[Optional[str], typer.Argument(metavar="APP")]


def _parse_pairs(words: list[str]) -> list[tuple[str, str | None]]:
    """Accept `KEY VALUE`, `KEY` (reset) or `KEY=VALUE [KEY=VALUE ...]`."""
    if not words:
        raise InvalidInput("give KEY VALUE or KEY=VALUE")
    if all("=" in w for w in words):
        return [(k, v) for k, _, v in (w.partition("=") for w in words)]
    if len(words) == 1:
        return [(words[0], None)]
    if len(words) == 2:
        return [(words[0], words[1])]
    raise InvalidInput("give KEY VALUE, or KEY=VALUE pairs")


def _affects_routing(namespace: str) -> bool:
    return namespace == "nginx"


def register(namespace: str, what: str, report: bool = True) -> None:
    def set_command(
        app_name: OptionalApp = None,
        words: Annotated[Optional[list[str]], typer.Argument(metavar="KEY [VALUE]")] = None,
        is_global: Global = False,
    ) -> None:
        words = list(words or [])
        if is_global and app_name is not None:
            words.insert(0, app_name)
            app_name = None
        target = app_or_global(app_name, is_global)
        pairs = _parse_pairs(words)
        undo = settings.set_values(namespace, target, pairs)  # every pair, or none
        if target and _affects_routing(namespace):
            from paas import proxy

            proxy.refresh_or_undo(target, undo)
        for key, value in pairs:
            verb = f"Set {namespace} {key}={value}" if value not in (None, "") else f"Reset {namespace} {key}"
            console.step(f"{verb} on {target or 'global defaults'}")

    def report_command(app_name: OptionalApp = None, is_global: Global = False, fmt: Format = "text") -> None:
        check_format(fmt)
        target = app_or_global(app_name, is_global)
        rows = settings.report(namespace, target)
        if fmt == "json":
            console.emit_json({k: {"value": v, "source": s} for k, v, s in rows})
            return
        console.report(f"{target or 'global'} {namespace} settings",
                       [(k, f"{v if v != '' else '-'} ({s})") for k, v, s in rows])

    set_command.__doc__ = f"Set {what} (KEY alone resets it to the default)."
    report_command.__doc__ = f"Show {what} and where each value comes from."
    app.command(f"{namespace}:set")(set_command)
    if report:  # apps:report is the app's own report, not its settings
        app.command(f"{namespace}:report")(report_command)


register("checks", "health check settings: wait, wait-to-retire, attempts, timeout")
register("nginx", "proxy settings: client-max-body-size, proxy-*-timeout")
register("builder", "build caps: memory, cpus")
register("git", "git settings: deploy-branch, deploy-server-idle (use --global)", report=False)  # git:report is the repo's report
register("apps", "app defaults: autocreate (use --global)", report=False)


def _checks_off(app_name: str, types: str, key: str, warning: str, verb: str) -> None:
    settings.set_value("checks", app_name, key, types)
    console.warn(warning)
    console.step(f"Checks {verb} for {types} on {app_name}")


@app.command("checks:disable")
def checks_disable(app_name: Annotated[str, typer.Argument(metavar="APP")],
                   process: Annotated[str, typer.Argument(metavar="TYPES")] = "web") -> None:
    """Turn health checks off for process types (comma separated)."""
    _checks_off(app_name, process, "disabled", "without checks a broken release can take traffic and cause downtime",
                "disabled")


@app.command("checks:skip")
def checks_skip(app_name: Annotated[str, typer.Argument(metavar="APP")],
                process: Annotated[str, typer.Argument(metavar="TYPES")] = "web") -> None:
    """Skip health checks for process types (comma separated)."""
    _checks_off(app_name, process, "skipped", "skipped checks let a release take traffic before it is ready", "skipped")


@app.command("checks:enable")
def checks_enable(app_name: Annotated[str, typer.Argument(metavar="APP")]) -> None:
    """Turn every health check back on."""
    settings.set_value("checks", app_name, "disabled", None)
    settings.set_value("checks", app_name, "skipped", None)
    console.step(f"Checks enabled on {app_name}")


@app.command("resource:limit")
def resource_limit(
    app_name: Annotated[str, typer.Argument(metavar="APP")],
    process: Annotated[Optional[str], typer.Option("--process-type", help="Only this type")] = None,
    memory: Annotated[Optional[str], typer.Option("--memory", help="For example 512m")] = None,
    cpus: Annotated[Optional[str], typer.Option("--cpus", help="For example 0.5")] = None,
) -> None:
    """Limit memory and CPU per process type (applies at the next deploy or restart)."""
    if memory is None and cpus is None:
        raise InvalidInput("give --memory and/or --cpus")
    prefix = f"{process}." if process else ""
    settings.set_values("resource", app_name,
                        [(prefix + key, value) for key, value in (("memory", memory), ("cpus", cpus)) if value is not None])
    console.step(f"Limits set on {app_name}; restart to apply: paas ps:restart {app_name}")


@app.command("resource:report")
def resource_report(app_name: Annotated[str, typer.Argument(metavar="APP")], fmt: Format = "text") -> None:
    """Show memory and CPU limits."""
    check_format(fmt)
    rows = settings.report("resource", app_name)
    if fmt == "json":
        console.emit_json({k: {"value": v, "source": s} for k, v, s in rows})
        return
    console.report(f"{app_name} resource limits", [(k, f"{v or 'unlimited'} ({s})") for k, v, s in rows])

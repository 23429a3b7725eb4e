"""apps:* commands."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from paas import apps, console, lifecycle
from paas.cli.base import AppArg, Format, app, check_format, timestamp
from paas.errors import Aborted, InvalidInput


@app.command("apps:create")
def create(name: AppArg) -> None:
    """Create an app."""
    created = apps.create(name, owner=lifecycle.current_actor())
    console.step(f"Created {created.name}")
    for line in lifecycle.push_hint(created.name):
        console.detail(line)


@app.command("apps:list")
def list_(fmt: Format = "text") -> None:
    """List apps."""
    check_format(fmt)
    rows = [lifecycle.summary(a) for a in lifecycle.visible_apps()]
    if fmt == "json":
        console.emit_json(rows)
        return
    if not rows:
        console.out("No apps yet. Create one with: paas apps:create NAME")
        return
    console.table(
        ["NAME", "RELEASE", "STATUS", "CREATED"],
        [[r["name"], r["release"] or "-", r["status"], timestamp(r["created_at"])] for r in rows],
    )


def _report(name: str, fmt: str) -> None:
    check_format(fmt)
    info = lifecycle.report(name)
    if fmt == "json":
        console.emit_json(info)
        return
    console.report(f"{name} app information", [
        ("Created", timestamp(info["created_at"])),
        ("Owner", info["owner"] or "-"),
        ("Release", info["release"] or "-"),
        ("Status", info["status"]),
        ("Formation", " ".join(f"{k}={v}" for k, v in info["formation"].items())),
        ("URL", info["url"] or "-"),
        ("Git remote", info["git_remote"] or "-"),
        ("Deploy branch", info["deploy_branch"]),
    ])


@app.command("apps:report")
def report(app_name: AppArg, fmt: Format = "text") -> None:
    """Show an app's details."""
    _report(app_name, fmt)


@app.command("apps:info", hidden=True)
def info(app_name: AppArg, fmt: Format = "text") -> None:
    """Alias of apps:report."""
    _report(app_name, fmt)


@app.command("apps:rename")
def rename(app_name: AppArg, new: Annotated[str, typer.Argument(metavar="NEW")]) -> None:
    """Rename an app."""
    # app_name like every command whose first argument is the app: the SSH entry then checks
    # the caller's rights on it (owners may rename), and the laptop client fills it in.
    lifecycle.rename_app(app_name, new)
    console.step(f"Renamed {app_name} to {new}")


@app.command("apps:destroy")
def destroy(
    app_name: AppArg,
    force: Annotated[bool, typer.Option("--force", "-f", help="Do not ask for confirmation")] = False,
) -> None:
    """Destroy an app: its containers, images, routes, repo, config and releases."""
    name = apps.get(app_name).name
    if not force:
        if not sys.stdin or not sys.stdin.isatty() and not _has_piped_input():
            raise InvalidInput(
                f"destroying {name} cannot be undone; confirm by typing its name, or pass --force"
            )
        console.warn(f"this destroys {name}, its releases, config and repo; it cannot be undone")
        answer = typer.prompt(f"Type {name} to confirm", default="", show_default=False)
        if answer.strip() != name:
            raise Aborted("confirmation did not match; nothing was destroyed")
    lifecycle.destroy_app(name)
    console.step(f"Destroyed {name}")


def _has_piped_input() -> bool:
    """A pipe or file on stdin can carry the confirmation (tests, scripts)."""
    import os
    import stat

    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return True  # an in-memory stream (CliRunner) can answer the prompt
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)

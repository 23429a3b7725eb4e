"""buildpacks:* and cleanup commands."""

from __future__ import annotations

from typing import Annotated

import typer

from paas import apps, console, settings
from paas.cli.base import AppArg, Format, app, check_format


@app.command("buildpacks:list")
def list_(fmt: Format = "text") -> None:
    """Buildpacks in detection order (PAAS_BUILDPACKS_PATH folders first)."""
    from paas.build import buildpacks

    check_format(fmt)
    rows = [{"name": b.name, "order": b.order, "detect": list(b.detect_files) or ["bin/detect"],
             "folder": str(b.folder), "description": b.description} for b in buildpacks.all_buildpacks()]
    if fmt == "json":
        console.emit_json(rows)
        return
    console.table(["NAME", "ORDER", "DETECTS"], [[r["name"], r["order"], ", ".join(r["detect"])] for r in rows])


@app.command("buildpacks:set")
def set_(app_name: AppArg, name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Always build APP with this buildpack, skipping detection."""
    from paas.build import buildpacks

    apps.get(app_name)
    buildpacks.by_name(name)
    settings.set_value("buildpacks", app_name, "name", name)
    console.step(f"{app_name} builds with the {name} buildpack")


@app.command("buildpacks:clear")
def clear(app_name: AppArg) -> None:
    """Go back to detecting the buildpack."""
    settings.set_value("buildpacks", app_name, "name", None)
    console.step(f"{app_name} detects its buildpack again")


@app.command("cleanup")
def cleanup(
    fmt: Format = "text",
    retire: Annotated[bool, typer.Option(
        "--retire", help="Also retire containers that no longer serve, and what a killed rename left of the old name",
    )] = False,
) -> None:
    """Remove release images but the last PAAS_KEEP_RELEASES (5) each app ran, images a destroy had to leave, and dangling layers."""
    from paas import cleanup as pruning

    check_format(fmt)
    orphans, failed = [], False
    if retire:
        from paas import deploy
        from paas.errors import PaasError

        for item in apps.list_all():
            try:  # one app behind a long build (or destroyed meanwhile) must not stop the rest
                deploy.retire(item.name)
            except PaasError as exc:
                console.warn(f"{item.name}: not retired now: {exc.message}")
                failed = True
        orphans = deploy.retire_orphans()
    result = pruning.prune_all()
    if fmt == "json":
        console.emit_json({**result, "old_names_retired": orphans} if retire else result)
        if failed:
            raise typer.Exit(1)
        return
    for name in orphans:
        console.detail(f"Removed the route and containers of {name}, a name no app has any more")
    count = sum(len(v) for v in result["images"].values())
    console.step(f"Removed {count} release image(s) and {result['dangling_layers']} dangling layer(s)")
    for name, tags in result["images"].items():
        console.detail(f"{name}: {', '.join(tags)}")
    if result["abandoned_builds"]:
        console.detail(f"Removed {result['abandoned_builds']} build folder(s) that killed builds left")
    if failed:
        raise typer.Exit(1)

"""stack:* commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from paas import console, names, settings
from paas.cli.base import Format, app, check_format
from paas.errors import InvalidInput


@app.command("stack:build")
def build(force: Annotated[bool, typer.Option("--force", help="Rebuild even if present")] = False) -> None:
    """Build paas/stack:bookworm with debootstrap (no image registry needed)."""
    from paas.build import stack

    stack.build(force=force)


@app.command("stack:list")
def list_(fmt: Format = "text") -> None:
    """Show stacks on this host and the one builds use."""
    check_format(fmt)
    from paas.build import stack
    from paas.runtime import docker_api

    in_use = stack.configured_image()
    candidates = sorted({names.STACK_IMAGE, in_use})
    rows = [{"image": i, "present": docker_api.image_exists(i), "in_use": i == in_use} for i in candidates]
    if fmt == "json":
        console.emit_json(rows)
        return
    console.table(["IMAGE", "PRESENT", "IN USE"], [[r["image"], "yes" if r["present"] else "no", "*" if r["in_use"] else ""] for r in rows])


@app.command("stack:set")
def set_(
    image: Annotated[Optional[str], typer.Argument(metavar="IMAGE")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to paas/stack:bookworm")] = False,
) -> None:
    """Build FROM another image the host has or can pull."""
    if reset == bool(image):
        raise InvalidInput("give an IMAGE, or --reset")
    if image:
        from paas.runtime import docker_api

        names.image_reference(image)
        docker_api.require_image(image)
    settings.set_value("stack", None, "image", None if reset else image)
    console.step(f"Builds now start FROM {image or names.STACK_IMAGE}")


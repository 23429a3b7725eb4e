"""Questions about the CLI's shape, asked by the SSH entry and the laptop client."""

from __future__ import annotations

from functools import lru_cache

APP_PARAMS = ("app_name",)


@lru_cache(maxsize=None)
def group():
    """The click group typer builds from the CLI: built once per process (it costs ~25 ms),
    then both asked about commands and run (`group().main(...)`)."""
    from paas.cli import app
    from typer.main import get_command

    return get_command(app)


def command(name: str):
    return group().commands.get(name)


def takes_app(name: str) -> bool:
    """True when the command's first argument is the APP (so it can be inferred)."""
    cmd = command(name)
    if cmd is None:
        return False
    arguments = [p for p in cmd.params if p.param_type_name == "argument"]
    return bool(arguments) and arguments[0].name in APP_PARAMS


def requires_app(name: str) -> bool:
    """True when the command cannot run without an APP (`events [APP]` can)."""
    cmd = command(name)
    if not takes_app(name):
        return False
    first = [p for p in cmd.params if p.param_type_name == "argument"][0]
    return bool(first.required)

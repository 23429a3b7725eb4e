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


@lru_cache(maxsize=None)
def group_for(name: str):
    """The click group to run command `name` with. It holds that command alone (and the root
    options): typer builds it in ~1 ms instead of the ~25 ms all 71 commands take, paid by
    every command and every SSH call. `help`, a bare namespace or an unknown name get the
    whole group: their answer needs every command."""
    from typer.main import get_command

    from paas.cli import app
    from paas.cli.base import make_app

    info = next((c for c in app.registered_commands if c.name == name), None)
    if info is None or name == "help":
        return group()
    one = make_app()
    one.registered_callback = app.registered_callback
    one.registered_commands = [info]
    return get_command(one)


def command(name: str):
    return group_for(name).commands.get(name)


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

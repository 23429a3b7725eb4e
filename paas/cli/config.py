"""config:* commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from paas import config, console, lifecycle, names
from paas.cli.base import Format, Global, app, app_or_global, check_format
from paas.errors import InvalidInput

OptionalApp = Annotated[Optional[str], typer.Argument(metavar="APP", help="The app (or --global)")]
NoRestart = Annotated[bool, typer.Option("--no-restart", help="Apply at the next deploy or ps:restart, not now")]


def _split_app(app_name: str | None, rest: list[str], is_global: bool) -> tuple[str | None, list[str]]:
    """With --global the first word is already a KEY, not an APP."""
    if is_global and app_name is not None:
        return None, [app_name, *rest]
    return app_or_global(app_name, is_global), rest


def _read_value_source(source: str) -> str:
    from paas import identity

    if source != "-" and identity.current().via_ssh:
        # Over SSH, a path names a file on the server: never let a key read the server's files.
        # (The laptop client sends the content of its own files instead.)
        raise InvalidInput(f"{source}: over SSH only K=@- (standard input) can read a value",
                           hint="the paas laptop client reads K=@file on your machine and sends it")
    if source == "-":
        # One byte past the limit is enough to refuse: a client streaming without end must not
        # fill this process's memory first.
        stream = getattr(sys.stdin, "buffer", None)
        limit = names.MAX_CONFIG_VALUE + 1
        data = stream.read(limit) if stream is not None else sys.stdin.read(limit).encode("utf-8", "surrogateescape")
        if len(data) > names.MAX_CONFIG_VALUE:
            raise InvalidInput(f"standard input is larger than {names.MAX_CONFIG_VALUE // 1024} KiB, "
                               "the most one config value may hold")
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{'standard input' if source == '-' else source} is not UTF-8 text") from None


@app.command("config:set")
def set_(
    app_name: OptionalApp = None,
    pairs: Annotated[Optional[list[str]], typer.Argument(metavar="KEY=VALUE...")] = None,
    is_global: Global = False,
    no_restart: NoRestart = False,
) -> None:
    """Set config vars (KEY=@file reads a file, KEY=@- stdin)."""
    target, words = _split_app(app_name, pairs or [], is_global)
    values = config.parse_assignments(words, read_file=_read_value_source)
    lifecycle.set_config(target, values, restart=not no_restart)


@app.command("config:unset")
def unset(
    app_name: OptionalApp = None,
    keys: Annotated[Optional[list[str]], typer.Argument(metavar="KEY...")] = None,
    is_global: Global = False,
    no_restart: NoRestart = False,
) -> None:
    """Remove config vars."""
    target, words = _split_app(app_name, keys or [], is_global)
    lifecycle.unset_config(target, words, restart=not no_restart)


@app.command("config:get")
def get(
    app_name: OptionalApp = None,
    key: Annotated[Optional[str], typer.Argument(metavar="KEY")] = None,
    is_global: Global = False,
) -> None:
    """Print one config var's value, exactly as stored."""
    target, words = _split_app(app_name, [key] if key else [], is_global)
    if len(words) != 1:
        raise InvalidInput("give exactly one KEY")
    sys.stdout.write(config.get_var(target, words[0]) + "\n")


@app.command("config:show")
def show(
    app_name: OptionalApp = None,
    is_global: Global = False,
    merged: Annotated[bool, typer.Option("--merged", help="Include inherited global values")] = False,
    fmt: Format = "text",
) -> None:
    """Show config vars."""
    check_format(fmt)
    target = app_or_global(app_name, is_global)
    values = config.effective(target) if (merged and target) else config.vars_of(target)
    if fmt == "json":
        console.emit_json(values)
        return
    title = f"{target} config vars" if target else "global config vars"
    width = max((len(k) for k in values), default=0) + 1
    console.out(f"=====> {title}")
    if not values:
        console.out("       (none)")
    for key, value in values.items():
        # Shown, not exported: any control character but the line breaks shown here as
        # lines is escaped (a collaborator's value must not drive the reader's terminal).
        first, *more = (console.escape_controls(line) for line in value.split("\n"))
        console.out(f"{(key + ':').ljust(width)} {first}".rstrip())
        for line in more:
            console.out(" " * (width + 1) + line)


@app.command("config:export")
def export(
    app_name: OptionalApp = None,
    is_global: Global = False,
    fmt: Annotated[str, typer.Option("--format", help="dotenv, shell or json")] = "dotenv",
) -> None:
    """Print config vars as dotenv, shell or json (an app's include inherited globals)."""
    target = app_or_global(app_name, is_global)
    values = config.effective(target) if target else config.vars_of(None)
    text = config.export(values, fmt)
    if text:
        console.out(text)

"""The root typer app, shared option types, and the one error path of the CLI."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperArgument, TyperGroup

from paas import __version__, console
from paas.errors import InvalidInput, PaasError

# One line per namespace, in the order `paas help` shows them.
NAMESPACES: dict[str, str] = {
    "apps": "Create, list, inspect, rename and destroy apps",
    "config": "Config vars per app, and global defaults every app inherits",
    "build": "Build an app's image without deploying it",
    "deploy": "Build and deploy an app from its repo, or deploy an image",
    "releases": "Release history, details and rollback",
    "ps": "Processes: scale, restart, stop, start, report",
    "logs": "Follow and read app logs",
    "run": "One-off commands in a new container of the current release",
    "enter": "A shell in a running container",
    "checks": "Health checks that gate every deploy",
    "resource": "Memory and CPU limits per process type",
    "domains": "Hostnames an app answers to",
    "nginx": "The router: per-app proxy settings and rendered config",
    "proxy": "The router's state for an app",
    "buildpacks": "Detected languages, and per-app overrides",
    "builder": "Build resource caps",
    "stack": "The base image every build starts from",
    "git": "The deploy branch and rebuilds from the repo",
    "ssh-keys": "Who can push and run commands",
    "acl": "Which keys reach which apps",
    "events": "Audit trail: who ran what, when, the outcome",
    "server": "A local server in a box, status and production install",
    "cleanup": "Remove old images; with --retire, idle containers too",
    "help": "Show namespaces, or the commands of one namespace",
}


def namespace_of(command: str) -> str:
    return command.split(":", 1)[0]


class PaasGroup(TyperGroup):
    """Adds the namespace overview as root help and the single error path."""

    def list_commands(self, ctx):  # keep registration order, not alphabetical
        return list(self.commands)

    def format_help(self, ctx, formatter):
        console.out(root_help(ctx.find_root().command))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PaasError as exc:
            console.error(exc.message, exc.hint)
            sys.exit(exc.exit_code)

    def resolve_command(self, ctx, args):
        # `paas config` alone lists the namespace, like `paas help config`.
        if args and args[0] in NAMESPACES and args[0] not in self.commands:
            args = ["help", args[0], *args[1:]]
        return super().resolve_command(ctx, args)


def root_help(group) -> str:
    lines = [
        f"paas {__version__}: git push to deploy on a server you own",
        "",
        "Usage: paas COMMAND [ARGS]...    paas help NAMESPACE    paas COMMAND --help",
        "",
        "Namespaces:",
    ]
    present = {namespace_of(name) for name in group.commands}
    width = max(len(n) for n in NAMESPACES)
    for namespace, text in NAMESPACES.items():
        if namespace in present:
            lines.append(f"  {namespace.ljust(width)}  {text}")
    lines += ["", "Options:", "  --version  Show the version and exit", "  --help     Show this message and exit"]
    return "\n".join(lines)


def namespace_help(group, namespace: str) -> str:
    commands = [
        (name, cmd) for name, cmd in group.commands.items()
        if namespace_of(name) == namespace and not cmd.hidden
    ]
    if not commands:
        known = ", ".join(NAMESPACES)
        raise InvalidInput(f"no namespace {namespace!r}; namespaces: {known}")
    width = max(len(_usage(name, cmd)) for name, cmd in commands)
    lines = [f"{namespace}: {NAMESPACES.get(namespace, '')}", ""]
    for name, cmd in commands:
        lines.append(f"  {_usage(name, cmd).ljust(width)}  {cmd.get_short_help_str(limit=70)}")
    return "\n".join(lines)


def _usage(name: str, cmd) -> str:
    parts = [name]
    for param in cmd.params:
        if isinstance(param, TyperArgument):
            meta = param.metavar or param.name.upper()
            if param.nargs == -1 and "..." not in meta:
                meta += "..."
            parts.append(meta if param.required or meta.startswith("[") else f"[{meta}]")
    return " ".join(parts)


def _version(value: bool) -> None:
    if value:
        console.out(f"paas {__version__}")
        raise typer.Exit()


def make_app() -> typer.Typer:
    """The root typer app's settings (introspect.group_for makes one-command copies)."""
    return typer.Typer(
        cls=PaasGroup,
        add_completion=False,
        no_args_is_help=True,
        context_settings={"help_option_names": ["--help", "-h"]},
        pretty_exceptions_enable=False,
    )


app = make_app()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Show the version")
    ] = None,
) -> None:
    """paas: git push to deploy on a server you own."""


@app.command("help")
def help_command(ctx: typer.Context, namespace: Annotated[Optional[str], typer.Argument()] = None) -> None:
    """Show namespaces, or the commands of NAMESPACE."""
    group = ctx.find_root().command
    console.out(root_help(group) if namespace is None else namespace_help(group, namespace))


# Shared option types -------------------------------------------------------------

AppArg = Annotated[str, typer.Argument(help="The app's name", metavar="APP")]
Format = Annotated[str, typer.Option("--format", help="Output format: text or json")]
Global = Annotated[bool, typer.Option("--global", help="The global defaults, not an app's")]


def check_format(fmt: str, allowed=("text", "json")) -> str:
    if fmt not in allowed:
        raise InvalidInput(f"unknown format {fmt!r}: use {' or '.join(allowed)}")
    return fmt


def app_or_global(app: str | None, is_global: bool) -> str | None:
    """Commands that take APP or --global: exactly one of them."""
    if is_global and app:
        raise InvalidInput("give either an APP or --global, not both")
    if not is_global and not app:
        raise InvalidInput("give an APP, or --global for the defaults every app inherits")
    return None if is_global else app


def timestamp(epoch: float | None) -> str:
    if epoch is None:
        return ""
    import datetime

    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")

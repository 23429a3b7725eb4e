"""logs, run and enter."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from paas import apps, names, releases
from paas.cli.base import AppArg, app
from paas.errors import InvalidInput, NotFound


@app.command("logs")
def logs(
    app_name: AppArg,
    tail: Annotated[bool, typer.Option("-t", "--tail", help="Keep following, across deploys")] = False,
    lines: Annotated[int, typer.Option("-n", "--num", min=0, help="Lines of history, all containers together")] = 100,
    process: Annotated[Optional[str], typer.Option("--ps", help="Only this process type")] = None,
) -> None:
    """App logs, every container merged and prefixed `web.1 |`."""
    from paas import access, identity
    from paas import logs as app_logs

    app_id = apps.get(app_name).id
    if process is not None:
        names.process_type(process)
    actor = identity.current()
    app_logs.show(app_name, follow=tail, lines=lines, process=process,
                  still_allowed=lambda: access.still_allowed(actor, "logs", app_name, app_id))


@app.command("run", context_settings={"allow_interspersed_args": False})
def run(
    app_name: AppArg,
    command: Annotated[list[str], typer.Argument(metavar="-- CMD...")],
    env: Annotated[Optional[list[str]], typer.Option("--env", "-e", help="KEY=VALUE for this run")] = None,
) -> None:
    """Run a one-off command in a new container of the current release; its exit code is ours."""
    from paas import config as config_vars
    from paas.runtime import oneoff

    apps.get(app_name)
    release = releases.current(app_name)
    if release is None:
        raise NotFound(f"{app_name} is not deployed", hint="push or run paas deploy first")
    leading_env, command = _split_env_options(list(command))
    if not command:
        raise InvalidInput("give the command to run after --, for example: paas run APP -- ls")
    assignments = [*(env or []), *leading_env]
    extra = config_vars.parse_assignments(assignments) if assignments else {}
    from paas import deploy
    from paas.runtime import scheduler

    # What an earlier run killed with -9 left running goes now, not at the next deploy.
    scheduler.stop_all(deploy.orphaned_one_offs(app_name), 0)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    code = oneoff.run_attached(app_name, release, list(command), extra, tty)
    raise typer.Exit(code)


def _split_env_options(words: list[str]) -> tuple[list[str], list[str]]:
    """`-e K=V` / `--env K=V` / `--env=K=V` given after APP, then the command (after an
    optional `--`). Option parsing stops at APP so that the command keeps its own options."""
    env: list[str] = []
    while words:
        word = words[0]
        if word in ("-e", "--env"):
            if len(words) < 2:
                raise InvalidInput(f"{word} needs KEY=VALUE")
            env.append(words[1])
            words = words[2:]
        elif word.startswith("--env="):
            env.append(word[len("--env="):])
            words = words[1:]
        elif word.startswith("-e") and "=" in word:  # -eK=V, as click reads it before APP
            env.append(word[2:])
            words = words[1:]
        else:
            break
    if words[:1] == ["--"]:
        words = words[1:]
    return env, words


@app.command("enter", context_settings={"allow_interspersed_args": False})
def enter(
    app_name: AppArg,
    target: Annotated[str, typer.Argument(metavar="[TYPE.N]")] = "web.1",
    command: Annotated[Optional[list[str]], typer.Argument(metavar="[CMD...]")] = None,
) -> None:
    """Open a shell (or run CMD) inside a running container."""
    import shutil
    import subprocess

    from paas import deploy

    apps.get(app_name)
    process, _, index = target.partition(".")
    if not index.isdigit():
        raise InvalidInput(f"{target!r} is not TYPE.N, for example web.1")
    match = [c for c in deploy.serving_containers(app_name) if c.process == process and c.index == int(index)]
    if not match:
        raise NotFound(f"{app_name} has no running {target}", hint=f"see them with: paas ps:report {app_name}")
    docker = shutil.which("docker")
    if docker is None:
        raise NotFound("the docker CLI is not installed")
    command = list(command or [])
    if command[:1] == ["--"]:
        command = command[1:]
    flags = ["-i", "-t"] if sys.stdin.isatty() else ["-i"]
    raise typer.Exit(subprocess.call([docker, "exec", *flags, match[0].id, *(command or ["/bin/sh"])]))

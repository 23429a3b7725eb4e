"""The laptop side: run a paas command on a server over SSH (paramiko), like OpenSSH would.

Remote mode starts when `--remote NAME`, PAAS_REMOTE or PAAS_HOST is given, or when the
current git repo has a remote named `paas`. The app comes from `-a/--app` or that remote.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from paas.errors import InvalidInput, PaasError

LOCAL_ONLY = {"server", "help"}
DEFAULT_REMOTE = "paas"


@dataclass(frozen=True)
class Target:
    """A server as the remote names it. `user`/`port` are None when the remote leaves them out:
    ~/.ssh/config may set them, as it does for `git push` (ssh_client.endpoint)."""

    user: str | None
    host: str
    port: int | None
    app: str | None


def parse_remote_url(url: str) -> Target | None:
    """`ssh://user@host:port/app(.git)` or scp-like `user@host:app(.git)`."""
    match = re.fullmatch(r"ssh://(?:([^@/]+)@)?([^@:/]+)(?::(\d{1,5}))?/([^/]+?)(?:\.git)?/?", url)
    if match:
        user, host, port, app = match.groups()
        if port and not 1 <= int(port) <= 65535:
            return None
        return Target(user, host, int(port) if port else None, app)
    match = re.fullmatch(r"(?:([^@/:]+)@)?([^@:/]+):([^/]+?)(?:\.git)?", url)
    if match:
        user, host, app = match.groups()
        return Target(user, host, None, app)
    return None


def _git_remote_url(name: str) -> str | None:
    # A plain `git config` call: ~2 ms, where importing gitpython would cost 50.
    try:
        result = subprocess.run(
            ["git", "config", "--get", f"remote.{name}.url"],
            capture_output=True, text=True, timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _pop_option(args: list[str], *flags: str) -> str | None:
    for i, word in enumerate(args):
        for flag in flags:
            if word == flag and i + 1 < len(args):
                value = args[i + 1]
                del args[i : i + 2]
                return value
            if word.startswith(flag + "=") and flag.startswith("--"):
                del args[i]
                return word.split("=", 1)[1]
        if word == "--":
            break
    return None


def command_word(args: list[str]) -> str:
    """The paas command in `args` (its first word that is not an option), or ''."""
    return next((a for a in args if not a.startswith("-")), "")


def target_for(args: list[str]) -> Target | None:
    """Decide whether this invocation runs on a server; mutates args to drop client options."""
    if os.environ.get("PAAS_LOCAL") == "1":
        return None
    command = command_word(args)
    if not command or command.split(":")[0] in LOCAL_ONLY:
        return None
    remote_name = _pop_option(args, "--remote") or os.environ.get("PAAS_REMOTE")
    app_override = _pop_option(args, "-a", "--app")
    host = os.environ.get("PAAS_HOST")
    target = None
    if remote_name or not host:
        url = _git_remote_url(remote_name or DEFAULT_REMOTE)
        if url:
            target = parse_remote_url(url)
            if target is None:
                raise InvalidInput(f"git remote {remote_name or DEFAULT_REMOTE!r} ({url}) is not an SSH remote")
        elif remote_name:
            raise InvalidInput(f"no git remote named {remote_name!r} in this directory")
    if target is None and host:
        user, _, hostport = host.rpartition("@")
        hostname, _, port = hostport.partition(":")
        target = Target(user or None, hostname, int(port) if port else None, None)
    if target is None:
        if app_override:  # no server to talk to: `-a APP` still names the app locally
            insert_app(args, app_override)
        return None
    # The server puts the app in place (it knows which commands take one): the laptop
    # never has to import the CLI, which would cost it a third of its start-up.
    return Target(target.user, target.host, target.port, app_override or target.app)


def words_to_send(target: Target, args: list[str]) -> list[str]:
    words = inline_local_files(args)
    return ["--app", target.app, *words] if target.app else words


def apply_app_option(words: list[str]) -> list[str]:
    """Server side of `words_to_send`: a leading `--app APP` (or `-a APP`, `--app=APP`)
    becomes the command's APP argument. Only in front: further on, `-a` belongs to the
    command (`run APP -- grep -a x`)."""
    if words[:1] in (["--app"], ["-a"]) and len(words) > 1:
        app = words[1]
        del words[:2]
    elif words and words[0].startswith("--app="):
        app = words.pop(0).split("=", 1)[1]
    else:
        return words
    if app and words:
        insert_app(words, app)
    return words


def insert_app(args: list[str], app: str) -> None:
    """Put APP right after the command if that command takes an app first."""
    from paas.cli.introspect import takes_app

    if "--global" in (args[: args.index("--")] if "--" in args else args):
        return  # the global defaults: the command's first word after it is a KEY, not an APP
    for i, word in enumerate(args):
        if not word.startswith("-"):
            if takes_app(word):
                args.insert(i + 1, app)
            return


def inline_local_files(args: list[str]) -> list[str]:
    """`config:set K=@path` names a file on this laptop: send its content, not its path."""
    if not args or args[0] != "config:set":
        return args
    result = []
    for word in args:
        key, sep, value = word.partition("=")
        if sep and value.startswith("@") and not value.startswith("@@") and value not in ("@", "@-"):
            try:
                content = Path(value[1:]).read_bytes().decode("utf-8")  # byte-exact, like the server's reader
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInput(f"cannot read {value[1:]}: {exc}") from None
            # A value that itself starts with '@' must not be read as a path on the server.
            word = f"{key}={'@' + content if content.startswith('@') else content}"
        result.append(word)
    return result


def run(target: Target, args: list[str]) -> int:
    from paas.ssh_client import run_remote

    try:
        return run_remote(target, shlex.join(words_to_send(target, args)), command_word(args))
    except PaasError as exc:
        from paas import console

        console.error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130

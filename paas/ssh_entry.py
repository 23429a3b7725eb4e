"""The SSH door: sshd's forced command for every key (`paas.ssh_entry KEYNAME`).

SSH_ORIGINAL_COMMAND is split without a shell and only two things are accepted: git
pack commands on an app repo, and paas commands. Anything else is refused with a clear
message, a non-zero exit and an audit entry; nothing of it is executed.
"""

from __future__ import annotations

# A push's entry only hands itself to the deploy server (deploy_server.run_entry): what it
# imports before that is on every push's path, so the rest is imported where it is used.
import os
import sys

MAX_COMMAND = 64 * 1024
GIT_COMMANDS = {"git-receive-pack", "git-upload-pack"}
EXIT_REFUSED = 13
# Commands that run until the client goes away: they must stop when it does.
FOLLOW_CLIENT = {"run", "logs", "events", "enter"}


def _refuse(actor: str, original: str, reason: str, code: int = EXIT_REFUSED, app: str | None = None) -> int:
    from paas import console, events

    console.error(reason)
    events.record(actor, app, _audit_words(original), f"refused: {reason}"[:300])
    return code


def _audit_words(original: str) -> list[str]:
    """What the audit keeps of a command: redacted words, or only its verb if unparsable."""
    import shlex

    try:
        words = shlex.split(original) if len(original) <= MAX_COMMAND else []
    except ValueError:
        words = []
    if words:
        return words
    verb = original.split(None, 1)[0][:60] if original.strip() else ""
    return [verb, "(unparsed)"] if verb else ["(empty)"]


def _stop_with_client() -> None:
    """Without a pty, sshd does not signal a forced command when its client leaves; it only
    closes the other end of our stdout. Watch for that, then end this session's process
    group (the `docker run` of `paas run` included)."""
    import select
    import signal
    import threading

    if not os.environ.get("SSH_CONNECTION") or os.getpgrp() != os.getsid(0):
        return  # not a session sshd started for us
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # POLLERR/POLLHUP only: the reading end is gone
        while True:
            for _, event in poller.poll():
                if event & (select.POLLERR | select.POLLHUP):
                    os.killpg(os.getpgrp(), signal.SIGTERM)
                    return

    threading.Thread(target=watch, name="client-watch", daemon=True).start()


def repo_app(path_word: str) -> str:
    """`'myapp.git'`, `/myapp`, `~/myapp.git` -> myapp (validated; nothing can escape repos/)."""
    from paas import names

    app = path_word
    for prefix in ("~/", "/"):
        if app.startswith(prefix):
            app = app[len(prefix):]
    if app.endswith(".git"):
        app = app[:-4]
    return names.app_name(app)


def main(argv: list[str] | None = None) -> int:
    import shlex

    argv = sys.argv[1:] if argv is None else argv
    from paas import identity, keys, names
    from paas.errors import PaasError

    try:
        key = names.key_name(argv[0] if argv else "")
    except PaasError:
        print(" !     paas: this key is not set up correctly (no key name)", file=sys.stderr)
        return EXIT_REFUSED
    role = keys.role_of(key)
    if role is None:
        return _refuse(key, "", "this key is no longer authorised")
    identity.set_current(identity.Actor(name=key, role=role, via_ssh=True))
    from paas import console

    console.survive_closed_output()  # a client that leaves must not cut a command mid-way
    original = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    if len(original) > MAX_COMMAND:
        return _refuse(key, original, f"command refused: longer than {MAX_COMMAND // 1024} KiB")
    if "\x00" in original:
        return _refuse(key, original, "command refused: it contains a NUL byte")
    try:
        words = shlex.split(original)
    except ValueError as exc:
        return _refuse(key, original, f"command refused: cannot parse it ({exc})")
    if words and words[0] not in GIT_COMMANDS:
        from paas import remote

        remote.apply_app_option(words)  # the laptop client's leading `--app APP`
    if not words:  # plain `ssh paas@host`: the help, through the same path as any command
        words = ["help"]
    if words[0] in GIT_COMMANDS:
        return git_command(key, original, words)
    return paas_command(key, original, words)


def git_command(key: str, original: str, words: list[str]) -> int:
    import contextlib
    import subprocess

    from paas import access, apps, events, gitrepo, identity, settings
    from paas.errors import Conflict, PaasError

    if len(words) != 2:
        return _refuse(key, original, f"command refused: {words[0]} takes exactly one repo")
    try:
        app = repo_app(words[1])
    except PaasError as exc:
        return _refuse(key, original, f"command refused: {exc.message}")
    actor = identity.current()
    try:
        if apps.find(app) is None:
            if words[0] == "git-upload-pack":
                from paas.errors import AccessDenied

                raise AccessDenied(f"you have no access to app {app!r}")  # same as for a hidden app
            if settings.get("apps", None, "autocreate") != "true":
                raise PaasError(f"app {app!r} does not exist and autocreate is off; an admin can run apps:create {app}")
            try:
                apps.create(app, owner=actor.name)
            except Conflict:  # another first push created it a moment ago: its owner decides
                access.check(actor, "git:push", app, [])
        else:
            access.check(actor, "git:push", app, [])
        gitrepo.ensure(app)
    except PaasError as exc:
        return _refuse(key, original, exc.message, exc.exit_code)
    from paas import locks, paths

    # One push per app at a time, from the ref advertisement to the ref update: the hook
    # deploys, so a second push must see what the first one left (or be told to fetch first).
    serial = locks.hold(f"{app}.push", f"pushes to {app}") if words[0] == "git-receive-pack" else contextlib.nullcontext()
    with serial:
        if words[0] == "git-receive-pack":
            from paas import handoff

            code, hook_code = handoff.run_receive_pack([words[0], str(paths.repo(app))])
        else:
            code, hook_code = subprocess.call([words[0], str(paths.repo(app))]), None
    if code == 0 and hook_code:  # receive-pack succeeds when its hook declines the push
        outcome = f"declined (pre-receive hook exit {hook_code})"
    else:
        outcome = "ok" if code == 0 else f"exit {code}"
    events.record(key, app, [words[0], app], outcome)
    return code


def paas_command(key: str, original: str, words: list[str]) -> int:
    import re

    from paas import access, events, identity
    from paas.cli.introspect import command as find_command, group_for, requires_app, takes_app
    from paas.errors import PaasError

    name = words[0]
    if name.startswith("-") or find_command(name) is None or name in ("server:up", "server:down"):
        return _refuse(key, original, f"command refused: {name[:60]!r} is not a paas command (try: help)")
    app = words[1] if takes_app(name) and len(words) > 1 and re.fullmatch(r"[a-z][a-z0-9-]*", words[1]) else None
    if requires_app(name) and app is None and not ("--global" in words):
        if not (len(words) > 1 and words[1] in ("--help", "-h")):
            # Access is decided on the word after the command, so options come after APP.
            return _refuse(key, original, f"{name}: give the app's name right after the command "
                                          f"({name} APP ...), or -a APP from the laptop client")
    try:
        access.check(identity.current(), name, app, words)
    except PaasError as exc:
        return _refuse(key, original, exc.message, exc.exit_code, app=app)
    if name in FOLLOW_CLIENT:
        _stop_with_client()
    code = 0
    try:
        result = group_for(name).main(args=words, prog_name="paas", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except PaasError as exc:
        from paas import console

        console.error(exc.message, exc.hint)
        code = exc.exit_code
    except Exception as exc:  # typer's own usage errors and anything unexpected
        code = _report_unexpected(exc)
    events.record(key, app, words, "ok" if code == 0 else f"exit {code}")
    return code


def _report_unexpected(exc: Exception) -> int:
    from paas import console

    exit_code = getattr(exc, "exit_code", None)
    if hasattr(exc, "format_message"):
        console.error(exc.format_message())
        return exit_code if isinstance(exit_code, int) else 2
    console.error(f"internal error: {exc.__class__.__name__}: {exc}")
    return 1


def _run(argv: list[str]) -> int:
    """sshd's forced command. The deploy server runs the entry when one answers (its child has
    everything below loaded); this process runs what it may not, and what no server took, and
    then starts one for the commands that follow."""
    if not _for_deploy_server(os.environ.get("SSH_ORIGINAL_COMMAND", "")):
        return main(argv)
    from paas import deploy_server

    code = deploy_server.run_entry(argv)
    if code is None:
        code = main(argv)
        if code != EXIT_REFUSED:  # a refused command starts nothing
            _start_deploy_server()
    return code


def _for_deploy_server(original: str) -> bool:
    """Whether a deploy server's child may run this command: anything but a session with a
    terminal, or a command that follows its client until it leaves (logs -t, run…: those end
    with their SSH session's process group), or one whose first word is not a plain name. The
    laptop client's leading `--app APP` (remote.apply_app_option) is looked past."""
    if os.environ.get("SSH_TTY"):
        return False
    words = original.split()
    if words[:1] in (["--app"], ["-a"]):
        words = words[2:]
    elif words and words[0].startswith("--app="):
        words = words[1:]
    first = words[0] if words else "help"
    plain = first[:1].isalpha() and all(c.isalnum() or c in ":-" for c in first)
    return plain and first not in FOLLOW_CLIENT


def _start_deploy_server() -> None:
    """A server for the commands that follow, unless `git:set --global deploy-server-idle 0`
    turns it off (one running from before ends at its next look, within 30 s). Never fails the
    command it follows."""
    from paas import console, deploy_server, settings

    try:
        idle = int(settings.get("git", None, "deploy-server-idle"))
        if idle:
            deploy_server.start(idle)
    except Exception as exc:  # the command is done; later ones load paas's code themselves
        console.warn(f"the deploy server could not be started: {exc}")


if __name__ == "__main__":
    sys.exit(_run(sys.argv[1:]))

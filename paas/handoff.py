"""A push's deploy runs in the SSH entry, which loads the deploy code while git receives the pack
(with a deploy server, that entry is itself run by a child that has it loaded: deploy_server.py).

The pre-receive hook is a fresh Python that would spend ~0.15 s importing the deploy, the
Docker SDK and Jinja before its first step. The SSH entry is already running for the whole
push and sits idle while `git-receive-pack` takes the pack in. So it loads that code then,
on the other core, and the hook hands its deploy over instead of loading it again:

    ssh_entry --(socketpair end, fd named in PAAS_HANDOFF_FD)--> git-receive-pack --> hook
    hook: sends its stdin/stdout/stderr (SCM_RIGHTS), cwd and environment, waits for a code
    ssh_entry: runs `hook.pre_receive()` on those descriptors, answers with its exit code

Only descendants of the SSH entry inherit the socket, so nothing else can reach it. The
hook deploys by itself when there is no socket (pushes that did not come through the SSH
entry), or when the hand-over cannot be sent.
"""

from __future__ import annotations

import os
import select
import socket
import stat
import sys

# The hook imports this module at the start of every push's deploy, while the pusher waits:
# it keeps to what the hook's side needs (no json, subprocess, typing or contextlib: 15 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from typing import Callable

ENV = "PAAS_HANDOFF_FD"
_MAX_REQUEST = 1 << 20  # the environment of a hook or an SSH session: far below this


def load_deploy_code() -> None:
    """Load the code a deploy runs. Imports only: a push to another branch must not wait
    on dockerd, and the deploy itself reports what is really wrong."""
    import contextlib

    with contextlib.suppress(Exception):
        import jinja2  # noqa: F401  (Dockerfile and nginx templates)

        import paas.build.builder  # noqa: F401
        import paas.deploy  # noqa: F401
        from paas.runtime import docker_api

        docker_api.sdk()


def run_receive_pack(argv: list[str], run_hook: Callable[[], int] | None = None) -> tuple[int, int | None]:
    """Run git-receive-pack (argv) and serve its pre-receive hook's hand-over. Returns its exit
    code (0 also when the hook declined the push: git tells the pusher) and the hook's, if it
    ran here."""
    import subprocess

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours:
        try:
            process = subprocess.Popen(argv, pass_fds=(theirs.fileno(),),
                                       env={**os.environ, ENV: str(theirs.fileno())})
        finally:
            theirs.close()  # receive-pack holds its own copy
        hook_code = None
        try:
            load_deploy_code()
            if _wait_for_request(ours, process):
                hook_code = _serve(ours, run_hook or _pre_receive)
        finally:  # whatever happened here, receive-pack finishes under the push lock
            code = process.wait()
    return code, hook_code


def _pre_receive() -> int:
    from paas import hook

    return hook.pre_receive()


def _wait_for_request(sock: socket.socket, process: subprocess.Popen) -> bool:
    """True when the hook asks; False when receive-pack ended without running it."""
    try:
        exited = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfd: look again every 50 ms
        exited = None
    try:
        while True:
            watched = [sock] + ([exited] if exited is not None else [])
            ready, _, _ = select.select(watched, [], [], None if exited is not None else 0.05)
            if sock in ready:
                return True
            if (exited is not None and exited in ready) or process.poll() is not None:
                return False
    finally:
        if exited is not None:
            os.close(exited)


def _serve(sock: socket.socket, run_hook: Callable[[], int]) -> int | None:
    """Run the hook's request; the exit code it was answered with (None: no request came)."""
    return serve_request(sock, lambda message: (*decode_request(message), run_hook))


def serve_request(sock: socket.socket, unpack: Callable[[bytes], tuple]) -> int | None:
    """Take one request on `sock`: a message and the caller's stdin, stdout and stderr. Run
    what `unpack(message)` gives, (cwd, env, function), as the caller (`run_as_caller`), and
    answer with its exit code; that code, or None when no request came. Serves the hook's
    hand-over here, and an SSH entry's in a deploy server's child."""
    import contextlib

    try:
        message, fds, flags, _ = socket.recv_fds(sock, _MAX_REQUEST, 3)
    except OSError:
        return None
    if not message or len(fds) != 3:  # the caller went away, or sent something else
        for fd in fds:
            os.close(fd)
        return None
    code = 1
    try:
        if flags & socket.MSG_TRUNC:  # cut short: a part of the environment would be missing
            raise ValueError(f"the environment handed over is larger than {_MAX_REQUEST // 2**20} MiB")
        cwd, env, run = unpack(message)
        code = run_as_caller(fds, cwd, env, run)
    except Exception as exc:  # a request we cannot act on (its repo gone, say): the push fails
        with contextlib.suppress(OSError):
            os.write(fds[2], f" !     paas could not run the deploy: {exc}\n".encode())
    finally:
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):  # the caller may be gone: its code no longer matters
            sock.send(str(code).encode())
    return code


def run_as_caller(fds: list[int], cwd: str, env: dict[str, str], run_hook: Callable[[], int]) -> int:
    """Run `run_hook` here as if this process were the caller that sent these: its stdio, cwd and
    env (the hook's, or with the deploy server an SSH entry's); everything is put back after."""
    import contextlib

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved_fds = [os.dup(n) for n in (0, 1, 2)]
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        for n, fd in enumerate(fds):
            os.dup2(fd, n)
        os.environ.clear()
        os.environ.update({key: value for key, value in env.items() if key != ENV})
        os.chdir(cwd)
        try:
            return run_hook()
        except BaseException as exc:  # noqa: BLE001 (even a SystemExit must get an answer)
            from paas import console

            console.error(f"internal error: {exc.__class__.__name__}: {exc}")
            return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for n, fd in enumerate(saved_fds):  # our own stdio back: the hook's pipes may close
            os.dup2(fd, n)
            os.close(fd)
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)


def hand_over() -> int | None:
    """In the hook: have the SSH entry run this hook; its exit code, or None to run it here."""
    sock = _inherited_socket()
    if sock is None:
        return None
    with sock:
        request = encode_request(os.getcwd(), dict(os.environb))
        try:
            socket.send_fds(sock, [request], [0, 1, 2])
        except OSError:
            return None  # nobody took it: nothing ran, deploy here
        return exit_code_from(sock, "the deploy stopped before it said how it ended; see: paas releases APP")


def exit_code_from(sock: socket.socket, ended_without_one: str) -> int:
    """The exit code the side that took a request answers with once it has run it; 1, with
    `ended_without_one` on stderr, when it ended without one."""
    try:
        answer = sock.recv(16)
    except OSError:
        answer = b""
    if not answer.strip().lstrip(b"-").isdigit():
        print(f" !     {ended_without_one}", file=sys.stderr)
        return 1
    return int(answer)


def encode_request(cwd: str, env: dict[bytes, bytes]) -> bytes:
    """The hook's cwd and environment: NUL-separated, as the kernel keeps them (neither holds a
    NUL; a variable's name holds no '=')."""
    # An entry without a name ("=x", which only a raw execve can make) could not be set again.
    return b"\0".join([os.fsencode(cwd), *(key + b"=" + value for key, value in env.items() if key)])


def decode_request(message: bytes) -> tuple[str, dict[str, str]]:
    cwd, *variables = message.split(b"\0")
    env = {}
    for variable in variables:
        key, sep, value = variable.partition(b"=")
        if not sep or not key:
            raise ValueError("a malformed hand-over")
        env[os.fsdecode(key)] = os.fsdecode(value)
    return os.fsdecode(cwd), env


def _inherited_socket() -> socket.socket | None:
    value = os.environ.get(ENV, "")
    if not value.isdigit():
        return None
    fd = int(value)
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return None
        sock = socket.socket(fileno=fd)
    except OSError:
        return None
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_SEQPACKET:
        sock.detach()
        return None
    return sock

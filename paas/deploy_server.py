"""The deploy server: one resident process per PAAS_ROOT with the deploy code loaded, which
forks a child for each push, so no push waits for Python to import that code.

A deploy needs the Docker SDK, Jinja and paas's deploy modules: about 0.2 s of imports. Without
this server the SSH entry imports them while git-receive-pack takes the pack in (handoff.py),
and on a 2-core host they still end about 70 ms after the hook asks. With it:

    ssh_entry --connect run/deploy.sock--> deploy server --fork--> child (code loaded already)
    ssh_entry: sends who pushes, waits for the child's "ready", then gives the connection to
               git-receive-pack in place of handoff's socketpair (PAAS_HANDOFF_FD)
    hook:      hands its deploy over on it, exactly as to the SSH entry
    child:     runs the deploy on the hook's stdio, answers the hook, then the entry

Like a Gradle or Bazel server it is started by a client that found none: that push deploys the
old way, and the entry starts a server for the pushes that follow. It holds about 35 MB, so it
does not stay for good: it ends `git:set --global deploy-server-idle SECONDS` after the last push
(default 1800; 0: no server, every push loads the code itself), when the code it loaded changes
on disk (a paas upgrade: the next push starts a fresh one), when its socket is removed or
replaced (PAAS_ROOT deleted), or on SIGTERM (`server:down`). Only its own user can connect: its
folder is private (0700) and each peer's uid is checked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path

from paas import paths

READY = b"ready"
STALE = b"stale"
ANSWER_WAIT = 3.0  # seconds a client waits for a child's "ready"
IDLE_LOOK = 30.0  # at most this many seconds between looks at the idle time and the socket
LOCK_WAIT = 10.0  # a new server waits this long for an old one to let go
PACKAGE = Path(__file__).resolve().parent


def socket_path() -> Path:
    return paths.run() / "deploy.sock"


def _pid_path() -> Path:
    return paths.run() / "deploy-server.pid"


# The SSH entry's side ---------------------------------------------------------------------------


def connect(actor, idle: float) -> socket.socket | None:
    """A connection to a ready child of the deploy server, for one push by `actor`; None when
    no server answers (the push deploys through the entry; `start()` one for the next). The
    server stays `idle` seconds after this push (the setting as it is now)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        sock.settimeout(ANSWER_WAIT)
        sock.connect(str(socket_path()))
        sock.send(_encode_request(actor, idle))
        answer = sock.recv(16)
    except OSError:  # none listening, or it did not answer in time
        answer = b""
    if answer != READY:
        sock.close()
        return None
    sock.settimeout(None)
    return sock


def start(idle: float) -> None:
    """Start a deploy server that stays `idle` seconds, in the background; return at once. One
    that finds another holding the server lock waits for it to end, or leaves."""
    import subprocess

    env = {key: value for key, value in os.environ.items() if not key.startswith("SSH_") and key != "PAAS_HANDOFF_FD"}
    with open(paths.sub("logs") / "deploy-server.log", "ab") as log:
        subprocess.Popen([sys.executable, "-m", "paas.deploy_server", f"{idle:g}"], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=log, env=env, cwd="/", start_new_session=True)


def _encode_request(actor, idle: float) -> bytes:
    return b"\0".join([actor.name.encode(), actor.role.encode(), b"1" if actor.via_ssh else b"0",
                       f"{idle:g}".encode()])


def _decode_request(message: bytes):
    """(who pushes, seconds the server stays after this push)."""
    from paas import identity

    name, role, via_ssh, idle = message.split(b"\0")
    return identity.Actor(name=name.decode(), role=role.decode(), via_ssh=via_ssh == b"1"), float(idle)


# server:status / server:down --------------------------------------------------------------------


def running_pid() -> int | None:
    """The pid of this PAAS_ROOT's deploy server, if one runs."""
    from paas import procs

    try:
        pid = int(_pid_path().read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if procs.running(pid) and b"paas.deploy_server" in procs.command_line(pid) else None


def stop() -> bool:
    """SIGTERM to the deploy server; deploys its children are running finish. Whether one ran."""
    pid = running_pid()
    if pid is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    return True


# The server ------------------------------------------------------------------------------------


def code_fingerprint(package: Path = PACKAGE) -> int:
    """Changes when the code on disk does: each module's size and mtime, and the mtime of the
    folder pip installs into (an upgrade of a dependency adds and removes folders there)."""
    import sysconfig

    seen = []
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                seen.append((folder, name, info.st_size, info.st_mtime_ns))
    with contextlib.suppress(OSError):
        seen.append(("site-packages", os.stat(sysconfig.get_paths()["purelib"]).st_mtime_ns))
    return hash(tuple(seen))


def serve(idle: float) -> int:
    """Run the deploy server of PAAS_ROOT until it has been `idle` seconds without a push, its
    code changes, its socket goes, or SIGTERM."""
    lock = _take_server_lock()
    if lock is None:
        return 0  # another server runs and stays: nothing to do
    from paas import handoff

    handoff.load_deploy_code()
    loaded = code_fingerprint()
    path = socket_path()
    path.unlink(missing_ok=True)  # a dead server's: the lock says none runs
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    ours = os.stat(path).st_ino
    _pid_path().write_text(f"{os.getpid()}\n")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    last_push = time.monotonic()
    try:
        while True:
            left = last_push + idle - time.monotonic()
            if left <= 0 or not _still_ours(path, ours):
                return 0
            listener.settimeout(min(IDLE_LOOK, left))
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                request = _read_request(conn)
                if request is None:
                    continue
                if code_fingerprint() != loaded:  # paas changed under us: a fresh server loads it
                    with contextlib.suppress(OSError):
                        conn.send(STALE)
                    return 0
                actor, idle = request  # the setting as the entry read it: a change counts at once
                last_push = time.monotonic()
                try:
                    forked = os.fork()
                except OSError:  # no memory or pids left: this push deploys through its entry
                    continue
                if forked == 0:
                    _child(conn, actor, listener, lock)  # never returns
    finally:
        listener.close()
        if _still_ours(path, ours):
            path.unlink(missing_ok=True)
            _pid_path().unlink(missing_ok=True)


def _read_request(conn: socket.socket):
    """(actor, idle) from a client of our own user, or None (a stranger, silence, garbage)."""
    if _peer_uid(conn) != os.getuid():
        return None
    try:
        conn.settimeout(ANSWER_WAIT)  # the entry sends it with its connect: it is there
        return _decode_request(conn.recv(4096))
    except (OSError, ValueError):
        return None


def _take_server_lock():
    """The open lock file, held (exclusive) for the server's life; None if another holds it
    past LOCK_WAIT."""
    handle = open(paths.run() / "deploy-server.lock", "a")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                return None
            time.sleep(0.05)


def _still_ours(path: Path, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _peer_uid(conn: socket.socket) -> int:
    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def _child(conn: socket.socket, actor, listener: socket.socket, lock) -> None:
    """One push: say ready, run the hook's deploy when it asks, answer the hook and the entry."""
    code = 0
    try:
        listener.close()
        lock.close()  # the server's lock ends with the server, not with its last deploy
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the deploy waits for its own children
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from paas import console, handoff, identity

        identity.set_current(actor)
        conn.settimeout(None)
        conn.send(READY)
        console.survive_closed_output()  # a pusher's Ctrl-C must not cut a deploy mid-switch
        answered = handoff.serve_hook(conn)
        if answered is not None:  # the hook took one answer; this one is the entry's
            with contextlib.suppress(OSError):
                conn.send(str(answered).encode())
    except BaseException:  # noqa: BLE001 (a child must never return into the server's loop)
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(serve(float(sys.argv[1])))

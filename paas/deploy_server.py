"""The deploy server: one resident process per PAAS_ROOT with paas's code loaded, which forks
a child to run each SSH command's entry, so no push (nor `ssh HOST apps:list`) waits for
Python to import that code.

A push's SSH entry, its deploy, the Docker SDK and Jinja are about 0.25 s of imports. Without
this server the entry imports its own part before it starts git-receive-pack, then the rest
while git receives the pack (handoff.py), and on a 2-core host those end about 75 ms after the
hook asks. With it:

    sshd ─▶ python -m paas.ssh_entry KEY   (imports nothing of paas's checks, CLI or deploy)
             └─ connects to run/deploy.sock, says which paas it runs ─▶ deploy server: "stale"
                (another paas, or its code changed on disk) or fork ─▶ child: "ready"
             └─ sends its argv, cwd, environment, stdin/stdout/stderr (SCM_RIGHTS), waits
    child:  runs ssh_entry.main on them, exactly as the entry would (key, access, the command:
            receive-pack, the hook's hand-over to it, the deploy), then answers with the exit code

The entry gives up (and runs the command itself) only before it sent its request, and the
child waits for the request without a deadline that could pass while it is on its way, so a
command runs exactly once. Sessions with a terminal, and commands that follow their client
until it leaves (`logs -t`, `run`, `enter`, `events -t`), stay in their own entry: they end
with their SSH session's process group (ssh_entry._for_deploy_server).

Like a Gradle or Bazel server it is started by a client that found none: that command runs in
its own entry, which then starts a server for the ones that follow. It holds about 35 MB, so it
does not stay for good: it ends `git:set --global deploy-server-idle SECONDS` after the last
command (default 1800; 0: no server), when the code it loaded changes on disk or an entry runs
another paas (an upgrade: it answers "stale", and that command starts a fresh one), when its
socket is removed or replaced (PAAS_ROOT deleted), or on SIGTERM (`server:down`). Only its own
user can connect: the socket is 0600 in a 0700 folder, and each peer's uid is checked.
"""

from __future__ import annotations

import os
import socket
import sys

READY = b"ready"
STALE = b"stale"
PROTOCOL_NAME = b"paas-entry-"
PROTOCOL = PROTOCOL_NAME + b"1"
ANSWER_WAIT = 3.0  # seconds an entry waits for "ready" (then it runs the push itself)
REQUEST_WAIT = 3600.0  # a child waits this long for the request that follows "ready"
IDLE_LOOK = 30.0  # at most this many seconds between looks at the idle time and the socket
LOG_LIMIT = 1 << 20  # the server's log is started afresh beyond this
_KEPT_ENV = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "TZ")  # a server's own environment, besides
# PAAS_*, PYTHON* and DOCKER_*: nothing of the SSH session that started it (its LANG, LC_*)



def socket_path() -> str:
    """ROOT/run/deploy.sock, without importing paths (and pathlib) on a push's way in."""
    root = os.path.abspath(os.environ.get("PAAS_ROOT") or "/var/lib/paas")
    return os.path.join(root, "run", "deploy.sock")


class _Address:
    """An address bind/connect take for `path`: the path itself, or, when it is longer than a
    unix socket's address may be (108 bytes), the same file through /proc/self/fd/N."""

    def __init__(self, path: str):
        self.path, self._folder = path, None

    def __enter__(self) -> str:
        if len(os.fsencode(self.path)) < 100:
            return self.path
        self._folder = os.open(os.path.dirname(self.path), os.O_PATH | os.O_DIRECTORY)
        return f"/proc/self/fd/{self._folder}/{os.path.basename(self.path)}"

    def __exit__(self, *_) -> None:
        if self._folder is not None:
            os.close(self._folder)


def _hello() -> bytes:
    """Which paas an entry or a server runs (its code's folder, its environment's prefix: a
    virtualenv, whichever of its python/python3 names ran it): one of another is told "stale"."""
    return b"\0".join([PROTOCOL, os.fsencode(os.path.realpath(os.path.dirname(__file__))),
                       os.fsencode(os.path.realpath(sys.prefix))])


# The SSH entry's side ---------------------------------------------------------------------------


def run_entry(argv: list[str]) -> int | None:
    """Have a child of the deploy server run this SSH entry (ssh_entry.main(argv)) on our stdio,
    cwd and environment; its exit code. None when no server took it: nothing ran, run it here."""
    from paas import handoff

    request = _encode_request(argv, os.getcwd(), dict(os.environb))  # ready before "ready" comes
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as sock:
        try:
            sock.settimeout(ANSWER_WAIT)
            with _Address(socket_path()) as address:
                sock.connect(address)
            sock.send(_hello())
            if sock.recv(16) != READY:  # stale, refused, or gone
                return None
            socket.send_fds(sock, [request], [0, 1, 2])
        except OSError:  # none listening or answering, or the request was not taken: nothing ran
            return None
        # From here the child runs the entry: it must never run here as well.
        sock.settimeout(None)
        return handoff.exit_code_from(sock, "paas: the deploy server stopped before it said how this ended; "
                                            "see logs/deploy-server.log under PAAS_ROOT on the server")


def _encode_request(argv: list[str], cwd: str, env: dict[bytes, bytes]) -> bytes:
    """argv's length, argv, then the hook hand-over's cwd and environment; NUL-separated."""
    from paas import handoff

    return b"\0".join([str(len(argv)).encode(), *(os.fsencode(a) for a in argv), handoff.encode_request(cwd, env)])


def _decode_request(message: bytes) -> tuple[list[str], str, dict[str, str]]:
    from paas import handoff

    count, _, rest = message.partition(b"\0")
    parts = rest.split(b"\0", int(count))
    if len(parts) != int(count) + 1:
        raise ValueError("a malformed request")
    cwd, env = handoff.decode_request(parts[-1])
    return [os.fsdecode(a) for a in parts[:-1]], cwd, env


def start(idle: int) -> None:
    """Start a deploy server that stays `idle` seconds after the last command, in the background;
    return at once. One that finds another holding the server lock leaves."""
    import subprocess

    from paas import paths

    env = {key: value for key, value in os.environ.items()
           if key in _KEPT_ENV or (key.startswith(("PAAS_", "PYTHON", "DOCKER_")) and key != "PAAS_HANDOFF_FD")}
    env["LANG"] = "C.UTF-8"  # every push's output is UTF-8, whoever's session started the server
    log = paths.sub("logs") / "deploy-server.log"
    if log.exists() and log.stat().st_size > LOG_LIMIT:
        os.replace(log, log.with_name(log.name + ".1"))
    with open(log, "ab") as handle:
        subprocess.Popen([sys.executable, "-m", "paas.deploy_server", str(idle)], stdin=subprocess.DEVNULL,
                         stdout=handle, stderr=handle, env=env, cwd="/", start_new_session=True)


# server:status / server:down --------------------------------------------------------------------


def _pid_path():
    from paas import paths

    return paths.run() / "deploy-server.pid"


def running_pid() -> int | None:
    """The pid of this PAAS_ROOT's deploy server, if one runs (a pid file of a server killed
    with -9 names a process gone, or since reused: its start time tells)."""
    from paas import procs

    try:
        identity = _pid_path().read_text().strip()
    except OSError:
        return None
    pid = identity.partition(".")[0]
    if not pid.isdigit() or procs.gone(identity) or not procs.running(int(pid)):
        return None
    return int(pid) if b"paas.deploy_server" in procs.command_line(int(pid)) else None


def stop() -> bool:
    """SIGTERM to the deploy server; pushes its children are running finish. Whether one ran."""
    import signal

    pid = running_pid()
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


# The server ------------------------------------------------------------------------------------


def code_fingerprint(package: str | None = None) -> int:
    """Changes when the code on disk does: each module's size and mtime, and the mtime of the
    folder pip installs into (an upgrade of a dependency adds and removes folders there)."""
    import sysconfig

    package = package or os.path.dirname(os.path.abspath(__file__))
    seen: list[tuple] = []
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                seen.append((folder, name, info.st_size, info.st_mtime_ns))
    try:
        seen.append(("site-packages", os.stat(sysconfig.get_paths()["purelib"]).st_mtime_ns))
    except OSError:
        pass
    return hash(tuple(seen))


def serve(idle: int) -> int:
    """Run the deploy server of PAAS_ROOT until it has been `idle` seconds without a command (the
    setting, looked at again every IDLE_LOOK at most), its code changes, its socket goes, or SIGTERM."""
    import signal
    import time

    from paas import procs

    lock = _take_server_lock()
    if lock is None:
        return 0  # another server runs and stays: nothing to do
    _load_code()
    loaded, hello = code_fingerprint(), _hello()
    path = socket_path()
    if os.path.lexists(path):
        os.unlink(path)  # a dead server's: the lock says none runs
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with _Address(path) as address:
        listener.bind(address)
    os.chmod(path, 0o600)
    listener.listen(64)
    ours, server = os.stat(path).st_ino, os.getpid()
    _pid_path().write_text(procs.identity() + "\n")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    # A SIGTERM that reaches a child before it resets this must not run the server's clean-up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0) if os.getpid() == server else os._exit(143))
    last_push = last_look = time.monotonic()
    try:
        while True:
            if last_push + idle <= time.monotonic() or not _still_ours(path, ours):
                return 0
            listener.settimeout(min(IDLE_LOOK, last_push + idle - time.monotonic()))
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                conn = None
            # The setting, looked at again when idle, and every IDLE_LOOK however busy the server
            # is (lowered, raised or turned off since); never in a PAAS_ROOT removed, whose
            # database reading it would make again.
            if (conn is None or time.monotonic() - last_look >= IDLE_LOOK) and _still_ours(path, ours):
                idle, last_look = _idle_setting(idle), time.monotonic()
            if conn is None:
                continue
            with conn:
                theirs = _hello_of(conn)
                if theirs is None:
                    continue
                # An entry of another paas (a new install), our code changed on disk, or the
                # server turned off: this server ends, and that entry runs its command itself
                # (and starts a server of its own, unless turned off).
                if theirs != hello or code_fingerprint() != loaded or not idle:
                    _send_quietly(conn, STALE)
                    return 0
                last_push = time.monotonic()
                try:
                    forked = os.fork()
                except OSError:  # no memory or pids left: this push runs in its own entry
                    continue
                if forked == 0:
                    _child(conn, listener, lock)  # never returns
    finally:
        if os.getpid() == server:
            listener.close()
            if _still_ours(path, ours):
                os.unlink(path)
                _pid_path().unlink(missing_ok=True)


def _hello_of(conn: socket.socket) -> bytes | None:
    """The hello of an SSH entry of our own user; None for anyone or anything else."""
    if _peer_uid(conn) != os.getuid():
        return None
    try:
        conn.settimeout(ANSWER_WAIT)
        theirs = conn.recv(4096)
    except OSError:
        return None
    return theirs if theirs.startswith(PROTOCOL_NAME) else None


def _load_code() -> None:
    """Everything an SSH entry runs: its checks, the CLI's commands, the deploy (handoff)."""
    from paas import access, apps, events, gitrepo, handoff, identity, keys, locks, names, settings, ssh_entry  # noqa: F401
    from paas.cli import introspect

    introspect.group()  # every command, built once here rather than by each child
    handoff.load_deploy_code()


def _idle_setting(current: int) -> int:
    """git:set --global deploy-server-idle as stored now; `current` if it cannot be read. The
    connection is closed again: none may be open when the server forks."""
    from paas import paths, settings, store

    if not os.path.exists(os.path.join(paths.root(), "paas.db")):  # opening it would make it
        return current
    try:
        return int(settings.get("git", None, "deploy-server-idle"))
    except Exception:  # noqa: BLE001 (a locked or damaged database must not end the server)
        return current
    finally:
        store.reset_connections()


def _take_server_lock():
    """The open lock file, held (exclusive) for the server's life; None if another server (or
    one still ending) holds it: this one leaves at once, so none is left waiting to take over
    after a `server:down`. The next command that finds no server starts one."""
    import fcntl

    from paas import paths

    handle = open(paths.run() / "deploy-server.lock", "a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _still_ours(path: str, inode: int) -> bool:
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


def _peer_uid(conn: socket.socket) -> int:
    import struct

    _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return uid


def _send_quietly(conn: socket.socket, message: bytes) -> None:
    try:
        conn.send(message)
    except OSError:
        pass


def _child(conn: socket.socket, listener: socket.socket, lock) -> None:
    """One command: say ready, take the entry's request, run ssh_entry.main on it, answer."""
    code = 0
    try:
        import signal

        from paas import handoff, ssh_entry

        listener.close()
        lock.close()  # the server's lock ends with the server, not with its last push
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the push waits for its own children
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            conn.send(READY)
        except OSError:  # the entry gave up before it sent its request: it runs the command itself
            return
        conn.settimeout(REQUEST_WAIT)

        def unpack(message: bytes):
            argv, cwd, env = _decode_request(message)
            return cwd, env, lambda: ssh_entry.main(argv)

        handoff.serve_request(conn, unpack)  # no request (the entry gave up): nothing ran
    except BaseException:  # noqa: BLE001 (a child must never return into the server's loop)
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


if __name__ == "__main__":
    # Run as paas.deploy_server, not as __main__: one copy of this module in the server, the
    # one the code its children run imports by that name.
    from paas import deploy_server

    sys.exit(deploy_server.serve(int(sys.argv[1])))

"""The laptop client's transport: paramiko, configured the way OpenSSH would be.

Host keys are checked against ~/.ssh/known_hosts (unknown hosts are refused); keys come
from the agent or ~/.ssh. Output streams live, the remote exit code is returned, a pty is
requested when we are on a terminal (interactive `run`), and Ctrl-C stops the remote side.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import termios
import tty
from dataclasses import dataclass
from pathlib import Path

from paas.errors import AccessDenied, ServiceUnavailable

INTERACTIVE = {"run", "enter"}


def _import_paramiko():
    # paramiko.config imports `invoke` (with asyncio and unittest.mock: 40 ms, a tenth of a
    # round trip) only for ssh_config's `Match exec`, which this client never reads. None in
    # sys.modules makes that import fail at once, which paramiko handles.
    sys.modules.setdefault("invoke", None)
    import paramiko

    return paramiko


DEFAULT_USER = "paas"
DEFAULT_PORT = 22


@dataclass(frozen=True)
class Endpoint:
    user: str
    host: str
    port: int
    identities: tuple[str, ...]
    proxy_command: str | None


def endpoint(target, config_path: Path | None = None) -> Endpoint:
    """Where to connect, as OpenSSH would for `git push`: the remote's own user and port win,
    then the matching Host entries of ~/.ssh/config (HostName, Port, User, IdentityFile,
    ProxyCommand), then paas@host:22."""
    path = config_path or Path(os.environ.get("PAAS_SSH_CONFIG", Path.home() / ".ssh" / "config"))
    found = {}
    if path.is_file():
        found = _import_paramiko().SSHConfig.from_path(str(path)).lookup(target.host)
    return Endpoint(
        user=target.user or found.get("user") or DEFAULT_USER,
        host=found.get("hostname") or target.host,
        port=target.port or int(found.get("port") or DEFAULT_PORT),
        identities=tuple(found.get("identityfile") or ()),
        proxy_command=found.get("proxycommand"),
    )


def _socket(paramiko, where: Endpoint):
    if where.proxy_command:
        return paramiko.ProxyCommand(where.proxy_command)
    sock = socket.create_connection((where.host, where.port), timeout=15)
    # Without it each small request (open a channel, exec) waits out the peer's delayed
    # ACK: 40 ms per round trip, as OpenSSH knows (it sets TCP_NODELAY too).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _connect(target):
    paramiko = _import_paramiko()

    client = paramiko.SSHClient()
    known = Path(os.environ.get("PAAS_KNOWN_HOSTS", Path.home() / ".ssh" / "known_hosts"))
    if known.exists():
        client.load_host_keys(str(known))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    where = endpoint(target)
    identity = os.environ.get("PAAS_SSH_KEY")
    keys = [identity] if identity else [k for k in where.identities if Path(k).exists()]
    try:
        client.connect(
            where.host, port=where.port, username=where.user, key_filename=keys or None,
            allow_agent=identity is None, look_for_keys=identity is None, timeout=15,
            sock=_socket(paramiko, where),
        )
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            raise ServiceUnavailable(
                f"the host key of {where.host}:{where.port} is not in {known}",
                hint=f"check it, then add it: ssh -p {where.port} {where.user}@{where.host} (answer yes)",
            ) from None
        if isinstance(exc, paramiko.AuthenticationException):
            raise AccessDenied(f"{where.user}@{where.host} refused every key we offered") from None
        raise ServiceUnavailable(f"ssh to {where.host}:{where.port} failed: {exc}") from None
    except OSError as exc:
        raise ServiceUnavailable(f"cannot reach {where.host}:{where.port}: {exc.strerror or exc}") from None
    return client


def run_remote(target, command: str, name: str) -> int:
    """Run `command` (a paas command line; `name` is its command word) and return its exit code."""
    client = _connect(target)
    try:
        channel = client.get_transport().open_session()
        interactive = sys.stdin.isatty() and sys.stdout.isatty() and name in INTERACTIVE
        if interactive:
            size = os.get_terminal_size()
            channel.get_pty(term=os.environ.get("TERM", "xterm"), width=size.columns, height=size.lines)
        channel.exec_command(command)
        return _pump(channel, interactive)
    finally:
        client.close()


def _pump(channel, interactive: bool) -> int:
    stdin_fd = sys.stdin.fileno() if sys.stdin and not sys.stdin.closed else None
    saved = None
    if interactive and stdin_fd is not None:
        saved = termios.tcgetattr(stdin_fd)
        tty.setraw(stdin_fd)
    stdin_open = stdin_fd is not None and not (not interactive and sys.stdin.isatty())
    previous = signal.getsignal(signal.SIGINT)

    interrupted = False

    def interrupt(signum, frame):
        # On a pty, ^C reaches the remote command as SIGINT. Otherwise the loop below closes
        # the channel (closing it here would pull its fd from under select(): EBADF).
        nonlocal interrupted
        interrupted = True
        if interactive:
            try:
                channel.send(b"\x03")
            except Exception:
                pass

    signal.signal(signal.SIGINT, interrupt)
    try:
        while True:
            if interrupted and not interactive:
                channel.close()
                return 130
            readers = [channel] + ([stdin_fd] if stdin_open else [])
            ready, _, _ = select.select(readers, [], [], 0.5)
            if channel in ready or channel.recv_ready() or channel.recv_stderr_ready():
                while channel.recv_ready():
                    os.write(sys.stdout.fileno(), channel.recv(32768))
                while channel.recv_stderr_ready():
                    os.write(sys.stderr.fileno(), channel.recv_stderr(32768))
            if stdin_open and stdin_fd in ready:
                data = os.read(stdin_fd, 32768)
                if data:
                    channel.sendall(data)
                else:
                    channel.shutdown_write()
                    stdin_open = False
            if channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            if channel.closed and not channel.recv_ready():
                break
        return channel.recv_exit_status() if channel.exit_status_ready() else 130
    finally:
        signal.signal(signal.SIGINT, previous)
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)

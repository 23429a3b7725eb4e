"""Processes as Linux's /proc shows them: whether one runs, and its children.

`kill(pid, 0)` is not enough: a killed daemon that nobody reaped (no init in a container)
stays a zombie and still answers it.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first, then the parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def running(pid: int | None) -> bool:
    """Alive and not a zombie."""
    return bool(pid) and parent_and_start(pid) is not None


def left_behind(pid_text: str) -> bool:
    """Whether `pid_text` (a pid a command put in a folder's name) names another process
    that is gone: what that folder holds was left by a command killed mid-way."""
    return pid_text.isdigit() and int(pid_text) != os.getpid() and not running(int(pid_text))


def parent_and_start(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process: with both, a pid reused by
    a new process is not mistaken for the one seen before."""
    fields = _stat_fields(pid)
    if not fields or fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])


def identity(pid: int | None = None) -> str:
    """"PID.START" of a live process (this one by default): names it even after its pid is reused."""
    pid = os.getpid() if pid is None else pid
    seen = parent_and_start(pid)
    return f"{pid}.{seen[1] if seen else 0}"


def gone(identity_text: str) -> bool:
    """Whether the process `identity` named has ended (its pid dead, or now another's)."""
    pid, _, start = identity_text.partition(".")
    if not pid.isdigit() or not start.isdigit():
        return False  # not ours to judge
    seen = parent_and_start(int(pid))
    if seen is not None:
        return seen[1] != int(start)
    if _stat_fields(int(pid)) is not None:
        return True  # a zombie: it has ended
    # /proc may hide other users' processes (hidepid): only a signal tells then.
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False  # alive, but its start time is not ours to read: trust it


def command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == pid:
                kids.add(int(entry.name))
    return kids

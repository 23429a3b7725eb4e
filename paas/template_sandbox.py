"""Render an app's own Jinja template (its nginx.conf.j2) with limits on time, memory and size.

Jinja's sandbox keeps a template away from Python's internals, but not from loops of
10^10 steps or `"x" * 10**10`. Such a template, rendered in the command that switches
routes (holding the router lock) or in `ps:restore --all` at boot, would hold up every
app. So it renders in a forked child with a CPU and memory cap, and the parent stops
waiting after a few seconds.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import time

from paas.errors import InvalidInput

SECONDS = 5
MEMORY = 256 * 2**20  # on top of what the process already maps
MAX_OUTPUT = 1 * 2**20


def render(template: str, variables: dict) -> str:
    """The rendered text, or InvalidInput saying what went wrong (the template's own error,
    too slow, too big)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid == 0:  # the child: render, write, leave without running anything of the parent's
        status = 1
        try:
            os.close(read_end)
            _limit_self()
            try:
                payload = b"ok\0" + env.from_string(template).render(**variables).encode("utf-8", "replace")
            except MemoryError:
                payload = b"memory\0"
            except Exception as exc:  # the template's own error (1/0 included), never a crash here
                payload = b"error\0" + str(exc).encode("utf-8", "replace")
            with os.fdopen(write_end, "wb") as out:
                out.write(payload[:MAX_OUTPUT + 16])
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        payload = _read_until(read_end, time.monotonic() + SECONDS)
    finally:
        os.close(read_end)
        _reap(pid)
    if payload is None:
        raise InvalidInput(f"nginx.conf.j2 took longer than {SECONDS} s to render")
    kind, _, body = payload.partition(b"\0")
    if kind == b"ok":
        if len(body) > MAX_OUTPUT:
            raise InvalidInput(f"nginx.conf.j2 renders to more than {MAX_OUTPUT // 2**20} MiB")
        return body.decode("utf-8")
    if kind == b"error":
        raise InvalidInput(f"nginx.conf.j2 does not render: {body.decode('utf-8', 'replace')}")
    if kind == b"memory":
        raise InvalidInput(f"nginx.conf.j2 needs more than {MEMORY // 2**20} MiB to render")
    # The child ended without a word: its CPU or memory cap ended it.
    raise InvalidInput(f"nginx.conf.j2 could not render within {SECONDS} s and {MEMORY // 2**20} MiB")


def _limit_self() -> None:
    # One second more than the parent waits: a slow template is normally told so by the parent.
    resource.setrlimit(resource.RLIMIT_CPU, (SECONDS + 1, SECONDS + 2))
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + MEMORY, mapped + MEMORY))


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes until it closes the pipe; None if that takes past `deadline`."""
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_OUTPUT + 16:
            return b"".join(chunks)


def _reap(pid: int) -> None:
    """The child is done or late: make sure it is gone, and not left a zombie."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass

"""One lock per app (and one for the router), held with flock.

A holder that dies releases its lock with its file descriptor, so a crashed deploy never
blocks the next one; a live holder makes the next command wait a bounded time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import Iterator

from paas import paths
from paas.errors import LockTimeout, ServiceUnavailable

DEFAULT_WAIT = float(os.environ.get("PAAS_LOCK_TIMEOUT", "600"))


_held: set[str] = set()  # locks this process holds: taking one again is a no-op, not a deadlock
_unrecovered: set[str] = set()  # locks whose clean-up after a dead holder could not run: their note stays


@contextlib.contextmanager
def hold(name: str, what: str, wait: float | None = None, shared: bool = False) -> Iterator[bool]:
    """Hold lock `name`; `shared` holders (readers) may hold it together, never with another.

    Yields whether the last exclusive holder died holding it (killed mid-way: its note is still
    there, as every holder that lets go clears it), so the caller can clean up after it."""
    if name in _held:  # e.g. config:set holds the app's lock around the release it makes
        yield False
        return
    wait = DEFAULT_WAIT if wait is None else wait
    path = paths.locks() / f"{name}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    raise LockTimeout(
                        f"{what} is busy: {holder} has held it for over {wait:.0f}s",
                        hint="wait for it to finish, then try again",
                    ) from None
                time.sleep(0.1)
        died_holding = False
        if not shared:  # shared holders would overwrite each other's note
            died_holding = bool(os.pread(fd, 200, 0).strip())
            # Ours over the dead holder's, then cut to length: a note is there at every moment,
            # so a kill (or a full disk) right here still leaves the next holder its clean-up.
            note = f"pid {os.getpid()}".encode()
            os.pwrite(fd, note, 0)
            os.ftruncate(fd, len(note))
        _held.add(name)
        try:
            yield died_holding
        finally:
            _held.discard(name)
            # A waiter must not name us once we are gone (shared holders write no note). A
            # holder whose clean-up after a dead one failed leaves it, so the next one tries again.
            if not shared and name not in _unrecovered:
                os.ftruncate(fd, 0)
            _unrecovered.discard(name)
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    """Who holds the lock, as its holder noted: "pid N" while that process lives."""
    note = os.pread(fd, 200, 0).decode(errors="replace").strip()
    pid = note.removeprefix("pid ")
    if pid.isdigit():
        from paas import procs

        if procs.running(int(pid)):
            return note
    return "another command"


def recover_later(app: str) -> None:
    """The app lock's note stays when this holder lets go: the next command on the app runs
    deploy.recover first (for a failure whose own undo could not finish)."""
    _unrecovered.add(f"app-{app}")


@contextlib.contextmanager
def app_lock(app: str, wait: float | None = None, revive: bool = True) -> Iterator[None]:
    """The app's lock. On entry, if its last holder died holding it (a command killed mid-way),
    what it left is put right first (deploy.recover): a half-done release is marked failed,
    its containers stop, and the route is redrawn from what serves. `revive=False` (ps:stop,
    apps:destroy): no container is started again only to be stopped."""
    if f"app-{app}" in _held:
        yield
        return
    with hold(f"app-{app}", f"app {app}", wait) as died_holding:
        from paas import releases

        if releases.fail_abandoned(app) or died_holding:
            from paas import deploy

            try:
                deploy.recover(app, revive=revive)
            except (ServiceUnavailable, LockTimeout, KeyboardInterrupt):
                # dockerd down, nginx busy, or the user gave up waiting: the next command
                # recovers. Any other failure would fail every later command the same way,
                # a push of a fix included.
                recover_later(app)
                raise
        yield


def image_store(removing: bool, wait: float | None = None):
    """Builds share the image store; removing images takes it alone. Apps share cached layers,
    and removing another app's last image during a build takes a layer the build is using
    ("unknown parent image ID"). Nothing else is locked while this is held."""
    return hold("images", "the image store", wait, shared=not removing)


def router_lock():
    return hold("router", "the router", 120)

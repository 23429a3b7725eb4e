"""Who is running this command: an SSH key (set by the SSH entry) or the local user."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    role: str  # "admin" or "user"
    via_ssh: bool


_current: Actor | None = None


def set_current(actor: Actor) -> None:
    global _current
    _current = actor


def current() -> Actor:
    if _current is not None:
        return _current
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    # Whoever can run paas locally can read PAAS_ROOT, so is an admin by construction.
    return Actor(name=f"local:{user}", role="admin", via_ssh=False)

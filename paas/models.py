"""Plain data passed between layers. Frozen: a value never changes behind your back."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class App:
    id: int
    name: str
    owner: str | None
    created_at: float
    stopped: bool = False  # by ps:stop: ps:restore leaves it so
    named_at: float | None = None  # since when it has this name (created, or renamed)


@dataclass(frozen=True)
class Release:
    id: int
    app_id: int
    version: int
    status: str  # building | failed | pending | live | retired
    description: str
    image: str | None
    image_id: str | None
    git_sha: str | None
    buildpack: str | None
    processes: dict[str, str]
    app_json: dict
    config: dict[str, str]
    author: str | None
    created_at: float

    @classmethod
    def from_row(cls, row) -> "Release":
        return cls(
            id=row["id"],
            app_id=row["app_id"],
            version=row["version"],
            status=row["status"],
            description=row["description"],
            image=row["image"],
            image_id=row["image_id"],
            git_sha=row["git_sha"],
            buildpack=row["buildpack"],
            processes=json.loads(row["processes"]),
            app_json=json.loads(row["app_json"]),
            config=json.loads(row["config"]),
            author=row["author"],
            created_at=row["created_at"],
        )

    @property
    def tag(self) -> str:
        return f"v{self.version}"


@dataclass(frozen=True)
class RunningContainer:
    """A container as Docker reports it, read from its labels."""

    id: str
    name: str
    app: str
    process: str
    index: int
    release: int
    role: str
    state: str  # running | exited | created | restarting | dead
    address: str | None = None
    port: int | None = None
    started_at: str | None = None
    created: str | None = None  # Docker's creation time, RFC 3339 in UTC
    launched_at: float | None = None  # time.monotonic() when this process asked Docker to start it
    owner: str | None = None  # one-offs: the command waiting on it ("PID.START", procs.identity)

    @property
    def created_key(self) -> str:
        """`created` as text that sorts in time order."""
        return stamp_sort_key(self.created or "")

    @property
    def started_epoch(self) -> float | None:
        """When Docker last started it, in seconds since the epoch; None if it never started
        (Docker then says year 1) or the time is unreadable."""
        if not self.started_at or self.started_at.startswith("0001"):
            return None
        return stamp_epoch(self.started_at)


def stamp_sort_key(stamp: str) -> str:
    """A Docker time (RFC 3339 in UTC) as text that sorts in time order: Docker trims the
    fraction's trailing zeros, so it is padded back to nanoseconds."""
    whole, _, fraction = stamp.removesuffix("Z").partition(".")
    return f"{whole}.{fraction.ljust(9, '0')}"


def stamp_epoch(stamp: str) -> float | None:
    """A Docker time in seconds since the epoch (None if unreadable)."""
    try:
        return datetime.datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True)
class ContainerSpec:
    """What to start: the scheduler turns this into a container."""

    app: str
    process: str
    index: int
    release: int
    image: str
    command: str | None
    env: dict[str, str]
    port: int | None
    memory: str | None = None
    cpus: float | None = None
    role: str = "process"


@dataclass(frozen=True)
class Plan:
    start: tuple[ContainerSpec, ...] = ()
    stop: tuple[RunningContainer, ...] = ()
    keep: tuple[RunningContainer, ...] = ()


@dataclass(frozen=True)
class HealthCheck:
    process: str
    path: str = "/"
    port: int | None = None
    attempts: int = 20
    timeout: float = 5.0
    wait: float = 0.25
    # Waits start here and double up to `wait`: a fast app is seen up within ~20 ms of its
    # first answer, a slow one is not probed more often. None: every wait is `wait`.
    first_wait: float | None = None
    initial_delay: float = 0.0
    content: str | None = None
    kind: str = "http"  # http | uptime
    # The highest status that passes. A declared check names a path that must exist: a 4xx
    # there is a typo or a missing route. The default check only asks that the app answers
    # without a 5xx (its / may well be a 404).
    max_status: int = 399


@dataclass(frozen=True)
class Route:
    app: str
    hosts: tuple[str, ...]
    upstreams: tuple[str, ...]  # "ip:port"
    options: dict = field(default_factory=dict)

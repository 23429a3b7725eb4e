"""Namespaced properties (dokku's `*:set APP key value`), per app with global defaults.

Every property is declared here with its default and validator, so `checks:set`,
`ps:set`, `nginx:set`, `builder:set`, `git:set` and `apps:set` share one code path and
nothing unvalidated reaches a container, a build or an nginx config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Callable

from paas import apps, names, store
from paas.errors import InvalidInput

GLOBAL = 0


def _int_range(lo: int, hi: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(r"[0-9]+", value) or not lo <= int(value) <= hi:
            raise InvalidInput(f"expected a whole number from {lo} to {hi}, got {value!r}")
        return str(int(value))
    return check


def _seconds(hi: float, lo: float = 0) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", value) or not lo <= float(value) <= hi:
            raise InvalidInput(f"expected seconds from {lo:g} to {hi:g}, got {value!r}")
        return value
    return check


AUTO = "auto"


def _seconds_or_auto(hi: float) -> Callable[[str], str]:
    seconds = _seconds(hi)

    def check(value: str) -> str:
        if value == AUTO:
            return value
        try:
            return seconds(value)
        except InvalidInput:
            raise InvalidInput(f"expected seconds from 0 to {hi:g} or {AUTO}, got {value!r}") from None
    return check


def _size(value: str) -> str:
    if not re.fullmatch(r"[1-9][0-9]{0,5}[kmg]?", value.lower()):
        raise InvalidInput(f"expected a size like 512m or 2g, got {value!r}")
    return value.lower()


_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}
MIN_MEMORY = 6 * 2**20  # Docker refuses a container memory limit below 6 MB


def size_in_bytes(value: str) -> int:
    """A size these validators accepted (512m, 2g, 4096), in bytes."""
    return int(value.rstrip("kmg")) * _UNITS.get(value[-1], 1)


def _memory(value: str) -> str:
    value = _size(value)
    if size_in_bytes(value) < MIN_MEMORY:
        raise InvalidInput(f"expected at least 6m of memory (Docker's smallest limit), got {value!r}")
    return value


def _cpus(value: str) -> str:
    if not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,2})?", value) or float(value) <= 0:
        raise InvalidInput(f"expected a number of CPUs like 0.5 or 2, got {value!r}")
    return value


def _container_cpus(value: str) -> str:
    # Docker refuses a container more CPUs than the host has (a build is pinned to at most all).
    available = os.cpu_count() or 1
    if float(_cpus(value)) > available:
        raise InvalidInput(f"this host has {available} CPUs; a limit of {value} cannot be given")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in options:
            raise InvalidInput(f"expected one of {', '.join(options)}, got {value!r}")
        return value
    return check


def _bool(value: str) -> str:
    lowered = value.lower()
    if lowered in ("true", "yes", "1", "on"):
        return "true"
    if lowered in ("false", "no", "0", "off"):
        return "false"
    raise InvalidInput(f"expected true or false, got {value!r}")


def _branch(value: str) -> str:
    """A branch name git accepts (git check-ref-format --branch), written the short way."""
    parts = value.split("/")
    if (not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}", value) or ".." in value or value == "HEAD"
            or parts[0] == "refs" or value.endswith(".")
            or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)):
        raise InvalidInput(f"invalid branch name {value!r}", hint="a branch as git names it, like main or release/2")
    return value


def _process_list(value: str) -> str:
    if value == "":
        return value
    for item in value.split(","):
        names.process_type(item)
    return value


@dataclass(frozen=True)
class Property:
    namespace: str
    key: str  # may contain "<process>." as a prefix pattern, see `per_process`
    default: str
    validate: Callable[[str], str]
    help: str
    per_process: bool = False
    host_wide: bool = False  # only with --global: nothing per app reads it


PROPERTIES: list[Property] = [
    # The settle time, counted from when the container has started (scheduler.settle_time).
    # "auto" depends on what else shows the container booted: an HTTP check it passed, or
    # nothing (a worker). Per type: `checks:set APP worker.wait 3`.
    Property("checks", "wait", AUTO, _seconds_or_auto(600),
             "seconds every new container must stay up (auto: 0.1 with an HTTP check, else 1)",
             per_process=True),
    Property("checks", "wait-to-retire", "2", _seconds(3600), "seconds old containers drain before SIGTERM"),
    Property("checks", "attempts", "300", _int_range(1, 3000), "health probe attempts, about 0.1 s apart"),
    Property("checks", "timeout", "5", _seconds(600, lo=0.1), "seconds per health probe"),
    Property("checks", "disabled", "", _process_list, "process types whose checks are off"),
    Property("checks", "skipped", "", _process_list, "process types whose checks are skipped"),
    Property("ps", "stop-timeout", "10", _int_range(0, 3600), "seconds between SIGTERM and SIGKILL"),
    Property("ps", "strategy", "start-first", _choice("start-first", "stop-first"),
             "start-first (new up, then old down) or stop-first", per_process=True),
    Property("ps", "restart-policy", "unless-stopped",
             _choice("unless-stopped", "always", "on-failure", "no"), "Docker restart policy"),
    Property("resource", "memory", "", lambda v: v and _memory(v), "memory limit", per_process=True),
    Property("resource", "cpus", "", lambda v: v and _container_cpus(v), "CPU limit", per_process=True),
    Property("nginx", "client-max-body-size", "10m", _size, "largest request body"),
    Property("nginx", "proxy-read-timeout", "60", _int_range(1, 86400), "seconds to wait for the app"),
    Property("nginx", "proxy-connect-timeout", "5", _int_range(1, 600), "seconds to connect"),
    Property("nginx", "proxy-send-timeout", "60", _int_range(1, 86400), "seconds to send a request"),
    Property("builder", "memory", "2g", _memory, "memory cap of build containers"),
    Property("builder", "cpus", "2", _cpus, "CPU cap of build containers"),
    Property("git", "deploy-branch", "main", _branch, "the branch whose pushes deploy"),
    # deploy_server.py: a resident process (~35 MB) that saves each push ~0.1 s of imports.
    Property("git", "deploy-server-idle", "1800", _int_range(0, 604800),
             "seconds the deploy server stays after the last SSH command (0: none)", host_wide=True),
    Property("apps", "autocreate", "true", _bool, "create apps on first git push"),
    Property("domains", "global", "", lambda v: v and names.domain(v), "apps answer at APP.DOMAIN"),
    Property("buildpacks", "name", "", lambda v: v and names.process_type(v), "buildpack override"),
    Property("stack", "image", "", lambda v: v, "image every buildpack builds FROM"),
]


def find_property(namespace: str, key: str) -> tuple[Property, str]:
    """Returns the property and the key as stored (process prefix kept)."""
    for prop in PROPERTIES:
        if prop.namespace != namespace:
            continue
        if prop.key == key:
            return prop, key
        if prop.per_process and key.endswith("." + prop.key):
            names.process_type(key[: -len(prop.key) - 1])
            return prop, key
    known = ", ".join(
        ("TYPE." if p.per_process else "") + p.key for p in PROPERTIES if p.namespace == namespace
    )
    raise InvalidInput(f"unknown {namespace} property {key!r}; known: {known}")


def _scope(app: str | None) -> int:
    return GLOBAL if app is None else apps.get(app).id


def set_value(namespace: str, app: str | None, key: str, value: str | None) -> None:
    """Set (or with value None/"" reset to default) one property."""
    set_values(namespace, app, [(key, value)])


def set_values(namespace: str, app: str | None, pairs: list[tuple[str, str | None]]) -> Callable[[], None]:
    """Set several properties (None or "" resets one): all of them, or, when one is refused,
    none. Returns an undo: it puts back what each key held, unless another command has
    changed that key since."""
    scope = _scope(app)
    checked = []
    for key, value in pairs:
        prop, key = find_property(namespace, key)
        if prop.host_wide and app is not None:
            raise InvalidInput(f"{key} is set for the whole host, not per app",
                               hint=f"paas {namespace}:set --global {key} VALUE")
        checked.append((key, None if value in (None, "") else prop.validate(value)))
    with store.transaction() as db:  # read and written in one go: BEGIN IMMEDIATE
        stored = _stored(scope, namespace)
        before = {key: stored.get(key) for key, _ in checked}
        _write(db, scope, namespace, checked)
    after = dict(checked)

    def undo() -> None:
        with store.transaction() as db:
            now = _stored(scope, namespace)
            _write(db, scope, namespace, [(k, v) for k, v in before.items() if now.get(k) == after[k]])
    return undo


def _write(db, scope: int, namespace: str, items: list[tuple[str, str | None]]) -> None:
    for key, value in items:
        if value is None:
            db.execute("DELETE FROM settings WHERE app_id = ? AND namespace = ? AND key = ?", (scope, namespace, key))
        else:
            db.execute(
                "INSERT INTO settings (app_id, namespace, key, value) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (app_id, namespace, key) DO UPDATE SET value = excluded.value",
                (scope, namespace, key, value),
            )


def _stored(scope: int, namespace: str) -> dict[str, str]:
    rows = store.query(
        "SELECT key, value FROM settings WHERE app_id = ? AND namespace = ?", (scope, namespace)
    )
    return {r["key"]: r["value"] for r in rows}


def get(namespace: str, app: str | None, key: str, process: str | None = None) -> str:
    """The effective value: app (per process, then plain) over global over the default."""
    prop, _ = find_property(namespace, key)
    candidates = []
    if process and prop.per_process:
        candidates.append(f"{process}.{key}")
    candidates.append(key)
    scopes = ([apps.get(app).id] if app else []) + [GLOBAL]
    for scope in scopes:
        stored = _stored(scope, namespace)
        for candidate in candidates:
            if candidate in stored:
                return stored[candidate]
    return prop.default


def report(namespace: str, app: str | None) -> list[tuple[str, str, str]]:
    """(key, effective value, where it comes from) for every property of a namespace."""
    app_values = _stored(apps.get(app).id, namespace) if app else {}
    global_values = _stored(GLOBAL, namespace)
    rows = []
    for prop in PROPERTIES:
        if prop.namespace != namespace:
            continue
        keys = [prop.key] + sorted(
            k for k in set(app_values) | set(global_values) if k.endswith("." + prop.key)
        ) if prop.per_process else [prop.key]
        for key in keys:
            if key in app_values:
                rows.append((key, app_values[key], "app"))
            elif key in global_values:
                rows.append((key, global_values[key], "global"))
            else:
                rows.append((key, prop.default, "default"))
    return rows

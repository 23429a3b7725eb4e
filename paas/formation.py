"""Formation: how many containers of each process type an app wants."""

from __future__ import annotations

import re

from paas import apps, names, store
from paas.errors import InvalidInput
from paas.models import Release
from paas.runtime.plan import ONE_OFF_TYPES

MAX_PER_TYPE = 50


DEFAULTS = {"web": 1}  # like Heroku: one web, no other process until asked


def get(app: str) -> dict[str, int]:
    return dict(sorted({**DEFAULTS, **_scaled(app)}.items()))


def _scaled(app: str) -> dict[str, int]:
    """The quantities recorded for the app (by hand, or seeded from app.json)."""
    app_id = apps.get(app).id
    rows = store.query("SELECT process, quantity FROM formation WHERE app_id = ?", (app_id,))
    return {r["process"]: r["quantity"] for r in rows}


def shown(app: str, live: Release | None) -> dict[str, int]:
    """ps:scale with no pairs: each long-lived type of the live release and how many of it
    run (0 unless scaled); before the first deploy, the formation as set so far."""
    wanted = get(app)
    if live is None:
        return wanted
    return {p: wanted.get(p, 0) for p in sorted(live.processes) if p not in ONE_OFF_TYPES}


def parse_changes(items: list[str]) -> dict[str, int]:
    if not items:
        raise InvalidInput("give TYPE=N pairs, for example web=3 worker=1")
    changes: dict[str, int] = {}
    for item in items:
        match = re.fullmatch(r"([^=]+)=([0-9]+)", item)
        if not match:
            raise InvalidInput(f"{item!r} is not TYPE=N (N a whole number)")
        process, digits = names.process_type(match.group(1)), match.group(2).lstrip("0") or "0"
        if process in changes:
            raise InvalidInput(f"{process} is given twice")
        if process in ONE_OFF_TYPES:
            raise InvalidInput(f"{process!r} is the release phase: it runs once per deploy and cannot be scaled")
        if len(digits) > 3 or int(digits) > MAX_PER_TYPE:
            raise InvalidInput(f"{item}: at most {MAX_PER_TYPE} containers per process type")
        changes[process] = int(digits)
    return changes


def set_quantities(app: str, changes: dict[str, int]) -> None:
    app_id = apps.get(app).id
    with store.transaction() as db:
        for process, quantity in changes.items():
            db.execute(
                "INSERT INTO formation (app_id, process, quantity) VALUES (?, ?, ?) "
                "ON CONFLICT (app_id, process) DO UPDATE SET quantity = excluded.quantity",
                (app_id, process, quantity),
            )


def with_seed(app: str, defaults: dict[str, int]) -> dict[str, int]:
    """The formation as it will be once `seed(app, defaults)` is recorded (a deploy records it
    only when its release goes live: a failed one must not change what the live one runs)."""
    scaled = _scaled(app)
    return dict(sorted({**DEFAULTS, **defaults, **scaled}.items()))


def seed(app: str, defaults: dict[str, int]) -> None:
    """app.json `formation`: applied for types the app has never scaled by hand."""
    app_id = apps.get(app).id
    with store.transaction() as db:
        for process, quantity in defaults.items():
            db.execute(
                "INSERT OR IGNORE INTO formation (app_id, process, quantity) VALUES (?, ?, ?)",
                (app_id, process, quantity),
            )

"""Apps: create, find, list, rename, destroy (state only; runtime teardown lives in lifecycle)."""

from __future__ import annotations

import time

from paas import names, store
from paas.errors import Conflict, NotFound
from paas.models import App


def _row_to_app(row) -> App:
    return App(id=row["id"], name=row["name"], owner=row["owner"], created_at=row["created_at"],
               stopped=bool(row["stopped"]))


def find(name: str) -> App | None:
    row = store.query_one("SELECT * FROM apps WHERE name = ?", (name,))
    return _row_to_app(row) if row else None


def get(name: str) -> App:
    names.app_name(name)
    app = find(name)
    if app is None:
        raise NotFound(f"app {name!r} does not exist", hint="list apps with: paas apps:list")
    return app


def create(name: str, owner: str | None = None) -> App:
    names.app_name(name)
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM apps WHERE name = ?", (name,)).fetchone():
            raise Conflict(f"app {name!r} already exists")
        # No formation rows yet: web defaults to 1 until app.json or ps:scale says otherwise.
        db.execute(
            "INSERT INTO apps (name, owner, created_at) VALUES (?, ?, ?)",
            (name, owner, time.time()),
        )
    return get(name)


def set_stopped(name: str, stopped: bool) -> None:
    """ps:stop marks an app stopped; whatever makes it serve again clears the mark."""
    with store.transaction() as db:
        db.execute("UPDATE apps SET stopped = ? WHERE name = ?", (int(stopped), name))


def list_all() -> list[App]:
    return [_row_to_app(r) for r in store.query("SELECT * FROM apps ORDER BY name")]


def require_free(name: str) -> None:
    """Refuse a name an app has, or whose repo is still on disk."""
    from paas import paths

    if find(name) is not None or paths.repo(name).exists():
        raise Conflict(f"app {name!r} already exists")


def rename(old: str, new: str) -> App:
    names.app_name(new)
    app = get(old)
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM apps WHERE name = ?", (new,)).fetchone():
            raise Conflict(f"app {new!r} already exists")
        db.execute("UPDATE apps SET name = ? WHERE id = ?", (new, app.id))
    return get(new)


def delete(name: str) -> None:
    app = get(name)
    with store.transaction() as db:
        for table in ("config", "settings"):
            db.execute(f"DELETE FROM {table} WHERE app_id = ?", (app.id,))
        db.execute("DELETE FROM apps WHERE id = ?", (app.id,))

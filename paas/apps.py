"""Apps: create, find, list, rename, destroy (state only; runtime teardown lives in lifecycle)."""

from __future__ import annotations

import time

from paas import names, store
from paas.errors import Conflict, NameNotFreed, NotFound
from paas.models import App


def _row_to_app(row) -> App:
    return App(id=row["id"], name=row["name"], owner=row["owner"], created_at=row["created_at"],
               stopped=bool(row["stopped"]), named_at=row["named_at"])


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
        require_freed(name)
        # No formation rows yet: web defaults to 1 until app.json or ps:scale says otherwise.
        now = time.time()
        db.execute(
            "INSERT INTO apps (name, owner, created_at, named_at) VALUES (?, ?, ?, ?)",
            (name, owner, now, now),
        )
    return get(name)


def set_stopped(name: str, stopped: bool) -> None:
    """ps:stop marks an app stopped; whatever makes it serve again clears the mark."""
    with store.transaction() as db:
        db.execute("UPDATE apps SET stopped = ? WHERE name = ?", (int(stopped), name))


def list_all() -> list[App]:
    return [_row_to_app(r) for r in store.query("SELECT * FROM apps ORDER BY name")]


def require_free(name: str) -> None:
    """Refuse a name an app has, or whose repo is still on disk, or not yet freed."""
    from paas import paths

    if find(name) is not None or paths.repo(name).exists():
        raise Conflict(f"app {name!r} already exists")
    # A rename may go back to a name it left, or try again after it was undone: the old
    # name's containers and route then become its own again (and retire like any stale
    # ones). Images are another matter: any app of the name could deploy them.
    require_freed(name, containers_too=False)


def require_freed(name: str, containers_too: bool = True) -> None:
    """Refuse a name whose previous app (destroyed, or renamed away) left images, containers
    or a route not yet removed: a new app of that name could deploy its images
    (`deploy --image paas/NAME:v3`) and answer at its hostname with what it left."""
    if store.query_one("SELECT 1 FROM images_left WHERE app = ?", (name,)):
        raise NameNotFreed(f"the name {name!r} is not free yet: images of the app that had it are still to be removed",
                           hint="an admin can remove them with: paas cleanup")
    if containers_too and store.query_one("SELECT 1 FROM renamed_away WHERE app = ?", (name,)):
        raise NameNotFreed(f"the name {name!r} is not free yet: the app renamed away from it still has containers "
                           "or a route under it", hint="an admin can remove them with: paas cleanup --retire")


def rename(old: str, new: str) -> App:
    names.app_name(new)
    app = get(old)
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM apps WHERE name = ?", (new,)).fetchone():
            raise Conflict(f"app {new!r} already exists")
        db.execute("UPDATE apps SET name = ?, named_at = ? WHERE id = ?", (new, time.time(), app.id))
    return get(new)


def delete(name: str) -> None:
    app = get(name)
    with store.transaction() as db:
        for table in ("config", "settings"):
            db.execute(f"DELETE FROM {table} WHERE app_id = ?", (app.id,))
        db.execute("DELETE FROM apps WHERE id = ?", (app.id,))

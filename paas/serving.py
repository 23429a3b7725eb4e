"""Which containers serve an app now (state); every other container of the app is retired."""

from __future__ import annotations

from paas import apps, store


def ids(app: str) -> set[str]:
    app_id = apps.get(app).id
    return {r["container_id"] for r in store.query("SELECT container_id FROM serving WHERE app_id = ?", (app_id,))}


def replace(app: str, container_ids: set[str]) -> None:
    app_id = apps.get(app).id
    with store.transaction() as db:
        db.execute("DELETE FROM serving WHERE app_id = ?", (app_id,))
        db.executemany("INSERT INTO serving (app_id, container_id) VALUES (?, ?)", [(app_id, c) for c in container_ids])


def add_remove(app: str, added: set[str], removed: set[str]) -> None:
    app_id = apps.get(app).id
    with store.transaction() as db:
        db.executemany("DELETE FROM serving WHERE container_id = ?", [(c,) for c in removed])
        db.executemany("INSERT OR REPLACE INTO serving (app_id, container_id) VALUES (?, ?)", [(app_id, c) for c in added])

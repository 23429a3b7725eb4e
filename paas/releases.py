"""Releases: immutable records of image + config + processes, numbered v1, v2, ..."""

from __future__ import annotations

import json
import time

from paas import apps, store
from paas.errors import InvalidInput, NotFound, PaasError
from paas.models import Release

# building -> (failed | pending | built); pending -> (live | failed); live -> retired.
# `built` is a `paas build` result: never ran, but may be deployed with releases:rollback.
STATUSES = ("building", "pending", "built", "live", "failed", "retired")


def create(
    app: str,
    *,
    description: str,
    status: str = "building",
    image: str | None = None,
    image_id: str | None = None,
    git_sha: str | None = None,
    buildpack: str | None = None,
    processes: dict | None = None,
    app_json: dict | None = None,
    config: dict | None = None,
    author: str | None = None,
) -> Release:
    app_id = apps.get(app).id
    with store.transaction() as db:
        row = db.execute("SELECT MAX(version) FROM releases WHERE app_id = ?", (app_id,)).fetchone()
        version = (row[0] or 0) + 1
        db.execute(
            "INSERT INTO releases (app_id, version, status, description, image, image_id, git_sha,"
            " buildpack, processes, app_json, config, author, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                app_id, version, status, description, image, image_id, git_sha, buildpack,
                json.dumps(processes or {}), json.dumps(app_json or {}), json.dumps(config or {}),
                author, time.time(),
            ),
        )
    return get(app, version)


def update(app: str, version: int, **fields) -> Release:
    allowed = {"status", "image", "image_id", "git_sha", "buildpack", "processes", "app_json", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"not updatable: {unknown}")
    app_id = apps.get(app).id
    sets, values = [], []
    for key, value in fields.items():
        sets.append(f"{key} = ?")
        values.append(json.dumps(value) if key in ("processes", "app_json") else value)
    with store.transaction() as db:
        db.execute(
            f"UPDATE releases SET {', '.join(sets)} WHERE app_id = ? AND version = ?",
            (*values, app_id, version),
        )
    return get(app, version)


def mark_live(app: str, version: int) -> None:
    """The one moment a release becomes current: the previous live one is retired."""
    app_id = apps.get(app).id
    with store.transaction() as db:
        db.execute(
            "UPDATE releases SET status = 'retired' WHERE app_id = ? AND status = 'live'", (app_id,)
        )
        db.execute(
            "UPDATE releases SET status = 'live' WHERE app_id = ? AND version = ?", (app_id, version)
        )


def fail_abandoned(app: str) -> int:
    """Releases left building/pending by a command that died; call with the app lock held."""
    found = apps.find(app)
    if found is None:
        return 0
    app_id = found.id
    with store.transaction() as db:
        cur = db.execute(
            "UPDATE releases SET status = 'failed', description = description || ' (interrupted)'"
            " WHERE app_id = ? AND status IN ('building', 'pending')", (app_id,))
    return cur.rowcount


def parse_version(text: str) -> int:
    value = text[1:] if text.startswith("v") else text
    if not value.isdigit() or not value.isascii() or int(value) < 1:
        raise InvalidInput(f"invalid release {text!r}: use vN, for example v3")
    return int(value)


def get(app: str, version: int) -> Release:
    app_id = apps.get(app).id
    row = store.query_one("SELECT * FROM releases WHERE app_id = ? AND version = ?", (app_id, version))
    if row is None:
        raise NotFound(f"{app} has no release v{version}", hint=f"list them with: paas releases {app}")
    return Release.from_row(row)


def still_serving(app: str) -> str:
    """What a failed change leaves serving, said plainly (there may be nothing yet)."""
    try:
        live = current(app)
    except PaasError:  # the app itself is gone
        live = None
    return f"{live.tag} keeps serving" if live else f"no release of {app} serves yet"


def current(app: str) -> Release | None:
    app_id = apps.get(app).id
    row = store.query_one(
        "SELECT * FROM releases WHERE app_id = ? AND status = 'live' ORDER BY version DESC LIMIT 1",
        (app_id,),
    )
    return Release.from_row(row) if row else None


def list_for(app: str, limit: int | None = None) -> list[Release]:
    app_id = apps.get(app).id
    sql = "SELECT * FROM releases WHERE app_id = ? ORDER BY version DESC"
    params: tuple = (app_id,)
    if limit:
        sql += " LIMIT ?"
        params = (app_id, limit)
    return [Release.from_row(r) for r in store.query(sql, params)]


def to_dict(release: Release, with_config: bool = False) -> dict:
    data = {
        "version": release.tag,
        "status": release.status,
        "description": release.description,
        "image": release.image,
        "image_id": release.image_id,
        "git_sha": release.git_sha,
        "buildpack": release.buildpack,
        "processes": release.processes,
        "author": release.author,
        "created_at": release.created_at,
    }
    if with_config:
        data["config_keys"] = sorted(release.config)
    return data


def image_ids_of_other_apps(app: str) -> set[str]:
    """Image ids other apps built from their code (an app's own Dockerfile must not read
    them). Images deployed as they are (`deploy --image nginx:alpine`) are not theirs."""
    app_id = apps.get(app).id
    rows = store.query("SELECT DISTINCT image_id FROM releases WHERE app_id != ? AND image_id IS NOT NULL"
                       " AND git_sha IS NOT NULL", (app_id,))
    own = store.query("SELECT DISTINCT image_id FROM releases WHERE app_id = ? AND image_id IS NOT NULL", (app_id,))
    # Apps built from identical trees share an image: one the app built itself is its own too.
    return {r["image_id"] for r in rows} - {r["image_id"] for r in own}

"""Image pruning: keep the last PAAS_KEEP_RELEASES images good releases ran, per app."""

from __future__ import annotations

import os
import time

from paas import apps, names, paths, releases, store

DEFAULT_KEEP = 5


def keep_count() -> int:
    value = os.environ.get("PAAS_KEEP_RELEASES", "")
    return int(value) if value.isdigit() and int(value) >= 1 else DEFAULT_KEEP


IN_PROGRESS = ("building", "pending", "built")


def images_to_remove(app: str, history, present_tags: set[str], keep: int) -> list[str]:
    """Pure: tags to delete, given releases newest first and the tags that exist.

    A release still being built is tagged before its row records the image, so its tag is
    kept by name."""
    good = [r for r in history if r.status in ("live", "retired") and r.image]
    # Distinct images: config changes and rollbacks make releases that reuse one, and five
    # `config:set`s must not leave nothing older to roll back to.
    kept: set[str] = set()
    for r in good:
        if len(kept) == keep:
            break
        kept.add(r.image)
    kept |= {r.image for r in history if r.status in IN_PROGRESS and r.image}
    kept |= {names.image_tag(app, r.version) for r in history if r.status in IN_PROGRESS}
    return sorted(tag for tag in present_tags if tag not in kept)


def prune_app(app: str) -> list[str]:
    from paas import locks
    from paas.runtime import docker_api

    # Decided and done while no build runs (builds hold the image store shared). The tags are
    # read before the releases: a tag seen then belongs to a release the history then shows.
    with locks.image_store(removing=True):
        present = {tag for tag, _ in docker_api.app_images(app)}
        history = releases.list_for(app)
        return [tag for tag in images_to_remove(app, history, present, keep_count()) if docker_api.remove_image(tag)]


def remove_app_images(app: str, wait: float) -> bool:
    """Remove every release image of `app` (destroyed, or renamed away). A build of another
    app may hold the image store for minutes: after `wait` seconds the app is noted and its
    images are left to the next `paas cleanup` (hourly on an installed host). False then."""
    from paas import locks
    from paas.errors import LockTimeout

    try:
        with locks.image_store(removing=True, wait=wait):
            _remove_release_images(app)
        return True
    except LockTimeout:
        with store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO images_left (app, at) VALUES (?, ?)", (app, time.time()))
        return False


def _remove_release_images(app: str) -> list[str]:
    from paas.runtime import docker_api

    return [tag for tag, _ in docker_api.app_images(app) if docker_api.remove_image(tag)]


def prune_all() -> dict:
    from paas import locks
    from paas.runtime import docker_api

    removed = {}
    for app in apps.list_all():
        gone = prune_app(app.name)
        if gone:
            removed[app.name] = gone
    for row in store.query("SELECT app FROM images_left ORDER BY app"):
        with locks.image_store(removing=True):
            # Made again meanwhile: prune_app takes care of its old tags, as of any tag no
            # release of it names.
            made_again = apps.find(row["app"]) is not None
            gone = [] if made_again else _remove_release_images(row["app"])
            if made_again or not docker_api.app_images(row["app"]):
                with store.transaction() as db:  # kept while an image is still in use: next time
                    db.execute("DELETE FROM images_left WHERE app = ?", (row["app"],))
        if gone:
            removed[row["app"]] = gone
    dangling = docker_api.prune_dangling()
    return {"images": removed, "dangling_layers": dangling, "abandoned_builds": paths.remove_abandoned_builds()}

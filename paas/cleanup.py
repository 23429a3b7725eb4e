"""Image pruning: keep the images of the last PAAS_KEEP_RELEASES good releases per app."""

from __future__ import annotations

import os

from paas import apps, releases

DEFAULT_KEEP = 5


def keep_count() -> int:
    value = os.environ.get("PAAS_KEEP_RELEASES", "")
    return int(value) if value.isdigit() and int(value) >= 1 else DEFAULT_KEEP


def images_to_remove(history, present_tags: set[str], keep: int) -> list[str]:
    """Pure: tags to delete, given releases newest first and the tags that exist."""
    good = [r for r in history if r.status in ("live", "retired") and r.image]
    kept = {r.image for r in good[:keep]}
    kept |= {r.image for r in history if r.status in ("building", "pending", "built") and r.image}
    return sorted(tag for tag in present_tags if tag not in kept)


def prune_app(app: str) -> list[str]:
    from paas.runtime import docker_api

    history = releases.list_for(app)
    present = {tag for tag, _ in docker_api.app_images(app)}
    removed = [tag for tag in images_to_remove(history, present, keep_count()) if docker_api.remove_image(tag)]
    return removed


def prune_all() -> dict:
    from paas.runtime import docker_api

    removed = {}
    for app in apps.list_all():
        gone = prune_app(app.name)
        if gone:
            removed[app.name] = gone
    dangling = docker_api.prune_dangling()
    return {"images": removed, "dangling_layers": dangling}

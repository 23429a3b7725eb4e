"""Re-render an app's route from what serves now (after nginx:set or domains:add)."""

from __future__ import annotations

from paas import locks


def refresh(app: str) -> None:
    from paas import deploy

    with locks.app_lock(app):
        deploy.route_serving(app)

"""Re-render an app's route from what serves now (after nginx:set or domains:add)."""

from __future__ import annotations

from paas import locks, releases, router


def refresh(app: str) -> None:
    from paas import deploy

    with locks.app_lock(app):
        release = releases.current(app)
        if release is None or "web" not in release.processes:
            return
        web = [c for c in deploy.serving_containers(app) if c.process == "web" and c.state == "running"]
        deploy.route(app, web, has_web=True, release=release)

"""Re-render an app's route from what serves now (after nginx:set or domains:add)."""

from __future__ import annotations

from paas import locks


def refresh(app: str) -> None:
    from paas import deploy

    with locks.app_lock(app):
        # The lock put right what a killed command left, reload included: a setting that
        # renders the same vhost (nginx:set to its current value) reloads nothing, so it
        # cannot be used to cut every app's long connections over and over.
        deploy.route_serving(app, force=False)

"""Re-render an app's route from what serves now (after nginx:set or domains:add)."""

from __future__ import annotations

import contextlib
from typing import Callable

from paas import locks


def refresh(app: str) -> None:
    from paas import deploy

    with locks.app_lock(app):
        # The lock put right what a killed command left, reload included: a setting that
        # renders the same vhost (nginx:set to its current value) reloads nothing, so it
        # cannot be used to cut every app's long connections over and over.
        deploy.route_serving(app, force=False)


def refresh_or_undo(app: str, undo: Callable[[], None]) -> None:
    """refresh(app) after a change of its route's inputs; when nginx refuses the new route
    (or a Ctrl-C comes), `undo()` the change and route again, so it is not kept."""
    try:
        refresh(app)
    except BaseException:
        try:
            undo()
        except Exception as exc:  # the first failure is the one raised; this one is told too
            from paas import console

            console.warn(f"the change could not be undone: {exc}")
        else:
            with contextlib.suppress(Exception):  # a reload it interrupted may have taken the change
                refresh(app)
        raise

"""Named pause points for fault-injection tests (off unless PAAS_FAILPOINTS names them).

`PAAS_FAILPOINTS=route-switch` makes a deploy print `failpoint route-switch reached` and
wait there, so a test can kill -9 the process at exactly that step.
"""

from __future__ import annotations

import os
import sys
import time

STEPS = ("build", "release-phase", "start", "health-check", "route-switch", "reloading", "retire")


_passed: set[str] = set()  # each pauses once: the undo of an interrupted step may pass it again


def reached(name: str) -> None:
    wanted = os.environ.get("PAAS_FAILPOINTS", "")
    if not wanted or name not in wanted.split(",") or name in _passed:
        return
    _passed.add(name)
    print(f"failpoint {name} reached", flush=True)
    sys.stderr.flush()
    time.sleep(float(os.environ.get("PAAS_FAILPOINT_SECONDS", "120")))

"""Background retirement: `python -m paas.retire APP DRAIN_SECONDS` (spawned by a deploy)."""

from __future__ import annotations

import sys
import time

# Nobody waits on a background retire. Behind a build that holds the app lock longer than a
# command would wait (PAAS_LOCK_TIMEOUT), it keeps waiting: giving up left the old containers
# running until the next deploy's retire or the hourly clean-up.
LOCK_WAIT = 3600.0


def main() -> None:
    app, drain = sys.argv[1], float(sys.argv[2])
    time.sleep(drain)
    from paas import cleanup, deploy, locks
    from paas.runtime import network

    # Waits, too, for nginx workers still carrying requests to what it stops.
    deploy.retire(app, wait=max(LOCK_WAIT, locks.DEFAULT_WAIT))
    cleanup.prune_app(app)  # keep the last PAAS_KEEP_RELEASES good images for rollback
    network.remove_legacy()  # an upgraded host's old shared network, once empty


if __name__ == "__main__":
    main()

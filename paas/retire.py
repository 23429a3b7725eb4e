"""Background retirement: `python -m paas.retire APP DRAIN_SECONDS` (spawned by a deploy)."""

from __future__ import annotations

import sys
import time


def main() -> None:
    app, drain = sys.argv[1], float(sys.argv[2])
    time.sleep(drain)
    from paas import cleanup, deploy
    from paas.runtime import network

    deploy.retire(app)  # waits for nginx workers still carrying requests to what it stops
    cleanup.prune_app(app)  # keep the last PAAS_KEEP_RELEASES good images for rollback
    network.remove_legacy()  # an upgraded host's old shared network, once empty


if __name__ == "__main__":
    main()

"""Background retirement: `python -m paas.retire APP DRAIN_SECONDS` (spawned by a deploy)."""

from __future__ import annotations

import sys
import time

NGINX_WORKER_SHUTDOWN_TIMEOUT = 60  # templates/nginx/nginx.conf.j2: worker_shutdown_timeout


def main() -> None:
    app, drain = sys.argv[1], float(sys.argv[2])
    time.sleep(drain)
    from paas import cleanup, deploy, router

    # Requests still running on old nginx workers reach the old containers: let them finish.
    router.wait_for_draining_workers(NGINX_WORKER_SHUTDOWN_TIMEOUT)
    deploy.retire(app)
    cleanup.prune_app(app)  # keep the last PAAS_KEEP_RELEASES good images for rollback


if __name__ == "__main__":
    main()

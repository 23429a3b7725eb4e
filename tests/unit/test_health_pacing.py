"""health.py: how often a starting container is probed, against a real local HTTP server."""

from __future__ import annotations

import http.server
import socket
import threading
import time

from paas.models import HealthCheck, RunningContainer
from paas.runtime import health


def test_declared_checks_wait_exactly_what_they_say():
    check = HealthCheck(process="web", wait=5.0, attempts=3)
    assert [health.wait_before(n, check) for n in (1, 2, 3)] == [5.0, 5.0, 5.0]


def test_the_default_check_starts_fast_and_slows_to_its_wait():
    check = HealthCheck(process="web", wait=0.1, attempts=300, first_wait=0.02)
    assert [health.wait_before(n, check) for n in (1, 2, 3, 4, 5)] == [0.02, 0.04, 0.08, 0.1, 0.1]
    assert health.wait_before(3000, check) == 0.1  # no overflow on the last of many attempts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_app_that_starts_late_passes_once_it_answers():
    port = _free_port()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    servers = []

    def start_late():
        time.sleep(0.15)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        servers.append((server,))
        server.serve_forever()

    threading.Thread(target=start_late, daemon=True).start()
    container = RunningContainer(id="c1", name="web-c1", app="web", process="web", index=1, release=1,
                                 role="process", state="running", address="127.0.0.1", port=port)
    check = HealthCheck(process="web", wait=0.1, attempts=300, first_wait=0.02, timeout=1.0)
    outcome = health.wait_http(container, port, check, lambda: True)
    try:
        # Refused at first: the quick early probes must not use up the attempts.
        assert outcome.ok, outcome.detail
    finally:
        servers[0][0].shutdown()

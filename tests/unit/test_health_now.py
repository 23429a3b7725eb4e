"""ps:report's HEALTH: one probe now with the type's checks, against a real local HTTP server."""

from __future__ import annotations

import http.server
import threading

import pytest

from paas import appjson, apps
from paas.models import RunningContainer
from paas.runtime import scheduler


@pytest.fixture
def http_app():
    """A tiny app on 127.0.0.1: `/` answers `state["status"]`, `/health` says ok."""
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status = 200 if self.path == "/health" else state["status"]
            body = b"ok\n" if self.path == "/health" else b"hello\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, server.server_address[1]
    server.shutdown()


def container(process: str, port: int, state: str = "running") -> RunningContainer:
    return RunningContainer(id="c1", name="web-c1", app="web", process=process, index=1, release=1,
                            role="process", state=state, address="127.0.0.1", port=port)


@pytest.fixture
def restarts(paas_root, monkeypatch):
    apps.create("web")
    counts = {"c1": 0}
    monkeypatch.setattr(scheduler.docker_api, "restart_count", lambda cid: counts[cid])
    return counts


def test_a_web_container_is_healthy_until_its_probe_fails(http_app, restarts):
    state, port = http_app
    manifest = appjson.from_dict({})
    assert scheduler.health_now("web", container("web", port), port, manifest).detail == "healthy"
    state["status"] = 500
    outcome = scheduler.health_now("web", container("web", port), port, manifest)
    assert not outcome.ok and outcome.detail.startswith("GET / answered 500")
    # The app's own check path is what counts, as in a deploy.
    declared = appjson.from_dict({"healthchecks": {"web": [{"type": "startup", "path": "/health"}]}})
    assert scheduler.health_now("web", container("web", port), port, declared).ok


def test_workers_are_healthy_while_running_without_restarts(restarts):
    manifest = appjson.from_dict({})
    assert scheduler.health_now("web", container("worker", 1), None, manifest).ok
    restarts["c1"] = 2
    assert scheduler.health_now("web", container("worker", 1), None, manifest).detail == "restarted 2 time(s)"
    stopped = scheduler.health_now("web", container("worker", 1, state="exited"), None, manifest)
    assert (stopped.ok, stopped.detail) == (False, "exited")


def test_a_4xx_fails_a_declared_check_but_not_the_default_one(http_app, restarts):
    # A declared path that answers 404 is a typo or a missing route; an app's / may be a 404.
    state, port = http_app
    state["status"] = 404
    assert scheduler.health_now("web", container("web", port), port, appjson.from_dict({})).ok
    declared = appjson.from_dict({"healthchecks": {"web": [{"type": "startup", "path": "/nothere"}]}})
    outcome = scheduler.health_now("web", container("web", port), port, declared)
    assert not outcome.ok and outcome.detail.startswith("GET /nothere answered 404")

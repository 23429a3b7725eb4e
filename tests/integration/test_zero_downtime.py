"""Zero failed requests while releases change under load (short version; bench/ has the long one)."""

from __future__ import annotations

import threading

import pytest

from bench.loadgen import run_load

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("python")]


def test_no_failed_request_through_redeploys_config_scale_and_rollback(server, make_app):
    source = make_app("python")
    source.push()
    stop = threading.Event()
    outcome = {}

    def load():
        outcome["result"] = run_load("127.0.0.1", server.http_port, f"{source.app}.{server.domain}",
                                     rate=100, stop=stop, workers=4, max_seconds=300)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        source.write("app.py", (source.path / "app.py").read_text().replace("Hello from paas", "Hello v2"))
        source.commit("v2")
        source.push()
        server.paas("config:set", source.app, "GREETING=Hi", check=True)
        server.paas("ps:scale", source.app, "web=3", check=True)
        server.paas("ps:scale", source.app, "web=1", check=True)
        server.paas("ps:restart", source.app, check=True)
        server.paas("releases:rollback", source.app, "v1", check=True)
    finally:
        stop.set()
        thread.join()
    result = outcome["result"]
    summary = result.summary()
    print("zero-downtime:", summary)
    assert summary["requests"] > 200
    assert result.failures == 0, result.errors[:10]
    assert server.get(source.app)[1].startswith("Hello from paas! release=v4")

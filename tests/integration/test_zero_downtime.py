"""Zero failed requests while releases change under load (short version; bench/ has the long one)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

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


@contextlib.contextmanager
def slow_request(server, app: str):
    """GET /slow sent through nginx (and given time to reach the app); yields a function that
    reads the whole response."""
    sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=60)
    sock.sendall(f"GET /slow HTTP/1.1\r\nHost: {app}.{server.domain}\r\nConnection: close\r\n\r\n".encode())
    time.sleep(0.5)

    def response() -> bytes:
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data

    try:
        yield response
    finally:
        sock.close()


def test_a_switch_does_not_wait_for_a_long_request_and_that_request_completes(server, make_app):
    from paas import procs

    source = make_app("python")
    source.write("app.py", (source.path / "app.py").read_text() + (
        "\n\n@app.get('/slow')\ndef slow():\n    import time\n    time.sleep(8)\n    return 'slow done\\n'\n"))
    source.commit("a slow endpoint")
    source.push()
    master = int((server.root / "nginx" / "nginx.pid").read_text())
    old_workers = procs.children(master)
    with slow_request(server, source.app) as response:
        server.paas("ps:restart", source.app, check=True)
        # The switch returned while the old worker still carries the slow request (it would
        # have exited by now had the switch waited for it)...
        busy = [w for w in old_workers if procs.running(w)]
        assert busy and all(b"shutting down" in procs.command_line(w) for w in busy)
        assert server.get(source.app)[0] == 200
        # ...and that request still completes, through the old worker and the retiring container.
        body = response()
    assert body.startswith(b"HTTP/1.1 200") and body.endswith(b"slow done\n")


SLOW_SERVER = '''
import http.server, os, time

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(8)
        body = b"slow done\\n" if self.path == "/slow" else b"ok\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
'''


def deploy_slow_server(server, make_app, wait_to_retire: int):
    """An app whose /slow takes 8 s and which exits at once on SIGTERM (Python's default)."""
    source = make_app("python")
    source.write("slow_server.py", SLOW_SERVER)
    source.write("Procfile", "web: python slow_server.py\n")
    source.commit("a server with no graceful shutdown")
    source.push()
    server.paas("checks:set", source.app, "wait-to-retire", str(wait_to_retire), check=True)
    return source


def test_a_request_in_flight_survives_the_retire_of_an_app_that_dies_on_sigterm(server, make_app):
    source = deploy_slow_server(server, make_app, wait_to_retire=1)
    with slow_request(server, source.app) as response:
        server.paas("ps:restart", source.app, check=True)
        # The retire (1 s drain) must wait for the nginx worker still carrying the request
        # before it stops the old container, or this app would die mid-request: a 502.
        body = response()
    assert body.startswith(b"HTTP/1.1 200") and body.endswith(b"slow done\n")


def test_a_request_in_flight_survives_a_second_command_right_after_a_switch(server, make_app):
    source = deploy_slow_server(server, make_app, wait_to_retire=30)
    with slow_request(server, source.app) as response:
        server.paas("ps:restart", source.app, check=True)
        # The first restart's old container awaits its background retire; the next command must
        # leave it to that retire, not stop it at its own start while the request still runs.
        server.paas("config:set", source.app, "NEXT=1", check=True)
        body = response()
    assert body.startswith(b"HTTP/1.1 200") and body.endswith(b"slow done\n")

"""Group `load`: requests under load through every kind of swap, and nginx proxy throughput.

1. bench/loadgen.py (the DESIGN.md definition of a failed request: a request whose reused
   keep-alive connection closed before any byte is retried once; every other error and every
   5xx fails) at 200 req/s against examples/python through nginx:
   - steady state for 10 s;
   - then, under the same load: 20 consecutive redeploys (git push of changed code each time),
     10 `config:set`s, `ps:scale web=5` then `web=1`, and 3 `releases:rollback`s.
   Failed and retried requests, p50/p99 during the swaps vs steady state.
2. wrk (Debian's package): throughput through nginx (Host header) vs straight to the container's
   address on the paas network, same connections and duration, alternating runs.
3. wrk during 5 redeploys: non-2xx responses and socket errors. wrk never retries, so a
   keep-alive connection that nginx closes at a reload shows up as a read/connect error there,
   where a browser (and loadgen) would retry the request once.
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
import uuid

from bench.common import (
    EXAMPLES, Row, Source, change, container_address, docker_client, log, private_server, wait_quiet,
)
from bench.loadgen import run_load

GROUP = "load"
RATE = 200


class Background:
    """run_load in a thread until stop()."""

    def __init__(self, srv, app: str):
        self.stop_event = threading.Event()
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(srv, app), daemon=True)

    def _run(self, srv, app):
        self.result = run_load("127.0.0.1", srv.http_port, srv.host(app), RATE, self.stop_event)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(timeout=60)


def _timed(fn) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def _paas(srv, *args: str) -> None:
    result = srv.paas(*args, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"paas {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def _push(source: Source) -> float:
    _, served = change(source)
    push = source.push(expect=served)
    if not push.ok:
        raise RuntimeError(f"push failed under load:\n{push.output[-3000:]}")
    return push.to_serving


def _container_address(app: str) -> str:
    client = docker_client()
    for container in client.containers.list(filters={"label": [f"paas.app={app}", "paas.process=web"]}):
        address = container_address(container)
        if address:
            return address
    raise RuntimeError(f"no running web container of {app}")


def _wrk(url: str, host: str | None, seconds: float, process_holder: list | None = None) -> dict:
    argv = ["wrk", "-t2", "-c16", f"-d{int(seconds)}s", "--timeout", "10s"]
    if host:
        argv += ["-H", f"Host: {host}"]
    process = subprocess.Popen(argv + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if process_holder is not None:
        process_holder.append(process)
    out, _ = process.communicate(timeout=seconds + 120)
    return _parse_wrk(out)


def _parse_wrk(out: str) -> dict:
    data = {"rps": 0.0, "requests": 0, "non2xx": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "raw": out}
    match = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if match:
        data["rps"] = float(match.group(1))
    match = re.search(r"(\d+) requests in", out)
    if match:
        data["requests"] = int(match.group(1))
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if match:
        data["non2xx"] = int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if match:
        data.update(connect=int(match.group(1)), read=int(match.group(2)), write=int(match.group(3)),
                    timeout=int(match.group(4)))
    return data


def _swaps(srv, source: Source, quick: bool) -> tuple[list[Row], dict]:
    redeploys, config_sets, rollbacks = (3, 2, 1) if quick else (20, 10, 3)
    steady_seconds = 5 if quick else 10
    log(f"load: steady state, {RATE} req/s for {steady_seconds}s")
    with Background(srv, source.app) as steady:
        time.sleep(steady_seconds)
    steady_result = steady.result
    ops: dict[str, list[float]] = {"redeploy": [], "config:set": [], "scale": [], "rollback": []}
    log(f"load: {redeploys} redeploys, {config_sets} config:set, scale 1→5→1, {rollbacks} rollbacks under load")
    started = time.monotonic()
    with Background(srv, source.app) as swaps:
        for _ in range(redeploys):
            ops["redeploy"].append(_push(source))
        for i in range(config_sets):
            ops["config:set"].append(_timed(lambda i=i: _paas(srv, "config:set", source.app, f"BENCH_SETTING={i}")))
        ops["scale"].append(_timed(lambda: _paas(srv, "ps:scale", source.app, "web=5")))
        ops["scale"].append(_timed(lambda: _paas(srv, "ps:scale", source.app, "web=1")))
        for _ in range(rollbacks):
            ops["rollback"].append(_timed(lambda: _paas(srv, "releases:rollback", source.app)))
        wait_quiet(source.app)  # the last retire happens under load too
    swap_seconds = time.monotonic() - started
    result = swaps.result
    s, w = steady_result.summary(), result.summary()
    errors = sorted(set(result.errors))
    label = f"{redeploys} redeploys + {config_sets} config:set + scale 1→5→1 + {rollbacks} rollbacks"
    rows = [
        Row(GROUP, f"failed requests at {RATE} req/s through {label}", [float(result.failures)], "count",
            target="= 0", note=f"{w['requests']} requests in {swap_seconds:.0f}s"
                               + (f"; errors: {'; '.join(errors[:5])}" if errors else "")),
        Row(GROUP, "  retried once (reused keep-alive closed before any byte)", [float(result.retried)], "count",
            baseline="retried in steady state", baseline_samples=[float(steady_result.retried)]),
        Row(GROUP, "  p50 latency during swaps", [w["p50_ms"]], "ms", baseline=f"steady state ({s['requests']} req)",
            baseline_samples=[s["p50_ms"]]),
        Row(GROUP, "  p99 latency during swaps", [w["p99_ms"]], "ms", baseline="steady state",
            baseline_samples=[s["p99_ms"]]),
        Row(GROUP, "  failed requests in steady state", [float(steady_result.failures)], "count", target="= 0"),
        Row(GROUP, "  redeploy under load, push → serving", ops["redeploy"], "s"),
        Row(GROUP, "  config:set under load (command)", ops["config:set"], "s"),
        Row(GROUP, "  ps:scale 1→5, 5→1 under load (command)", ops["scale"], "s"),
        Row(GROUP, "  releases:rollback under load (command)", ops["rollback"], "s"),
    ]
    return rows, {"steady": s, "swaps": w, "errors": errors[:50]}


def _throughput(srv, source: Source, quick: bool) -> list[Row]:
    seconds, rounds = (3, 1) if quick else (10, 3)
    wait_quiet(source.app)
    address = _container_address(source.app)
    proxied: list[float] = []
    direct: list[float] = []
    log(f"load: wrk throughput, {rounds} × {seconds}s each way")
    for _ in range(rounds):
        proxied.append(_wrk(f"http://127.0.0.1:{srv.http_port}/", srv.host(source.app), seconds)["rps"])
        direct.append(_wrk(f"http://{address}:5000/", None, seconds)["rps"])
    return [Row(GROUP, "wrk -t2 -c16 throughput through nginx", proxied, "req/s",
                baseline="wrk straight to the container IP:5000", baseline_samples=direct, target=">= 0.85x",
                higher_is_better=True, note="gunicorn --workers 2 (the example's Procfile), one container")]


def _wrk_redeploys(srv, source: Source, quick: bool) -> list[Row]:
    count = 1 if quick else 5
    holder: list = []
    outcome: dict = {}

    def background():
        outcome.update(_wrk(f"http://127.0.0.1:{srv.http_port}/", srv.host(source.app), 900, holder))

    wait_quiet(source.app)
    thread = threading.Thread(target=background, daemon=True)
    thread.start()
    wait_for_process = time.monotonic() + 10
    while not holder and time.monotonic() < wait_for_process:
        time.sleep(0.05)
    log(f"load: wrk during {count} redeploys")
    durations = []
    try:
        time.sleep(1)
        for _ in range(count):
            durations.append(_push(source))
        wait_quiet(source.app)
        time.sleep(1)
    finally:
        if holder:
            holder[0].send_signal(signal.SIGINT)  # wrk prints its statistics on SIGINT
        thread.join(timeout=120)
    socket_errors = sum(outcome.get(k, 0) for k in ("connect", "read", "write", "timeout"))
    return [
        Row(GROUP, f"wrk during {count} redeploys: non-2xx responses", [float(outcome.get("non2xx", 0))], "count",
            target="= 0", note=f"{outcome.get('requests', 0)} requests"),
        Row(GROUP, f"wrk during {count} redeploys: socket errors (no retry)", [float(socket_errors)], "count",
            note=f"connect {outcome.get('connect', 0)}, read {outcome.get('read', 0)}, write {outcome.get('write', 0)}, "
                 f"timeout {outcome.get('timeout', 0)}; redeploys took {min(durations or [0]):.1f}–"
                 f"{max(durations or [0]):.1f}s under wrk"),
    ]


def measure(quick: bool) -> list[Row]:
    rows: list[Row] = []
    with private_server("load") as srv:
        source = Source.create(srv, EXAMPLES / "python", f"load-{uuid.uuid4().hex[:4]}", srv.workdir)
        push = source.push(expect=lambda s, b: s == 200)
        if not push.ok:
            raise RuntimeError(push.output[-3000:])
        wait_quiet(source.app)
        for part in (lambda: _swaps(srv, source, quick)[0], lambda: _throughput(srv, source, quick),
                     lambda: _wrk_redeploys(srv, source, quick)):
            try:
                rows += part()
            except Exception as exc:
                rows.append(Row(GROUP, "part failed", [], "", note=f"ERROR {exc.__class__.__name__}: {str(exc)[-300:]}"))
    return rows

"""A retry-aware HTTP load generator (the DESIGN.md definition of a failed request).

Each worker keeps one keep-alive connection, like a browser. A request whose *reused*
connection is closed before any response byte is retried once on a fresh connection
(browsers do the same: nginx reload closes idle keep-alive connections). Every other
error, and every 5xx, counts as a failure.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Result:
    ok: int = 0
    failures: int = 0
    retried: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: "Result") -> None:
        self.ok += other.ok
        self.failures += other.failures
        self.retried += other.retried
        self.latencies += other.latencies
        self.errors += other.errors

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    def summary(self) -> dict:
        return {
            "requests": self.ok + self.failures, "failures": self.failures, "retried": self.retried,
            "p50_ms": round(self.percentile(50) * 1000, 2), "p99_ms": round(self.percentile(99) * 1000, 2),
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 2) if self.latencies else 0.0,
        }


_CLOSED_BEFORE_RESPONSE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class _Worker:
    def __init__(self, host: str, port: int, host_header: str, path: str):
        self.host, self.port, self.host_header, self.path = host, port, host_header, path
        self.conn: http.client.HTTPConnection | None = None
        self.used = False

    def _fresh(self) -> http.client.HTTPConnection:
        if self.conn is not None:
            self.conn.close()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self.used = False
        return self.conn

    def request(self, result: Result) -> None:
        started = time.perf_counter()
        for attempt in (1, 2):
            conn = self.conn if self.conn is not None else self._fresh()
            reused = self.used
            try:
                conn.request("GET", self.path, headers={"Host": self.host_header})
                response = conn.getresponse()
                response.read()
                self.used = True
            except _CLOSED_BEFORE_RESPONSE as exc:
                self._fresh()
                if reused and attempt == 1:
                    result.retried += 1
                    continue
                result.failures += 1
                result.errors.append(f"{exc.__class__.__name__}: {exc}")
                return
            except (OSError, http.client.HTTPException) as exc:
                self._fresh()
                result.failures += 1
                result.errors.append(f"{exc.__class__.__name__}: {exc}")
                return
            if response.status >= 500:
                result.failures += 1
                result.errors.append(f"HTTP {response.status}")
            else:
                result.ok += 1
                result.latencies.append(time.perf_counter() - started)
            if response.getheader("Connection", "").lower() == "close":
                self._fresh()
            return


def run_load(host: str, port: int, host_header: str, rate: float, stop: threading.Event,
             workers: int = 8, path: str = "/", max_seconds: float = 600) -> Result:
    """Send `rate` requests/s spread over `workers` connections until `stop` is set."""
    results = [Result() for _ in range(workers)]
    interval = workers / rate
    deadline = time.monotonic() + max_seconds

    def loop(index: int) -> None:
        worker = _Worker(host, port, host_header, path)
        next_at = time.monotonic() + index * interval / workers
        while not stop.is_set() and time.monotonic() < deadline:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            worker.request(results[index])
            next_at += interval

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Result()
    for item in results:
        total.merge(item)
    return total

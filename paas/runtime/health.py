"""Health checks that gate traffic: HTTP probes for web, uptime for every container."""

from __future__ import annotations

import http.client
import socket
import time
from dataclasses import dataclass

from paas.models import HealthCheck, RunningContainer


@dataclass(frozen=True)
class Outcome:
    ok: bool
    detail: str


def probe_http(address: str, port: int, check: HealthCheck) -> Outcome:
    try:
        conn = http.client.HTTPConnection(address, port, timeout=check.timeout)
        conn.request("GET", check.path, headers={"Host": "localhost", "User-Agent": "paas-healthcheck"})
        response = conn.getresponse()
        body = response.read(64 * 1024).decode("utf-8", "replace")
        conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, f"GET {check.path} on port {port}: {exc.__class__.__name__}: {exc}")
    if response.status > check.max_status:
        return Outcome(False, f"GET {check.path} answered {response.status}: {body[:200]}")
    if check.content and check.content not in body:
        return Outcome(False, f"GET {check.path} answered {response.status} without {check.content!r}: {body[:200]}")
    return Outcome(True, f"GET {check.path} answered {response.status}")


def wait_http(container: RunningContainer, port: int, check: HealthCheck, is_running) -> Outcome:
    if check.initial_delay:
        time.sleep(check.initial_delay)
    last = Outcome(False, "no probe ran")
    address = container.address
    for attempt in range(check.attempts):
        if not is_running():
            return Outcome(False, "the container exited before answering")
        if address:
            last = probe_http(address, check.port or port, check)
            if last.ok:
                return last
        time.sleep(wait_before(attempt + 1, check))
    return Outcome(False, f"{last.detail} (after {check.attempts} attempts)")


def wait_before(attempt: int, check: HealthCheck) -> float:
    """The pause before probe number `attempt` (1 = the first retry)."""
    if check.first_wait is None:
        return check.wait
    return min(check.wait, check.first_wait * 2 ** min(attempt - 1, 30))


def tcp_open(address: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False

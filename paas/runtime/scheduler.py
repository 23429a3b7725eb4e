"""The local Docker scheduler: start containers in parallel, gate them on health, stop them.

Parallel operations report per container and never abort the others (docker-compose's
parallel.py): one failing start still lets the rest start, and all are reported.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from concurrent.futures import ThreadPoolExecutor

from paas import appjson, names, settings
from paas.models import ContainerSpec, HealthCheck, RunningContainer
from paas.runtime import docker_api, health

MAX_PARALLEL = 10


def labels_for(spec: ContainerSpec) -> dict[str, str]:
    labels = {
        names.LABEL_APP: spec.app,
        names.LABEL_PROCESS: spec.process,
        names.LABEL_INDEX: str(spec.index),
        names.LABEL_RELEASE: str(spec.release),
        names.LABEL_ROLE: spec.role,
    }
    if spec.port:
        labels[names.LABEL_PORT] = str(spec.port)
    return labels


# Procfile commands are shell lines, run by bash as on Heroku. bash execs a line's last
# command, so the app itself gets the SIGTERM of a retire and can finish its requests; dash
# stays the app's parent and dies of it, taking the app down mid-request. Images without
# bash (an app's own Dockerfile) fall back to sh.
LAUNCHER = 'if [ -x /bin/bash ]; then exec /bin/bash -c "$1"; fi; exec /bin/sh -c "$1"'


def _command(spec: ContainerSpec) -> list[str] | None:
    # The image's own CMD when the Procfile has no line for the type.
    return ["/bin/sh", "-c", LAUNCHER, "paas-launch", spec.command] if spec.command else None


def start_one(spec: ContainerSpec, restart_policy: str) -> RunningContainer:
    name = names.container_name(spec.app, spec.process, spec.index, spec.release, secrets.token_hex(3))
    launched_at = time.monotonic()
    container = docker_api.run_container(
        name=name, image=spec.image, command=_command(spec), env=spec.env,
        labels=labels_for(spec), memory=spec.memory, cpus=spec.cpus,
        restart_policy=restart_policy,
    )
    return dataclasses.replace(container, launched_at=launched_at)


def start_all(specs: list[ContainerSpec], restart_policy: str):
    """Returns [(spec, container or None, error or None)] in the order given."""
    if not specs:
        return []

    def attempt(spec):
        try:
            return spec, start_one(spec, restart_policy), None
        except Exception as exc:  # reported per container, never aborts the others
            return spec, None, str(getattr(exc, "message", exc))

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(specs))) as pool:
        return list(pool.map(attempt, specs))


def checks_for(app: str, process: str, manifest: appjson.AppJson) -> list[HealthCheck]:
    timeout = float(settings.get("checks", app, "timeout"))
    attempts = int(settings.get("checks", app, "attempts"))
    declared = list(manifest.healthchecks.get(process, ()))
    if declared:
        return declared
    if process == "web":
        # attempts x 0.1 s: the default 300 gives slow starters (JVM, Rails) 30 s to answer.
        return [HealthCheck(process="web", path="/", attempts=attempts, timeout=timeout, wait=0.1, first_wait=0.02,
                            max_status=499)]
    return []


# The settle time by default ("auto"), counted from the container's start like any settle
# time. A container an HTTP check gates shows it booted by answering, so a short time suffices
# (Kubernetes' minReadySeconds is 0); a check that takes longer than it leaves nothing more to
# wait. Nothing else shows that a worker booted: one second catches a bad command, a missing
# module or a config error read at start-up, and stays far below dokku's 10 s.
SETTLE_WITH_HTTP_CHECK = 0.1
SETTLE_UNCHECKED = 1.0


def settle_time(app: str, process: str, http_checked: bool) -> float:
    """Seconds a new container of `process` must stay up: `checks wait`, per type, or auto."""
    value = settings.get("checks", app, "wait", process)
    if value == settings.AUTO:
        return SETTLE_WITH_HTTP_CHECK if http_checked else SETTLE_UNCHECKED
    return float(value)


def _still_running(container_id: str) -> bool:
    state = docker_api.container_state(container_id)
    return bool(state.get("Running")) and not state.get("Restarting")


def check_one(app: str, container: RunningContainer, port: int | None, manifest) -> health.Outcome:
    """The container's HTTP checks, then its settle time (scheduler.settle_time)."""
    disabled = set(filter(None, settings.get("checks", app, "disabled").split(",")))
    skipped = set(filter(None, settings.get("checks", app, "skipped").split(",")))
    if container.process in disabled | skipped:
        return health.Outcome(True, "checks disabled")
    started = time.monotonic()
    checks = checks_for(app, container.process, manifest)
    settle = settle_time(app, container.process, http_checked=bool(checks))
    for check in checks:
        outcome = health.wait_http(container, port or 5000, check, lambda: _still_running(container.id))
        if not outcome.ok:
            return outcome
    # Every container must stay up for the settle time, counted from its start: Docker's own
    # start time (the checks begin only after the start and the first inspect have returned),
    # never earlier than the moment we asked for the start, whatever dockerd's clock says.
    up_for = time.monotonic() - started
    if container.started_epoch is not None and container.launched_at is not None:
        up_for = max(up_for, min(time.time() - container.started_epoch, time.monotonic() - container.launched_at))
    remaining = settle - up_for
    deadline = time.monotonic() + max(0.0, remaining)
    while True:
        state = docker_api.container_state(container.id)
        if not state.get("Running") or state.get("Restarting") or docker_api.restart_count(container.id):
            code = state.get("ExitCode")
            return health.Outcome(False, f"the container stopped (exit code {code}) during the {settle:g}s settle time")
        if time.monotonic() >= deadline:
            return health.Outcome(True, "up")
        time.sleep(min(0.1, max(0.01, deadline - time.monotonic())))


def health_now(app: str, container: RunningContainer, port: int | None, manifest) -> health.Outcome:
    """One probe now (ps:report): the type's checks, once each, or 'up' for a steady container."""
    if container.state != "running":
        return health.Outcome(False, container.state)
    restarts = docker_api.restart_count(container.id)
    for check in checks_for(app, container.process, manifest):
        if not container.address:
            return health.Outcome(False, "no address")
        outcome = health.probe_http(container.address, check.port or port or 5000,
                                    dataclasses.replace(check, timeout=min(check.timeout, 2.0)))
        if not outcome.ok:
            return outcome
    if restarts:
        return health.Outcome(False, f"restarted {restarts} time(s)")
    return health.Outcome(True, "healthy")


def health_all(app: str, containers: list[RunningContainer], port: int | None, manifest) -> list[health.Outcome]:
    if not containers:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(containers))) as pool:
        return list(pool.map(lambda c: health_now(app, c, port, manifest), containers))


def check_all(app: str, containers: list[RunningContainer], port: int | None, manifest, meanwhile=None):
    """[(container, outcome)]; `meanwhile()` runs on this thread while the checks run (its
    error is raised once they have ended)."""
    if not containers:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(containers))) as pool:
        checking = [pool.submit(check_one, app, c, port, manifest) for c in containers]
        if meanwhile is not None:
            meanwhile()
        return [(c, future.result()) for c, future in zip(containers, checking)]


def stop_all(containers: list[RunningContainer], timeout: int) -> None:
    if not containers:
        return
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(containers))) as pool:
        list(pool.map(lambda c: docker_api.stop_and_remove(c.id, timeout), containers))


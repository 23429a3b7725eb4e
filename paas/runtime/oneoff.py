"""One-off containers: the release phase, predeploy/postdeploy, and `paas run`."""

from __future__ import annotations

import secrets
import signal
import shutil
import subprocess
from typing import Callable

from paas import names
from paas.models import Release
from paas.runtime import docker_api, network, plan


def _env(app: str, release: Release, extra: dict[str, str] | None = None) -> dict[str, str]:
    from paas.deploy import port_of

    env = plan.base_env(app, release, port_of(release))
    env["PAAS_PROCESS"] = "run.1"
    env.update(extra or {})
    return env


def _labels(app: str, release: Release, role: str) -> dict[str, str]:
    from paas import procs

    # The owner removes it when done; one killed first (kill -9, a reboot) cannot, so a
    # retire removes one-offs whose owner is gone (deploy.orphaned_one_offs).
    return {
        names.LABEL_APP: app, names.LABEL_PROCESS: role, names.LABEL_INDEX: "1",
        names.LABEL_RELEASE: str(release.version), names.LABEL_ROLE: role,
        names.LABEL_OWNER: procs.identity(),
    }


def run_captured(app: str, release: Release, argv: list[str], role: str, on_line: Callable[[str], None],
                 extra_env: dict[str, str] | None = None) -> int:
    """Run to completion, streaming output lines; the container is removed afterwards."""
    container = docker_api.create_and_start(
        f"{app}.{role}.v{release.version}.{secrets.token_hex(3)}", release.image, command=argv,
        environment=_env(app, release, extra_env), labels=_labels(app, release, role), init=True,
        log_config=docker_api.LOG_CONFIG,
    )
    try:
        buffer = b""
        for chunk in container.logs(stream=True, follow=True):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                on_line(line.decode("utf-8", "replace"))
        if buffer:
            on_line(buffer.decode("utf-8", "replace"))
        return int(container.wait().get("StatusCode", 1))
    finally:
        try:
            container.remove(force=True)
        except Exception:
            pass


def run_attached(app: str, release: Release, argv: list[str], extra_env: dict[str, str], tty: bool) -> int:
    """Interactive: the docker CLI gives a real TTY and stdin; its exit code becomes ours.

    The container is created through the SDK, config included, and the CLI only attaches to it
    (`docker start -ai`): config values never reach the CLI's own environment, where a value
    like LD_PRELOAD or DOCKER_HOST would change what the CLI itself does, nor a process list.
    """
    docker = shutil.which("docker")
    if docker is None:
        return run_captured(app, release, argv, "run", lambda line: print(line, flush=True), extra_env)
    container = docker_api.client().containers.create(
        release.image, command=argv, name=f"{app}.run.v{release.version}.{secrets.token_hex(3)}",
        environment=_env(app, release, extra_env), labels=_labels(app, release, "run"),
        stdin_open=True, tty=tty, init=True, log_config=docker_api.LOG_CONFIG, **network.endpoint(docker_api.api()),
    )
    # A client that leaves makes the SSH entry SIGTERM its process group (this process and the
    # CLI): exit through `finally`, which removes (and so stops) the container.
    handlers = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return subprocess.call([docker, "start", "--attach", "--interactive", container.id])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        try:
            container.remove(force=True)
        except Exception:
            pass


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)

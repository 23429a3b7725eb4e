"""The Docker adapter: the one module that imports `docker`.

Every Docker SDK error is translated here into the project's own errors, with a message a
user can act on.
"""

from __future__ import annotations

import functools
import os
import sys
from collections import deque
from pathlib import Path
from typing import Callable, Iterator

from paas import locks, names
from paas.errors import BuildFailed, NotFound, PaasError, ServiceUnavailable
from paas.models import RunningContainer

LOG_CONFIG = {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}


@functools.lru_cache(maxsize=1)
def sdk():
    """`import docker`, without its optional paramiko (ssh:// daemons; ours is a unix socket).

    That import is 70 ms of every deploy's start-up; the SDK skips ssh support on ImportError,
    which a None entry in sys.modules gives. The entry is removed again, so a later
    `import paramiko` in this process still works."""
    wants_ssh = os.environ.get("DOCKER_HOST", "").startswith("ssh://")
    blocked = "paramiko" not in sys.modules and not wants_ssh
    if blocked:
        sys.modules["paramiko"] = None
    try:
        import docker
    finally:
        if blocked and sys.modules.get("paramiko", False) is None:
            del sys.modules["paramiko"]
    return docker


@functools.lru_cache(maxsize=1)
def client():
    docker = sdk()

    try:
        c = docker.from_env(timeout=300)
        c.ping()
    except Exception as exc:  # docker raises several unrelated types here
        raise ServiceUnavailable(
            f"Docker is not answering: {exc}",
            hint="start it (scripts/bootstrap starts dockerd), then try again",
        ) from None
    return c


def api():
    return client().api


def _errors():
    return sdk().errors


# Images ------------------------------------------------------------------------


def image_exists(name: str) -> bool:
    try:
        client().images.get(name)
        return True
    except _errors().ImageNotFound:
        return False


def local_image(name: str) -> tuple[str, list[str]] | None:
    """(id, tags) of the image `name` resolves to in the local store (a tag, an id or an id
    prefix, as a build's FROM would find it); None when a build would have to pull it."""
    try:
        image = client().images.get(name)
    except (_errors().ImageNotFound, _errors().InvalidRepository):
        return None
    except _errors().APIError as exc:
        if exc.status_code in (400, 404):  # a reference Docker cannot parse: no local image either
            return None
        raise
    return image.id, list(image.tags)


def image_id(name: str) -> str:
    try:
        return client().images.get(name).id
    except _errors().ImageNotFound:
        raise NotFound(f"image {name} does not exist") from None


def image_config(name: str) -> dict:
    try:
        return client().images.get(name).attrs.get("Config") or {}
    except _errors().ImageNotFound:
        raise NotFound(f"image {name} does not exist") from None


def require_image(name: str) -> None:
    """`name` is on this host, or pulled now; NotFound otherwise."""
    if not image_exists(name) and not try_pull(name):
        raise NotFound(f"image {name} is not on this host and cannot be pulled")


def try_pull(name: str) -> bool:
    try:
        client().images.pull(name)
        return True
    except _errors().APIError:
        return False


def tag(image: str, target: str) -> None:
    """Give `image` the full tag `target` (repository:tag)."""
    repository, _, tag_name = target.rpartition(":")
    client().images.get(image).tag(repository, tag_name)


def import_rootfs(tarball: Path, image: str, changes: list[str]) -> None:
    repository, _, tag_name = image.partition(":")
    result = api().import_image_from_file(str(tarball), repository=repository, tag=tag_name, changes=changes)
    if "error" in str(result).lower() and not image_exists(image):
        raise BuildFailed(f"importing the stack failed: {result}")


def build(
    context: Path,
    dockerfile: str,
    tag_name: str,
    labels: dict[str, str],
    limits: dict,
    on_line: Callable[[str], None],
    buildargs: dict[str, str] | None = None,
) -> str:
    """Build with the classic builder, streaming lines; returns the image id.

    Only the last 50 lines are kept for the error message, so huge output costs no memory.
    """
    with locks.image_store(removing=False):
        return _build(context, dockerfile, tag_name, labels, limits, on_line, buildargs)


def _build(context, dockerfile, tag_name, labels, limits, on_line, buildargs) -> str:
    tail: deque[str] = deque(maxlen=50)
    image = None
    try:
        stream = api().build(
            path=str(context), dockerfile=dockerfile, tag=tag_name, labels=labels, rm=True,
            forcerm=True, decode=True, container_limits=limits, buildargs=buildargs or {},
            network_mode="default",
        )
        for chunk in stream:
            if "stream" in chunk:
                for line in chunk["stream"].splitlines():
                    if line.strip():
                        tail.append(line)
                        on_line(line)
            elif "error" in chunk:
                from paas import console

                message = console.plain(chunk.get("error", "").strip())
                raise BuildFailed(
                    "the build failed: " + message,
                    hint="\n".join(console.plain(line) for line in list(tail)[-20:]) if tail else None,
                )
            elif "aux" in chunk and "ID" in chunk["aux"]:
                image = chunk["aux"]["ID"]
    except _errors().APIError as exc:
        raise BuildFailed(f"the build failed: {exc.explanation or exc}") from None
    return image or image_id(tag_name)


def remove_image(name: str) -> bool:
    try:
        with locks.image_store(removing=True):
            client().images.remove(name, noprune=False)
        return True
    except _errors().ImageNotFound:
        return False
    except _errors().APIError:
        return False  # still used by a container: the next cleanup gets it


def app_images(app: str) -> list[tuple[str, str]]:
    """(tag, image id) of every paas/<app>:vN tag. Apps built from identical trees share one
    image, so the image's other apps' tags are left out: they are not this app's to remove."""
    return [(tag_name, image.id) for image in client().images.list(name=names.image_repo(app))
            for tag_name in image.tags if names.release_tag_app(tag_name) == app]


def prune_dangling() -> int:
    with locks.image_store(removing=True):
        report = api().prune_images(filters={"dangling": True})
    return len(report.get("ImagesDeleted") or [])


# Network and containers ---------------------------------------------------------


def _address(attrs: dict) -> str | None:
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for name in (names.NETWORK, names.LEGACY_NETWORK):
        address = (networks.get(name) or {}).get("IPAddress")
        if address:
            return address
    return None


def _to_running(container) -> RunningContainer:
    labels = container.labels or {}
    attrs = container.attrs
    address = _address(attrs)
    port = labels.get(names.LABEL_PORT)
    return RunningContainer(
        id=container.id,
        name=container.name,
        app=labels.get(names.LABEL_APP, ""),
        process=labels.get(names.LABEL_PROCESS, ""),
        index=int(labels.get(names.LABEL_INDEX, "0") or 0),
        release=int(labels.get(names.LABEL_RELEASE, "0") or 0),
        role=labels.get(names.LABEL_ROLE, "process"),
        state=(attrs.get("State") or {}).get("Status", container.status),
        address=address,
        port=int(port) if port and port.isdigit() else None,
        started_at=(attrs.get("State") or {}).get("StartedAt"),
        created=attrs.get("Created"),
        owner=labels.get(names.LABEL_OWNER),
    )


def list_containers(app: str | None = None, role: str | None = None) -> list[RunningContainer]:
    filters = [f"{names.LABEL_APP}={app}" if app else names.LABEL_APP]
    if role:
        filters.append(f"{names.LABEL_ROLE}={role}")
    # Containers vanish between list and inspect (a retire running meanwhile): skip them.
    found = client().containers.list(all=True, filters={"label": filters}, ignore_removed=True)
    return sorted((_to_running(c) for c in found), key=lambda c: (c.app, c.process, c.index, c.release))


def get_container(container_id: str) -> RunningContainer | None:
    try:
        return _to_running(client().containers.get(container_id))
    except _errors().NotFound:
        return None


def run_container(
    *, name: str, image: str, command: list[str] | str | None, env: dict[str, str], labels: dict[str, str],
    memory: str | None = None, cpus: float | None = None, restart_policy: str = "unless-stopped",
    entrypoint: list[str] | None = None,
) -> RunningContainer:
    kwargs = {}
    if memory:
        kwargs["mem_limit"] = memory
    if cpus:
        kwargs["nano_cpus"] = int(float(cpus) * 1e9)
    policy = {"Name": restart_policy} if restart_policy != "no" else None
    if restart_policy == "on-failure":
        policy["MaximumRetryCount"] = 10
    container = create_and_start(
        name, image, command=command, entrypoint=entrypoint, environment=env, labels=labels, init=True,
        restart_policy=policy, log_config=LOG_CONFIG, **kwargs,
    )
    container.reload()
    return _to_running(container)


def create_and_start(name: str, image: str, **create_kwargs):
    """A container on the app network at an address paas chose, started; the SDK container.

    create + start, not the SDK's run(): run() answers a missing image by pulling it from a
    registry, and leaves the container behind when its start fails."""
    from paas.runtime import network

    for attempt in range(3):
        try:
            container = client().containers.create(image, name=name, **network.endpoint(api()), **create_kwargs)
        except _errors().ImageNotFound:
            raise NotFound(f"image {image} does not exist") from None
        except _errors().APIError as exc:
            raise PaasError(f"creating container {name} failed: {exc.explanation or exc}") from None
        try:
            container.start()
            return container
        except _errors().APIError as exc:
            _remove_quietly(container)
            if network.ADDRESS_IN_USE in str(exc) and attempt < 2:
                continue  # another command took the same address a moment earlier: pick again
            raise PaasError(f"starting container {name} failed: {exc.explanation or exc}") from None
    raise AssertionError("unreachable")


def _remove_quietly(container) -> None:
    try:
        container.remove(force=True)
    except _errors().APIError:
        pass


def container_state(container_id: str) -> dict:
    try:
        return client().containers.get(container_id).attrs.get("State") or {}
    except _errors().NotFound:
        return {}


def stop_and_remove(container_id: str, timeout: int) -> None:
    try:
        container = client().containers.get(container_id)
    except _errors().NotFound:
        return
    try:
        container.stop(timeout=timeout)
    except _errors().APIError:
        pass
    try:
        container.remove(force=True)
    except _errors().NotFound:
        pass
    except _errors().APIError as exc:
        if "already in progress" not in str(exc):
            raise


def start(container_id: str) -> None:
    client().containers.get(container_id).start()


def log_tail(container_id: str, lines: int = 50) -> str:
    try:
        data = client().containers.get(container_id).logs(tail=lines, stdout=True, stderr=True)
    except _errors().NotFound:
        return ""
    return data.decode("utf-8", "replace")


def stream_logs(container_id: str, follow: bool, tail: int | str, since=None, timestamps: bool = False) -> Iterator[bytes]:
    try:
        container = client().containers.get(container_id)
        yield from container.logs(stream=True, follow=follow, tail=tail, timestamps=timestamps, since=since)
    except _errors().NotFound:
        return



def restart_count(container_id: str) -> int:
    try:
        return int(client().containers.get(container_id).attrs.get("RestartCount") or 0)
    except _errors().NotFound:
        return 0


"""Merged app logs, prefixed `web.1 |`: the last N lines of all containers in time order,
then (with follow) each container's new lines as they come, new containers included.

Docker stamps every line (RFC 3339, nanoseconds). History is read stamped from every
container at once and merged by stamp; following then starts each container just after
the last line shown of it, so nothing is shown twice or lost in between.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

from paas import console
from paas.models import stamp_epoch, stamp_sort_key

COLOURS = ("36", "33", "35", "32", "34", "31")


def _prefix(label: str, colour_index: int) -> str:
    text = f"{label} |"
    if console._colour(sys.stdout):
        return f"\033[{COLOURS[colour_index % len(COLOURS)]}m{text}\033[0m"
    return text


def split_stamp(raw: bytes) -> tuple[str, str]:
    """(stamp, text) of one line docker gave with timestamps=True."""
    stamp, _, text = raw.decode("utf-8", "replace").partition(" ")
    return stamp, text


def _lines(chunks) -> Iterator[bytes]:
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        yield from complete
    if buffer:
        yield buffer


def label_of(container) -> str:
    return f"{container.process}.{container.index}"


def history(containers, lines: int) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """The last `lines` lines of all `containers` together, oldest first, as (stamp, label,
    text); and per container id the stamp of the newest line read of it (where following
    picks up: a line read but cut from the last `lines` is not shown later either)."""
    from paas.runtime import docker_api

    if lines <= 0 or not containers:
        return [], {}

    def read(container):
        raw = docker_api.stream_logs(container.id, follow=False, tail=lines, timestamps=True)
        return [(*split_stamp(line), container) for line in _lines(raw)]

    with ThreadPoolExecutor(max_workers=min(10, len(containers))) as pool:
        found = [entry for entries in pool.map(read, containers) for entry in entries]
    found.sort(key=lambda entry: stamp_sort_key(entry[0]))
    newest = {container.id: stamp for stamp, _, container in found}  # sorted: the last one wins
    return [(stamp, label_of(container), text) for stamp, text, container in found[-lines:]], newest


def _follow(container, after: str | None, since: float, out: queue.Queue) -> None:
    """New lines of one container: those stamped after `after` (the newest one read of it),
    or, for a container with nothing read yet, those since `since` (the command's start)."""
    from paas.runtime import docker_api

    label = label_of(container)
    start = stamp_epoch(after) if after else None
    chunks = docker_api.stream_logs(container.id, follow=True, tail="all", timestamps=True,
                                    since=start if start is not None else since)
    for line in _lines(chunks):
        stamp, text = split_stamp(line)
        if after is None or stamp_sort_key(stamp) > stamp_sort_key(after):
            out.put((label, text))
    out.put((label, None))


def show(app: str, follow: bool, lines: int, process: str | None, still_allowed=lambda: True) -> None:
    """The last `lines` lines of every container, merged; with `follow`, new lines as they come
    until interrupted or `still_allowed()` says no more (checked every second)."""
    from paas.runtime import docker_api

    def wanted():
        found = docker_api.list_containers(app)
        return [c for c in found if c.role == "process" and (process is None or c.process == process)]

    started = time.time()
    containers = wanted()
    if not containers and not follow:
        console.out(f"{app} has no containers to read logs from")
        return
    colours: dict[str, int] = {}

    def write(label: str, text: str) -> None:
        colour = colours.setdefault(label, len(colours))
        sys.stdout.write(f"{_prefix(label, colour)} {text}\n")

    shown, newest = history(containers, lines)
    for _, label, text in shown:
        write(label, text)
    sys.stdout.flush()
    if follow:
        _follow_all(app, wanted, containers, started, newest, write, still_allowed)


def _follow_all(app: str, wanted, containers, started: float, newest: dict[str, str], write,
                still_allowed) -> None:
    """Every container's new lines as they come, new containers included, until interrupted
    or the app is gone."""
    out: queue.Queue = queue.Queue()
    seen: set[str] = set()

    def attach(found) -> None:
        for container in found:
            if container.id not in seen:
                seen.add(container.id)
                threading.Thread(target=_follow, args=(container, newest.get(container.id), started, out),
                                 daemon=True).start()

    attach(containers)
    last_scan = time.monotonic()
    while True:
        try:
            label, text = out.get(timeout=0.5)
            if text is not None:  # None: that container's stream ended
                write(label, text)
                sys.stdout.flush()
        except queue.Empty:
            pass
        if time.monotonic() - last_scan > 1.0:
            last_scan = time.monotonic()
            if not still_allowed():
                console.out(f"{app} was destroyed or renamed, or your access to it ended; no more logs")
                return
            attach(wanted())

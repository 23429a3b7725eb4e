"""Merged app logs: one thread per container feeding one queue, prefixed `web.1 |`.

With follow, new containers (redeploys, scale changes) are picked up as they appear.
"""

from __future__ import annotations

import queue
import sys
import threading
import time

from paas import console

COLOURS = ("36", "33", "35", "32", "34", "31")


def _prefix(label: str, colour_index: int) -> str:
    text = f"{label} |"
    if console._colour(sys.stdout):
        return f"\033[{COLOURS[colour_index % len(COLOURS)]}m{text}\033[0m"
    return text


def _pump(container, follow: bool, lines: int, out: queue.Queue, since: int | None) -> None:
    from paas.runtime import docker_api

    label = f"{container.process}.{container.index}"
    buffer = b""
    for chunk in docker_api.stream_logs(container.id, follow=follow, tail=lines, since=since):
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            out.put((label, line.decode("utf-8", "replace")))
    if buffer:
        out.put((label, buffer.decode("utf-8", "replace")))
    out.put((label, None))


def show(app: str, follow: bool, lines: int, process: str | None) -> None:
    from paas.runtime import docker_api

    def wanted():
        found = docker_api.list_containers(app)
        return [c for c in found if c.role == "process" and (process is None or c.process == process)]

    out: queue.Queue = queue.Queue()
    seen: set[str] = set()
    active = 0
    colours: dict[str, int] = {}
    started = int(time.time())

    def attach(containers, history: bool) -> int:
        count = 0
        for container in containers:
            if container.id in seen:
                continue
            seen.add(container.id)
            threading.Thread(
                target=_pump, args=(container, follow, lines if history else 0, out, None if history else started),
                daemon=True,
            ).start()
            count += 1
        return count

    active += attach(wanted(), history=True)
    if not follow and active == 0:
        console.out(f"{app} has no containers to read logs from")
        return
    last_scan = time.monotonic()
    while active > 0 or follow:
        try:
            label, line = out.get(timeout=0.5)
        except queue.Empty:
            label = None
        if label is not None:
            if line is None:
                active -= 1
            else:
                colour = colours.setdefault(label, len(colours))
                sys.stdout.write(f"{_prefix(label, colour)} {line}\n")
                sys.stdout.flush()
        if follow and time.monotonic() - last_scan > 1.0:
            last_scan = time.monotonic()
            active += attach(wanted(), history=False)

"""paas logs: history merged across containers by Docker's stamps; following picks up after it."""

from __future__ import annotations

import queue

from paas import logs
from paas.models import RunningContainer
from paas.runtime import docker_api


def container(cid: str, index: int) -> RunningContainer:
    return RunningContainer(id=cid, name=cid, app="web", process="web", index=index, release=1,
                            role="process", state="running")


STREAMS = {
    # Docker's stamps; a fraction may come shorter than nine digits.
    "a": [b"2026-11-29T05:00:01.000000001Z one\n", b"2026-11-29T05:00:03.5Z three\n",
          b"2026-11-29T05:00:05.000000000Z five\n"],
    "b": [b"2026-11-29T05:00:02.000000000Z two\n2026-11-29T05:00:04.000000000Z fo",
          b"ur\n2026-11-29T05:00:03.49Z between\n"],
}


def fake_stream(container_id, follow, tail, since=None, timestamps=False):
    assert timestamps, "history must be read stamped"
    yield from STREAMS[container_id]


def test_history_is_the_last_n_lines_of_all_containers_in_time_order(monkeypatch):
    monkeypatch.setattr(docker_api, "stream_logs", fake_stream)
    shown, newest = logs.history([container("a", 1), container("b", 2)], 4)
    assert [(label, text) for _, label, text in shown] == [
        ("web.2", "between"), ("web.1", "three"), ("web.2", "four"), ("web.1", "five")]
    # Following picks up after the newest line read of each, shown or not.
    assert newest == {"a": "2026-11-29T05:00:05.000000000Z", "b": "2026-11-29T05:00:04.000000000Z"}


def test_no_history_is_read_for_n_0(monkeypatch):
    monkeypatch.setattr(docker_api, "stream_logs", lambda *a, **k: iter(()))
    assert logs.history([container("a", 1)], 0) == ([], {})


def test_following_shows_only_lines_after_the_history(monkeypatch):
    asked = {}

    def stream(container_id, follow, tail, since=None, timestamps=False):
        asked.update(follow=follow, since=since, timestamps=timestamps)
        yield b"2026-11-29T05:00:05.000000000Z five\n2026-11-29T05:00:06.25Z six\n"

    monkeypatch.setattr(docker_api, "stream_logs", stream)
    out: queue.Queue = queue.Queue()
    logs._follow(container("a", 1), "2026-11-29T05:00:05.000000000Z", since=0.0, out=out)
    assert [out.get_nowait() for _ in range(out.qsize())] == [("web.1", "six"), ("web.1", None)]
    assert asked["follow"] and asked["timestamps"] and asked["since"] == 1795928405.0


def test_following_ends_once_the_reader_may_no_longer_read(monkeypatch, capsys):
    # `logs -t` of a destroyed app (or by a key since removed) would otherwise go on for good.
    allowed = iter([True, False])
    monkeypatch.setattr(logs.time, "monotonic", iter(range(0, 100, 2)).__next__)  # each scan is due
    scans = []
    logs._follow_all("web", lambda: scans.append(1) or [], [], 0.0, {}, lambda label, text: None,
                     lambda: next(allowed))
    assert scans == [1]
    assert capsys.readouterr().out == "web was destroyed or renamed, or your access to it ended; no more logs\n"

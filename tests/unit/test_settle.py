"""The settle time: every new container must stay up that long, counted from Docker's start."""

from __future__ import annotations

import datetime
import types

import pytest

from paas import appjson, apps, settings
from paas.models import RunningContainer
from paas.runtime import scheduler

NOW = 1_800_000_000.0


class Clock:
    """time.monotonic/time/sleep for the scheduler: sleeping moves both clocks on."""

    def __init__(self):
        self.slept = 0.0

    def monotonic(self):
        return 100.0 + self.slept

    def time(self):
        return NOW + self.slept

    def sleep(self, seconds):
        self.slept += seconds


@pytest.fixture
def clock(paas_root, monkeypatch):
    apps.create("web")
    fake = Clock()
    monkeypatch.setattr(scheduler, "time", types.SimpleNamespace(monotonic=fake.monotonic, time=fake.time,
                                                                   sleep=fake.sleep))
    state = {"Running": True}
    monkeypatch.setattr(scheduler.docker_api, "container_state", lambda cid: state)
    monkeypatch.setattr(scheduler.docker_api, "restart_count", lambda cid: 0)
    return fake, state


def worker(started_at: str | None, launched_ago: float = 0.3) -> RunningContainer:
    """A worker Docker says it started at `started_at`; we asked for the start `launched_ago` s ago."""
    return RunningContainer(id="c1", name="worker-c1", app="web", process="worker", index=1, release=1,
                            role="process", state="running", started_at=started_at,
                            launched_at=100.0 - launched_ago)


@pytest.fixture
def half_second(clock):
    """The worker's settle time set to 0.5 s (`checks:set web worker.wait 0.5`)."""
    settings.set_value("checks", "web", "worker.wait", "0.5")
    return clock


def stamp(seconds_ago: float) -> str:
    when = datetime.datetime.fromtimestamp(NOW - seconds_ago, datetime.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"  # Docker gives nanoseconds


def test_time_since_dockers_start_counts_towards_the_settle_time(half_second):
    fake, _ = half_second
    outcome = scheduler.check_one("web", worker(stamp(0.15)), None, appjson.from_dict({}))
    assert outcome.ok
    assert fake.slept == pytest.approx(0.35, abs=0.011)


def test_the_whole_settle_time_is_waited_without_a_start_time(half_second):
    fake, _ = half_second
    for started_at in (None, "0001-01-01T00:00:00Z", "not a time"):
        fake.slept = 0.0
        assert scheduler.check_one("web", worker(started_at), None, appjson.from_dict({})).ok
        assert fake.slept == pytest.approx(0.5, abs=0.011)


def test_a_dockerd_clock_running_ahead_cannot_cut_the_settle_time_short(half_second):
    fake, _ = half_second
    # Docker's clock says it started an hour ago; we asked for the start 0.1 s ago.
    assert scheduler.check_one("web", worker(stamp(3600), launched_ago=0.1), None, appjson.from_dict({})).ok
    assert fake.slept == pytest.approx(0.4, abs=0.011)


def test_a_container_that_stops_within_the_settle_time_fails(half_second):
    fake, state = half_second

    def stop_after_a_while(seconds):
        Clock.sleep(fake, seconds)
        if fake.slept > 0.2:
            state.update(Running=False, ExitCode=3)

    scheduler.time.sleep = stop_after_a_while
    outcome = scheduler.check_one("web", worker(stamp(0.1)), None, appjson.from_dict({}))
    assert not outcome.ok and "exit code 3" in outcome.detail


def web_container() -> RunningContainer:
    return RunningContainer(id="c2", name="web-c2", app="web", process="web", index=1, release=1,
                            role="process", state="running", started_at=None, launched_at=100.0,
                            address="10.0.0.2")


def test_by_default_an_http_checked_container_settles_briefly_and_a_worker_for_a_second(clock, monkeypatch):
    fake, _ = clock
    monkeypatch.setattr(scheduler.health, "probe_http", lambda *a: scheduler.health.Outcome(True, "200"))
    assert scheduler.check_one("web", web_container(), 5000, appjson.from_dict({})).ok
    assert fake.slept == pytest.approx(scheduler.SETTLE_WITH_HTTP_CHECK, abs=0.011)
    fake.slept = 0.0
    assert scheduler.check_one("web", worker(None), None, appjson.from_dict({})).ok
    assert fake.slept == pytest.approx(scheduler.SETTLE_UNCHECKED, abs=0.011)


def test_the_settle_time_is_set_for_the_app_or_per_process_type(clock):
    from paas import settings

    assert scheduler.settle_time("web", "worker", http_checked=False) == scheduler.SETTLE_UNCHECKED
    assert scheduler.settle_time("web", "web", http_checked=True) == scheduler.SETTLE_WITH_HTTP_CHECK
    settings.set_value("checks", "web", "wait", "0.5")
    assert scheduler.settle_time("web", "web", http_checked=True) == 0.5
    assert scheduler.settle_time("web", "worker", http_checked=False) == 0.5
    settings.set_value("checks", "web", "worker.wait", "3")
    assert scheduler.settle_time("web", "worker", http_checked=False) == 3.0
    assert scheduler.settle_time("web", "web", http_checked=True) == 0.5
    settings.set_value("checks", "web", "worker.wait", "auto")  # back to the default for workers only
    assert scheduler.settle_time("web", "worker", http_checked=False) == scheduler.SETTLE_UNCHECKED
    assert scheduler.settle_time("web", "clock", http_checked=False) == 0.5

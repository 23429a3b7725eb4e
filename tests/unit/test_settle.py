"""The settle time of a deploy's checks (scheduler.check_one), with Docker's answers faked.

While a container settles, paas reads its state from the container list (an inspect would
wait out dockerd's post-start bookkeeping); once the settle time is over, one inspect also
catches a crash that the restart policy already hid.
"""

from __future__ import annotations

import time

import pytest

from paas import appjson, apps
from paas.models import RunningContainer
from paas.runtime import scheduler

WORKERS_ONLY = appjson.from_dict({})


def worker() -> RunningContainer:
    return RunningContainer(id="c1", name="w-c1", app="web", process="worker", index=1, release=1,
                            role="process", state="running")


@pytest.fixture
def docker(paas_root, monkeypatch):
    """Fake answers: `listed` is a list of states given out in turn (the last one repeats)."""
    apps.create("web")
    fake = {"listed": ["running"], "restarts": 0, "exit_code": 0, "inspects": 0, "lists": 0}

    def listed_state(cid):
        fake["lists"] += 1
        return fake["listed"].pop(0) if len(fake["listed"]) > 1 else fake["listed"][0]

    def restart_count(cid):
        fake["inspects"] += 1
        return fake["restarts"]

    monkeypatch.setattr(scheduler.docker_api, "listed_state", listed_state)
    monkeypatch.setattr(scheduler.docker_api, "restart_count", restart_count)
    monkeypatch.setattr(scheduler.docker_api, "container_state", lambda cid: {"ExitCode": fake["exit_code"]})
    return fake


def test_a_container_up_for_the_whole_settle_time_passes(docker):
    started = time.monotonic()
    outcome = scheduler.check_one("web", worker(), None, WORKERS_ONLY, settle=0.15)
    assert (outcome.ok, outcome.detail) == (True, "up")
    assert time.monotonic() - started >= 0.15
    assert docker["lists"] >= 2 and docker["inspects"] == 1


def test_a_container_that_stops_while_settling_fails_at_once_with_its_exit_code(docker):
    docker.update(listed=["running", "exited"], exit_code=3)
    started = time.monotonic()
    outcome = scheduler.check_one("web", worker(), None, WORKERS_ONLY, settle=5)
    assert not outcome.ok
    assert outcome.detail == "the container stopped (exit code 3) during the 5s settle time"
    assert time.monotonic() - started < 1


def test_a_crash_the_restart_policy_hid_fails_the_settle_time(docker):
    docker.update(restarts=1, exit_code=1)  # the list only ever saw it running
    outcome = scheduler.check_one("web", worker(), None, WORKERS_ONLY, settle=0.05)
    assert not outcome.ok and "exit code 1" in outcome.detail


def test_no_settle_time_needs_no_inspect(docker):
    """With `checks:set wait 0` nothing waits for dockerd: the list alone decides."""
    assert scheduler.check_one("web", worker(), None, WORKERS_ONLY, settle=0).ok
    assert docker["inspects"] == 0
    docker.update(listed=["exited"])
    assert not scheduler.check_one("web", worker(), None, WORKERS_ONLY, settle=0).ok

"""ps:restore keeps an app's containers only when its whole live formation came back."""

from __future__ import annotations

import pytest

from paas import apps, formation, releases
from paas.models import RunningContainer
from paas.runtime import health, scheduler


def running(process: str, index: int, release: int = 2, state: str = "running") -> RunningContainer:
    return RunningContainer(id=f"{process}{index}-{release}", name="x", app="demo", process=process, index=index,
                            release=release, role="process", state=state, address="172.18.0.9", port=5000)


@pytest.fixture
def live(paas_root):
    apps.create("demo")
    releases.create("demo", description="Deploy 1", status="retired", image="paas/demo:v1", processes={"web": "a"})
    release = releases.create("demo", description="Deploy 2", status="live", image="paas/demo:v2",
                              processes={"web": "a", "worker": "b", "release": "c"}, app_json={"_port": 5000})
    formation.set_quantities("demo", {"web": 2, "worker": 1})
    return release


@pytest.fixture
def answers(monkeypatch):
    state = {"ok": True}
    monkeypatch.setattr(scheduler, "health_all", lambda app, cs, port, manifest: [
        health.Outcome(state["ok"], "probe") for _ in cs])
    return state


WHOLE = [running("web", 1), running("web", 2), running("worker", 1)]


@pytest.mark.parametrize("containers,came_back", [
    (WHOLE, True),
    (WHOLE[:2], False),  # a worker missing
    ([running("web", 1), running("web", 1), running("worker", 1)], False),  # web.1 twice, no web.2
    ([*WHOLE[:2], running("worker", 1, state="exited")], False),
    ([*WHOLE[:2], running("worker", 1, release=1)], False),  # of an older release
    ([*WHOLE, running("clock", 1)], False),  # a type the release does not have
])
def test_came_back_needs_every_slot_of_the_live_release_running(live, deploy, answers, monkeypatch,
                                                                 containers, came_back):
    monkeypatch.setattr(deploy, "serving_containers", lambda app: containers)
    assert deploy._came_back("demo", live) is came_back


def test_came_back_needs_every_container_to_answer(live, deploy, answers, monkeypatch):
    monkeypatch.setattr(deploy, "serving_containers", lambda app: WHOLE)
    answers["ok"] = False
    assert deploy._came_back("demo", live) is False


def test_checks_of_releases_built_before_4xx_failed_keep_passing_a_4xx(live, deploy):
    checks = {"healthchecks": {"web": [{"type": "startup", "path": "/health"}]}}
    old = releases.create("demo", description="old build", status="retired", app_json={**checks, "_port": 5000})
    new = releases.create("demo", description="new build", status="retired",
                          app_json={**checks, "_port": 5000, "_checks_refuse_4xx": True})
    assert [c.max_status for c in deploy.manifest_of(old).healthchecks["web"]] == [499]
    assert [c.max_status for c in deploy.manifest_of(new).healthchecks["web"]] == [399]

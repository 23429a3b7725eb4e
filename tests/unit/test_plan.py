"""runtime/plan.py: the containers a release and formation want, and the scale diff (pure)."""

from __future__ import annotations

import pytest

from paas.models import ContainerSpec, Plan, Release, RunningContainer
from paas.runtime import plan

APP = "demo"
PORT = 5000


def release(version: int = 3, processes: dict | None = None, config: dict | None = None,
            image: str | None = "paas/demo:v3") -> Release:
    return Release(
        id=version, app_id=1, version=version, status="pending", description=f"Deploy v{version}",
        image=image, image_id="sha256:abc", git_sha="0" * 40, buildpack="python",
        processes={"web": "gunicorn app:app", "worker": "python worker.py"} if processes is None else processes,
        app_json={}, config={"GREETING": "hi"} if config is None else config,
        author="local:tester", created_at=0.0,
    )


def running(process: str, index: int, version: int = 2, cid: str | None = None) -> RunningContainer:
    return RunningContainer(
        id=cid or f"{process}{index}-v{version}", name=f"{APP}.{process}.{index}.v{version}.abc123", app=APP,
        process=process, index=index, release=version, role="process", state="running",
        address=f"172.18.0.{index + 10}", port=PORT if process == "web" else None,
    )


def ids(specs) -> list[str]:
    return [f"{s.process}.{s.index}" for s in specs]


def names_of(containers) -> list[str]:
    return [f"{c.process}.{c.index}" for c in containers]


# specs_for ------------------------------------------------------------------------------


def test_formation_defaults_web_one_others_zero():
    specs = plan.specs_for(APP, release(), {}, PORT, {})
    assert ids(specs) == ["web.1"]


def test_formation_quantities():
    specs = plan.specs_for(APP, release(), {"web": 2, "worker": 3}, PORT, {})
    assert ids(specs) == ["web.1", "web.2", "worker.1", "worker.2", "worker.3"]


def test_web_zero_starts_no_web():
    assert ids(plan.specs_for(APP, release(), {"web": 0, "worker": 1}, PORT, {})) == ["worker.1"]


def test_release_type_never_runs_as_a_process():
    rel = release(processes={"web": "x", "release": "./migrate"})
    assert ids(plan.specs_for(APP, rel, {"release": 2}, PORT, {})) == ["web.1"]


def test_formation_types_the_release_lacks_are_skipped():
    assert ids(plan.specs_for(APP, release(), {"clock": 2}, PORT, {})) == ["web.1"]


def test_release_without_web_starts_nothing_by_default():
    assert plan.specs_for(APP, release(processes={"worker": "w"}), {}, PORT, {}) == []


def test_spec_fields():
    rel = release(version=7, image="paas/demo:v7")
    web, worker = plan.specs_for(APP, rel, {"web": 1, "worker": 1}, 8000, {})
    assert web == ContainerSpec(
        app=APP, process="web", index=1, release=7, image="paas/demo:v7", command="gunicorn app:app",
        env={"GREETING": "hi", "PORT": "8000", "PAAS_APP": APP, "PAAS_RELEASE": "v7", "PAAS_PROCESS": "web.1"},
        port=8000, memory=None, cpus=None, role="process",
    )
    assert worker.port is None  # only web is routed
    assert worker.command == "python worker.py"
    assert worker.env["PORT"] == "8000"


def test_env_holds_port_app_release_process_and_the_config_snapshot():
    rel = release(version=4, config={"DATABASE_URL": "postgres://db/x", "EMPTY": "", "MULTI": "a\nb"})
    specs = plan.specs_for(APP, rel, {"web": 2}, PORT, {})
    assert specs[1].env == {
        "DATABASE_URL": "postgres://db/x", "EMPTY": "", "MULTI": "a\nb",
        "PORT": "5000", "PAAS_APP": APP, "PAAS_RELEASE": "v4", "PAAS_PROCESS": "web.2",
    }
    assert specs[0].env["PAAS_PROCESS"] == "web.1"


def test_env_is_the_release_snapshot_and_is_not_shared_between_specs():
    rel = release(config={"K": "v"})
    a, b = plan.specs_for(APP, rel, {"web": 2}, PORT, {})
    assert a.env is not b.env
    a.env["K"] = "changed"
    assert b.env["K"] == "v"
    assert rel.config == {"K": "v"}


def test_paas_variables_win_over_config_values():
    rel = release(config={"PORT": "1", "PAAS_APP": "other", "PAAS_RELEASE": "v99", "PAAS_PROCESS": "x"})
    (web,) = plan.specs_for(APP, rel, {}, PORT, {})
    assert (web.env["PORT"], web.env["PAAS_APP"], web.env["PAAS_RELEASE"], web.env["PAAS_PROCESS"]) == (
        "5000", APP, "v3", "web.1"
    )


def test_empty_command_means_the_image_default():
    (web,) = plan.specs_for(APP, release(processes={"web": ""}), {}, PORT, {})
    assert web.command is None


def test_missing_image_is_an_empty_string():
    (web,) = plan.specs_for(APP, release(image=None), {}, PORT, {})
    assert web.image == ""


def test_limits_per_process_type():
    limits = {"web": {"memory": "512m", "cpus": "0.5"}, "worker": {"memory": "", "cpus": ""}}
    web, worker = plan.specs_for(APP, release(), {"web": 1, "worker": 1}, PORT, limits)
    assert (web.memory, web.cpus) == ("512m", 0.5)
    assert (worker.memory, worker.cpus) == (None, None)


def test_base_env():
    assert plan.base_env(APP, release(version=9, config={"A": "1"}), 3000) == {
        "A": "1", "PORT": "3000", "PAAS_APP": APP, "PAAS_RELEASE": "v9",
    }


# plan_scale -------------------------------------------------------------------------


def scale(formation: dict, current: list[RunningContainer], rel: Release | None = None, limits=None) -> Plan:
    return plan.plan_scale(APP, rel or release(), formation, current, PORT, limits or {})


def test_nothing_changes_when_the_formation_is_met():
    current = [running("web", 1), running("worker", 1)]
    result = scale({"web": 1, "worker": 1}, current)
    assert result == Plan(start=(), stop=(), keep=tuple(current))


def test_scale_up_adds_the_next_indices_and_keeps_the_rest():
    current = [running("web", 1), running("web", 2), running("worker", 1)]
    result = scale({"web": 4, "worker": 1}, current)
    assert ids(result.start) == ["web.3", "web.4"]
    assert result.stop == ()
    assert names_of(result.keep) == ["web.1", "web.2", "worker.1"]


def test_started_specs_are_of_the_current_release_with_full_env():
    rel = release(version=5, config={"A": "1"}, image="paas/demo:v5")
    result = scale({"web": 2}, [running("web", 1, version=5)], rel=rel, limits={"web": {"memory": "256m"}})
    (new,) = result.start
    assert (new.release, new.image, new.port, new.memory, new.command) == (5, "paas/demo:v5", PORT, "256m",
                                                                           "gunicorn app:app")
    assert new.env == {"A": "1", "PORT": "5000", "PAAS_APP": APP, "PAAS_RELEASE": "v5", "PAAS_PROCESS": "web.2"}


def test_scale_down_stops_the_highest_indices():
    current = [running("web", 3), running("web", 1), running("web", 2)]
    result = scale({"web": 1}, current)
    assert result.start == ()
    assert names_of(result.stop) == ["web.2", "web.3"]
    assert names_of(result.keep) == ["web.1"]


def test_scale_to_zero_stops_every_container_of_the_type():
    current = [running("web", 1), running("worker", 1), running("worker", 2)]
    result = scale({"web": 1, "worker": 0}, current)
    assert names_of(result.stop) == ["worker.1", "worker.2"]
    assert names_of(result.keep) == ["web.1"]
    assert result.start == ()


def test_only_changed_types_move():
    current = [running("web", 1), running("web", 2), running("worker", 1)]
    result = scale({"web": 2, "worker": 3}, current)
    assert ids(result.start) == ["worker.2", "worker.3"]
    assert result.stop == ()
    assert set(names_of(result.keep)) == {"web.1", "web.2", "worker.1"}


def test_a_missing_index_is_filled_not_appended():
    current = [running("web", 1), running("web", 3)]
    result = scale({"web": 3}, current)
    assert ids(result.start) == ["web.2"]
    assert names_of(result.keep) == ["web.1", "web.3"]


def test_types_not_in_the_release_are_stopped():
    current = [running("web", 1), running("clock", 1), running("clock", 2)]
    result = scale({"web": 1, "clock": 2}, current, rel=release(processes={"web": "x"}))
    assert names_of(result.stop) == ["clock.1", "clock.2"]
    assert names_of(result.keep) == ["web.1"]
    assert result.start == ()


def test_defaults_when_the_formation_lacks_a_type():
    result = scale({}, [running("worker", 1)])
    assert ids(result.start) == ["web.1"]  # web defaults to 1
    assert names_of(result.stop) == ["worker.1"]  # others default to 0


def test_first_scale_with_nothing_running_starts_the_whole_formation():
    result = scale({"web": 2, "worker": 1}, [])
    assert ids(result.start) == ["web.1", "web.2", "worker.1"]
    assert result.stop == () and result.keep == ()


def test_release_type_is_never_started_or_stopped_by_scale():
    rel = release(processes={"web": "x", "release": "./migrate"})
    result = scale({"web": 1, "release": 3}, [running("web", 1)], rel=rel)
    assert result.start == () and result.stop == ()


@pytest.mark.parametrize("want", [0, 1, 2, 5])
def test_after_the_plan_the_type_has_exactly_indices_1_to_n(want):
    current = [running("web", i) for i in (1, 2, 4)]
    result = scale({"web": want}, current)
    after = {c.index for c in result.keep} | {s.index for s in result.start}
    assert after == set(range(1, want + 1))
    assert {c.index for c in result.stop} == {1, 2, 4} - set(range(1, want + 1))

"""ps:restart releases config changed with --no-restart (or globally); a restart of one type
and ps:restore leave it waiting."""

from __future__ import annotations

import pytest

from paas import apps, config, releases


@pytest.fixture
def live(paas_root):
    apps.create("demo")
    releases.create("demo", description="Deploy 1", status="live", image="paas/demo:v1",
                    processes={"web": "serve", "worker": "work"}, config={"A": "1", "GONE": "x"})
    config.set_vars("demo", {"A": "1", "GONE": "x"})
    return "demo"


@pytest.fixture
def activated(deploy, monkeypatch) -> list:
    calls = []
    monkeypatch.setattr(deploy, "activate", lambda app, release, release_phase=True, only=None: calls.append(
        (release.version, release.config, release.description, release_phase, only)))
    return calls


def _change_without_restart():
    config.set_vars("demo", {"A": "2"})
    config.unset_vars("demo", ["GONE"])
    config.set_vars(None, {"G": "g"})


def test_a_restart_without_waiting_config_restarts_the_live_release(live, deploy, activated):
    deploy.restart("demo")
    assert activated == [(1, {"A": "1", "GONE": "x"}, "Deploy 1", False, None)]


def test_a_restart_releases_the_config_changed_since(live, deploy, activated, capsys):
    _change_without_restart()
    deploy.restart("demo")
    assert activated == [(2, {"A": "2", "G": "g"}, "Restart with A, G, GONE", True, None)]
    assert "Releasing v2 with the config changed since v1: A, G, GONE" in capsys.readouterr().out


def test_a_restart_of_one_type_leaves_the_change_waiting(live, deploy, activated, capsys):
    _change_without_restart()
    deploy.restart("demo", "worker")
    assert activated == [(1, {"A": "1", "GONE": "x"}, "Deploy 1", False, {"worker"})]
    assert "Config changed since v1 (A, G, GONE) waits for ps:restart demo or the next deploy" in capsys.readouterr().out
    assert [r.version for r in releases.list_for("demo")] == [1]


def test_a_restore_brings_back_the_release_as_it_ran(live, deploy, activated):
    _change_without_restart()
    assert deploy.restore("demo") is True
    assert activated == [(1, {"A": "1", "GONE": "x"}, "Deploy 1", False, None)]


def test_changed_keys():
    assert config.changed_keys({"A": "1", "B": "2", "C": "3"}, {"A": "1", "B": "two", "D": "4"}) == ["B", "C", "D"]
    assert config.changed_keys({}, {}) == []


def test_a_failing_restart_names_the_config_it_released(live, deploy, monkeypatch):
    from paas.errors import DeployFailed

    def failing(app, release, release_phase=True, only=None):
        raise DeployFailed("web.1 failed its checks")

    monkeypatch.setattr(deploy, "activate", failing)
    config.set_vars("demo", {"A": "2"})
    with pytest.raises(DeployFailed) as info:
        deploy.restart("demo")
    assert info.value.hint == ("v2 ran with A changed since v1; fix or unset them (config:set / config:unset), "
                               "or run v1 again: paas releases:rollback demo v1")

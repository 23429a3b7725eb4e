"""releases:rollback's choice of target and its guard against a prune removing that image."""

from __future__ import annotations

import fcntl
import os

import pytest

from paas import apps, locks, paths, releases
from paas.errors import InvalidInput, NotFound
from paas.runtime import docker_api


@pytest.fixture
def history(paas_root):
    """demo: v1 and v2 retired, v3 live."""
    apps.create("demo")
    for version, status in ((1, "retired"), (2, "retired"), (3, "live")):
        releases.create("demo", description=f"Deploy {version}", status=status, image=f"paas/demo:v{version}",
                        processes={"web": "serve"}, config={"V": str(version)})
    return "demo"


def _prune_could_start() -> bool:
    """Whether a prune could take the image store now (from another open file, as another
    process would: flock locks belong to the open file)."""
    fd = os.open(paths.locks() / "images.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


@pytest.fixture
def activated(deploy, monkeypatch) -> list:
    went_live = []
    monkeypatch.setattr(deploy, "activate", lambda app, release: went_live.append(release))
    return went_live


def test_rollback_holds_the_image_store_from_its_image_check_to_the_pending_release(history, deploy, activated,
                                                                                    monkeypatch):
    # Until the pending release names the image, a prune may remove it as a retired release's.
    seen = []

    def image_exists(image):
        seen.append(("checked", _prune_could_start()))
        return True

    real_derived = deploy._derived_release

    def derived(*args, **kwargs):
        seen.append(("recorded", _prune_could_start()))
        return real_derived(*args, **kwargs)

    monkeypatch.setattr(docker_api, "image_exists", image_exists)
    monkeypatch.setattr(deploy, "_derived_release", derived)
    release = deploy.rollback("demo")
    assert seen == [("checked", False), ("recorded", False)]
    assert _prune_could_start()
    assert (release.version, release.image, release.config, release.description) == (
        4, "paas/demo:v2", {"V": "2"}, "Rollback to v2")
    assert activated == [release]


def test_rollback_to_a_pruned_image_changes_nothing(history, deploy, activated, monkeypatch):
    monkeypatch.setattr(docker_api, "image_exists", lambda image: False)
    with pytest.raises(NotFound, match="v1 was cleaned up"):
        deploy.rollback("demo", 1)
    assert [r.version for r in releases.list_for("demo")] == [3, 2, 1]
    assert activated == []
    assert _prune_could_start()


def test_rollback_refuses_a_release_that_never_ran(history, deploy, activated, monkeypatch):
    releases.create("demo", description="Deploy 4", status="failed", image="paas/demo:v4")
    monkeypatch.setattr(docker_api, "image_exists", lambda image: True)
    with pytest.raises(InvalidInput, match="v4 never ran successfully"):
        deploy.rollback("demo", 4)
    assert activated == []


def test_the_app_lock_is_not_left_held(history, deploy, activated, monkeypatch):
    monkeypatch.setattr(docker_api, "image_exists", lambda image: True)
    deploy.rollback("demo")
    with locks.hold("app-demo", "app demo", wait=0):
        pass


def test_a_rollback_makes_the_targets_config_the_apps(history, deploy, activated, monkeypatch):
    # As on Heroku; and a later ps:restart must not bring back the values rolled away from.
    from paas import config

    config.set_vars("demo", {"V": "3", "NEW": "x"})
    config.set_vars(None, {"V": "2"})  # a global now gives V=2: the app needs no value of its own
    monkeypatch.setattr(docker_api, "image_exists", lambda image: True)
    release = deploy.rollback("demo", 2)
    assert release.config == {"V": "2"}
    assert config.vars_of("demo") == {} and config.effective("demo") == {"V": "2"}
    assert config.changed_keys(release.config, config.effective("demo")) == []


def test_a_rollback_that_fails_leaves_the_config_as_it_was(history, deploy, monkeypatch):
    from paas import config
    from paas.errors import DeployFailed

    config.set_vars("demo", {"V": "3", "NEW": "x"})
    monkeypatch.setattr(docker_api, "image_exists", lambda image: True)

    def failing(app, release):
        raise DeployFailed("web.1: GET / answered 500")

    monkeypatch.setattr(deploy, "activate", failing)
    with pytest.raises(DeployFailed):
        deploy.rollback("demo", 2)
    assert config.vars_of("demo") == {"NEW": "x", "V": "3"}
    assert config.undo_unreleased("demo") == []  # nothing left noted

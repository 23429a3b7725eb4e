"""ps:scale with no pairs: the formation as the live release runs it."""

from __future__ import annotations

from paas import apps, formation, releases


def test_before_the_first_deploy_the_formation_set_so_far_is_shown(cli):
    apps.create("web")
    assert cli("ps:scale", "web").stdout.strip() == "web=1"
    formation.set_quantities("web", {"worker": 2})
    assert cli("ps:scale", "web").stdout.strip() == "web=1 worker=2"


def test_every_long_lived_type_of_the_live_release_is_shown_and_only_those(cli):
    apps.create("web")
    release = releases.create("web", description="d", status="live",
                              processes={"web": "gunicorn app", "worker": "python w.py", "release": "migrate"})
    assert cli("ps:scale", "web").stdout.strip() == "web=1 worker=0"  # never scaled: 0, not missing
    formation.set_quantities("web", {"worker": 2, "clock": 1})  # clock: a type this release lacks
    assert formation.shown("web", release) == {"web": 1, "worker": 2}


def test_a_worker_only_release_shows_no_web(cli):
    apps.create("jobs")
    releases.create("jobs", description="d", status="live", processes={"worker": "python w.py"})
    assert cli("ps:scale", "jobs").stdout.strip() == "worker=0"

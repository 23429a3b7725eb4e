"""apps.py, formation.py, releases.py and the state side of lifecycle.py."""

from __future__ import annotations

import json

import pytest

from paas import apps, config, formation, identity, lifecycle, releases, settings, store
from paas.errors import Conflict, InvalidInput, NotFound

from .conftest import FROZEN_TIME


# apps ----------------------------------------------------------------------------------

def test_create_get_list():
    created = apps.create("web", owner="local:tester")
    assert (created.name, created.owner, created.created_at) == ("web", "local:tester", FROZEN_TIME)
    apps.create("api")
    assert [a.name for a in apps.list_all()] == ["api", "web"]
    assert apps.get("web") == created
    assert apps.find("ghost") is None


def test_create_twice_conflicts():
    apps.create("web")
    with pytest.raises(Conflict, match=r"^app 'web' already exists$") as info:
        apps.create("web")
    assert info.value.exit_code == 4
    assert len(apps.list_all()) == 1


def test_get_missing_and_invalid():
    with pytest.raises(NotFound) as info:
        apps.get("ghost")
    assert (info.value.message, info.value.hint) == (
        "app 'ghost' does not exist", "list apps with: paas apps:list")
    assert info.value.exit_code == 3
    with pytest.raises(InvalidInput):
        apps.get("../ghost")


def test_rename_keeps_identity_and_data():
    web = apps.create("web")
    config.set_vars("web", {"A": "1"})
    renamed = apps.rename("web", "site")
    assert renamed.id == web.id and renamed.name == "site"
    assert apps.find("web") is None
    assert config.vars_of("site") == {"A": "1"}
    assert formation.get("site") == {"web": 1}


def test_rename_refusals():
    apps.create("web")
    apps.create("api")
    with pytest.raises(Conflict, match=r"^app 'api' already exists$"):
        apps.rename("web", "api")
    with pytest.raises(InvalidInput):
        apps.rename("web", "Site")
    with pytest.raises(NotFound):
        apps.rename("ghost", "site")
    assert [a.name for a in apps.list_all()] == ["api", "web"]


@pytest.mark.parametrize("table", ["images_left", "renamed_away"])
def test_a_name_its_previous_app_has_not_yet_freed_cannot_be_taken(table):
    # Destroyed (or renamed away) with images or containers left for `paas cleanup`: a new app
    # of that name could deploy those images and answer at the old hostname.
    from paas.errors import NameNotFreed

    with store.transaction() as db:
        db.execute(f"INSERT INTO {table} (app, at) VALUES ('old', 1)")
    with pytest.raises(NameNotFreed, match=r"^the name 'old' is not free yet") as info:
        apps.create("old")
    assert info.value.exit_code == 4 and "paas cleanup" in info.value.hint
    if table == "images_left":  # anyone's to deploy: no rename onto it either
        with pytest.raises(NameNotFreed):
            apps.require_free("old")
    else:  # a rename back to a name it left, or tried again after an undo, may take it
        apps.require_free("old")
    assert apps.find("old") is None
    with store.transaction() as db:
        db.execute(f"DELETE FROM {table} WHERE app = 'old'")  # cleanup removed what was left
    apps.create("old")


def test_delete_removes_every_row_of_the_app_and_nothing_else():
    apps.create("keep")
    config.set_vars("keep", {"K": "1"})
    config.set_vars(None, {"G": "1"})
    apps.create("web")
    web_id = apps.get("web").id
    config.set_vars("web", {"A": "1"})
    settings.set_value("checks", "web", "wait", "3")
    formation.set_quantities("web", {"worker": 2})
    releases.create("web", description="Deploy abc")
    with store.transaction() as db:
        db.execute("INSERT INTO domains (app_id, domain) VALUES (?, 'web.example.com')", (web_id,))
        db.execute("INSERT INTO ssh_keys VALUES ('alice', 'ssh-ed25519 AAAA', 'SHA256:x', 'user', 0)")
        db.execute("INSERT INTO acl (app_id, key_name) VALUES (?, 'alice')", (web_id,))
    apps.delete("web")
    for table in ("config", "settings", "formation", "releases", "domains", "acl"):
        rows = store.query(f"SELECT * FROM {table} WHERE app_id = ?", (web_id,))
        assert rows == [], table
    assert [a.name for a in apps.list_all()] == ["keep"]
    assert config.vars_of("keep") == {"K": "1"}
    assert config.vars_of(None) == {"G": "1"}
    assert len(store.query("SELECT * FROM ssh_keys")) == 1


def test_a_new_app_with_an_old_name_starts_clean():
    apps.create("web")
    config.set_vars("web", {"A": "1"})
    releases.create("web", description="one")
    apps.delete("web")
    apps.create("web")
    assert config.vars_of("web") == {}
    assert releases.list_for("web") == []
    assert formation.get("web") == {"web": 1}


# formation -----------------------------------------------------------------------------

def test_formation_defaults_scaling_and_seed():
    apps.create("web")
    assert formation.get("web") == {"web": 1}
    formation.set_quantities("web", formation.parse_changes(["web=3", "worker=0"]))
    assert formation.get("web") == {"web": 3, "worker": 0}
    # What a deploy plans with, written only when its release goes live.
    assert formation.with_seed("web", {"web": 5, "clock": 1}) == {"clock": 1, "web": 3, "worker": 0}
    assert formation.get("web") == {"web": 3, "worker": 0}
    formation.seed("web", {"web": 5, "clock": 1})  # hand-scaled types keep their value
    assert formation.get("web") == {"clock": 1, "web": 3, "worker": 0}
    apps.create("api")
    assert formation.with_seed("api", {"web": 0, "worker": 2}) == {"web": 0, "worker": 2}


@pytest.mark.parametrize(
    "items, message",
    [
        ([], "give TYPE=N pairs, for example web=3 worker=1"),
        (["web"], "'web' is not TYPE=N (N a whole number)"),
        (["web=-1"], "'web=-1' is not TYPE=N (N a whole number)"),
        (["web=1000"], "web=1000: at most 50 containers per process type"),
        (["web=999999999999"], "web=999999999999: at most 50 containers per process type"),
        (["web=1", "web=2"], "web is given twice"),
        (["web=0051"], "web=0051: at most 50 containers per process type"),
        (["web=x"], "'web=x' is not TYPE=N (N a whole number)"),
        (["web=51"], "web=51: at most 50 containers per process type"),
        (["Web=1"], "invalid process type 'Web': a lowercase letter first, then lowercase letters, "
                    "digits, '_' or '-', at most 30 characters"),
        (["a;b=1"], None),
        (["release=1"], "'release' is the release phase: it runs once per deploy and cannot be scaled"),
    ],
)
def test_formation_refusals(items, message):
    with pytest.raises(InvalidInput) as info:
        formation.parse_changes(items)
    if message:
        assert info.value.message == message


# releases ------------------------------------------------------------------------------

def test_releases_number_upwards_and_round_trip_json():
    apps.create("web")
    r1 = releases.create("web", description="Deploy 1", processes={"web": "gunicorn app"},
                         config={"A": "1"}, app_json={"formation": {"web": {"quantity": 2}}},
                         author="local:tester", git_sha="abc123")
    r2 = releases.create("web", description="Set A")
    assert (r1.version, r1.tag, r1.status, r2.version) == (1, "v1", "building", 2)
    assert r1.processes == {"web": "gunicorn app"} and r1.config == {"A": "1"}
    assert r1.app_json == {"formation": {"web": {"quantity": 2}}}
    assert [r.version for r in releases.list_for("web")] == [2, 1]
    assert [r.version for r in releases.list_for("web", limit=1)] == [2]
    assert releases.get("web", 1) == r1


def test_release_status_and_current():
    apps.create("web")
    releases.create("web", description="one")
    releases.create("web", description="two")
    assert releases.current("web") is None
    releases.mark_live("web", 1)
    assert releases.current("web").version == 1
    releases.mark_live("web", 2)
    assert releases.current("web").version == 2
    assert releases.get("web", 1).status == "retired"
    assert [r.status for r in releases.list_for("web")] == ["live", "retired"]


def test_release_update():
    apps.create("web")
    releases.create("web", description="one")
    updated = releases.update("web", 1, status="pending", image="paas/web:v1", processes={"web": "x"})
    assert (updated.status, updated.image, updated.processes) == ("pending", "paas/web:v1", {"web": "x"})
    with pytest.raises(ValueError):
        releases.update("web", 1, config={"A": "2"})  # a release's config never changes
    with pytest.raises(ValueError):
        releases.update("web", 1, **{"status = 'live', version": 9})


def test_release_lookup_errors():
    apps.create("web")
    with pytest.raises(NotFound) as info:
        releases.get("web", 4)
    assert (info.value.message, info.value.hint) == (
        "web has no release v4", "list them with: paas releases web")


@pytest.mark.parametrize("text, version", [("v1", 1), ("3", 3), ("v12", 12)])
def test_parse_version(text, version):
    assert releases.parse_version(text) == version


@pytest.mark.parametrize("text", ["", "v", "v0", "0", "-1", "v1.2", "vv1", "v\u00b2", "v\u0663", "latest"])
def test_parse_version_refuses(text):
    with pytest.raises(InvalidInput, match=r"^invalid release .*: use vN, for example v3$"):
        releases.parse_version(text)


def test_release_to_dict():
    apps.create("web")
    r = releases.create("web", description="d", config={"B": "2", "A": "1"}, buildpack="python")
    assert releases.to_dict(r, with_config=True) == {
        "version": "v1", "status": "building", "description": "d", "image": None,
        "image_id": None, "git_sha": None, "buildpack": "python", "processes": {},
        "author": None, "created_at": FROZEN_TIME, "config_keys": ["A", "B"],
    }
    assert "config_keys" not in releases.to_dict(r)
    assert json.dumps(releases.to_dict(r))  # serialisable for --format json


# lifecycle (state side; the runtime is the fake paas.deploy from conftest) ------------------

def _server_json(paas_root, **info):
    paas_root.mkdir(parents=True, exist_ok=True)
    (paas_root / "server.json").write_text(json.dumps(info))


def test_remote_and_url_from_server_json(paas_root):
    apps.create("web")
    assert (lifecycle.git_remote("web"), lifecycle.app_url("web")) == (None, None)
    _server_json(paas_root, ssh_port=2222, http_port=8080, domain="paas.test")
    assert lifecycle.git_remote("web") == "ssh://paas@127.0.0.1:2222/web"
    assert lifecycle.app_url("web") == "http://web.paas.test:8080"
    _server_json(paas_root, ssh_port=22, ssh_host="example.com", ssh_user="git", http_port=80,
                 domain="paas.test")
    assert lifecycle.git_remote("web") == "git@example.com:web"
    assert lifecycle.app_url("web") == "http://web.paas.test"
    settings.set_value("domains", None, "global", "apps.example.com")
    assert lifecycle.app_url("web") == "http://web.apps.example.com"


def test_broken_server_json_is_ignored(paas_root):
    paas_root.mkdir(parents=True)
    (paas_root / "server.json").write_text("{not json")
    assert lifecycle.server_info() == {}


def test_visibility_for_non_admin_keys():
    apps.create("mine", owner="alice")
    apps.create("shared", owner="bob")
    apps.create("theirs", owner="bob")
    with store.transaction() as db:
        db.execute("INSERT INTO ssh_keys VALUES ('alice', 'ssh-ed25519 AAAA', 'SHA256:x', 'user', 0)")
        db.execute("INSERT INTO acl (app_id, key_name) VALUES (?, 'alice')", (apps.get("shared").id,))
    alice = identity.Actor(name="alice", role="user", via_ssh=True)
    assert [lifecycle.can_access(a, alice) for a in apps.list_all()] == [True, True, False]
    assert [a.name for a in lifecycle.visible_apps()] == ["mine", "shared", "theirs"]  # admin
    identity.set_current(alice)  # restored by the autouse fixture's monkeypatch
    assert [a.name for a in lifecycle.visible_apps()] == ["mine", "shared"]


def test_summary_status():
    apps.create("web")
    assert lifecycle.summary(apps.get("web"))["status"] == "not deployed"
    releases.create("web", description="d", status="failed")
    assert lifecycle.summary(apps.get("web"))["status"] == "failed"
    releases.create("web", description="d", status="live")
    info = lifecycle.summary(apps.get("web"))
    assert (info["status"], info["release"]) == ("running", "v2")
    apps.set_stopped("web", True)  # ps:stop
    assert lifecycle.summary(apps.get("web"))["status"] == "stopped"


def test_rename_moves_the_repo_and_live_apps_go_through_deploy(paas_root, deploy_calls):
    apps.create("web")
    repo = paas_root / "repos" / "web.git"
    repo.mkdir(parents=True)
    (repo / "HEAD").write_text("ref: refs/heads/main\n")
    lifecycle.rename_app("web", "site")
    assert not repo.exists()
    assert (paas_root / "repos" / "site.git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert deploy_calls == []
    releases.create("site", description="d", status="live")
    lifecycle.rename_app("site", "blog")
    assert deploy_calls == [("rename_running", "site", "blog")]


def test_destroy_tears_down_removes_repo_and_state(paas_root, deploy_calls):
    apps.create("web")
    (paas_root / "repos" / "web.git" / "objects").mkdir(parents=True)
    config.set_vars("web", {"A": "1"})
    lifecycle.destroy_app("web")
    assert deploy_calls == [("teardown", "web")]
    assert not (paas_root / "repos" / "web.git").exists()
    assert apps.list_all() == [] and store.query("SELECT * FROM config") == []


def test_an_app_is_running_until_marked_stopped():
    apps.create("web")
    assert apps.get("web").stopped is False
    apps.set_stopped("web", True)
    assert apps.get("web").stopped is True and [a.stopped for a in apps.list_all()] == [True]
    apps.set_stopped("web", False)
    assert apps.get("web").stopped is False


@pytest.mark.parametrize("went_live", [False, True])
def test_a_config_change_killed_mid_release_is_undone_unless_it_went_live(went_live):
    apps.create("web")
    config.set_vars("web", {"KEPT": "1", "FLAVOUR": "mint"})
    v1 = releases.create("web", description="v1", status="built", image="paas/web:v1").version
    releases.mark_live("web", v1)
    before = config.vars_of("web")
    with store.transaction():
        changed = config.set_vars("web", {"FLAVOUR": "lime", "NEW": "x"})
        config.note_undo("web", before, changed, v1)
    if went_live:  # killed after the switch: the new values run, and stay
        releases.mark_live("web", releases.create("web", description="Set", status="built", image="paas/web:v1").version)
    put_back = config.undo_unreleased("web")
    if went_live:
        assert put_back == [] and config.vars_of("web") == {"KEPT": "1", "FLAVOUR": "lime", "NEW": "x"}
    else:
        assert sorted(put_back) == ["FLAVOUR", "NEW"] and config.vars_of("web") == {"KEPT": "1", "FLAVOUR": "mint"}
    assert config.undo_unreleased("web") == []  # told once


def test_scale_quantities_may_have_leading_zeros():
    from paas import formation

    assert formation.parse_changes(["web=0010", "worker=00"]) == {"web": 10, "worker": 0}


def test_what_a_failed_change_leaves_serving_is_said_plainly():
    apps.create("web")
    assert releases.still_serving("web") == "no release of web serves yet"
    releases.create("web", description="d", status="live")
    assert releases.still_serving("web") == "v1 keeps serving"
    assert releases.still_serving("ghost") == "no release of ghost serves yet"

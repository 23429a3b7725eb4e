"""settings.py: namespaced properties with defaults, app over global, per-process keys."""

from __future__ import annotations

import pytest

from paas import apps, settings, store
from paas.errors import InvalidInput, NotFound


@pytest.fixture
def web():
    apps.create("web")
    return "web"


def _rows():
    return [tuple(r) for r in store.query("SELECT * FROM settings ORDER BY app_id, namespace, key")]


def test_defaults(web):
    assert settings.get("checks", web, "wait") == "auto"
    assert settings.get("checks", web, "attempts") == "300"
    assert settings.get("ps", web, "strategy") == "start-first"
    assert settings.get("ps", web, "stop-timeout") == "10"
    assert settings.get("ps", web, "restart-policy") == "unless-stopped"
    assert settings.get("nginx", web, "client-max-body-size") == "10m"
    assert settings.get("git", web, "deploy-branch") == "main"
    assert settings.get("apps", None, "autocreate") == "true"
    assert settings.get("resource", web, "memory", process="web") == ""
    assert settings.get("domains", None, "global") == ""


def test_every_default_passes_its_own_validator():
    for prop in settings.PROPERTIES:
        if prop.default:
            assert prop.validate(prop.default) == prop.default, prop


def test_app_wins_over_global_wins_over_default(web):
    apps.create("api")
    settings.set_value("checks", None, "wait", "5")
    settings.set_value("checks", web, "wait", "7.5")
    assert settings.get("checks", web, "wait") == "7.5"
    assert settings.get("checks", "api", "wait") == "5"
    assert settings.get("checks", None, "wait") == "5"
    settings.set_value("checks", web, "wait", "")  # reset the app's value
    assert settings.get("checks", web, "wait") == "5"
    settings.set_value("checks", None, "wait", None)
    assert settings.get("checks", web, "wait") == "auto"
    assert _rows() == []


def test_per_process_keys(web):
    settings.set_value("ps", web, "worker.strategy", "stop-first")
    assert settings.get("ps", web, "strategy", process="worker") == "stop-first"
    assert settings.get("ps", web, "strategy", process="web") == "start-first"
    assert settings.get("ps", web, "strategy") == "start-first"
    settings.set_value("ps", web, "strategy", "stop-first")
    settings.set_value("ps", web, "worker.strategy", "start-first")
    assert settings.get("ps", web, "strategy", process="web") == "stop-first"
    assert settings.get("ps", web, "strategy", process="worker") == "start-first"
    settings.set_value("resource", web, "worker.memory", "512M")
    assert settings.get("resource", web, "memory", process="worker") == "512m"
    assert settings.get("resource", web, "memory", process="web") == ""


def test_per_process_precedence_app_plain_over_global_per_process(web):
    settings.set_value("ps", None, "worker.strategy", "stop-first")
    assert settings.get("ps", web, "strategy", process="worker") == "stop-first"
    settings.set_value("ps", web, "strategy", "start-first")
    # app (per process, then plain) over global
    assert settings.get("ps", web, "strategy", process="worker") == "start-first"


def test_values_are_normalised(web):
    settings.set_value("checks", web, "attempts", "007")
    settings.set_value("apps", None, "autocreate", "NO")
    settings.set_value("nginx", web, "client-max-body-size", "2G")
    settings.set_value("domains", None, "global", "Apps.Example.COM")
    assert settings.get("checks", web, "attempts") == "7"
    assert settings.get("apps", None, "autocreate") == "false"
    assert settings.get("nginx", web, "client-max-body-size") == "2g"
    assert settings.get("domains", None, "global") == "apps.example.com"


@pytest.mark.parametrize(
    "namespace, key, value, message",
    [
        ("checks", "wait", "-1", "expected seconds from 0 to 600 or auto, got '-1'"),
        ("checks", "wait", "601", "expected seconds from 0 to 600 or auto, got '601'"),
        ("checks", "wait", "1e3", "expected seconds from 0 to 600 or auto, got '1e3'"),
        ("checks", "worker.wait", "Auto", "expected seconds from 0 to 600 or auto, got 'Auto'"),
        ("checks", "attempts", "0", "expected a whole number from 1 to 3000, got '0'"),
        ("checks", "attempts", "ten", "expected a whole number from 1 to 3000, got 'ten'"),
        ("checks", "disabled", "web,Worker", None),
        ("ps", "strategy", "rolling", "expected one of start-first, stop-first, got 'rolling'"),
        ("ps", "worker.strategy", "both", "expected one of start-first, stop-first, got 'both'"),
        ("ps", "restart-policy", "sometimes",
         "expected one of unless-stopped, always, on-failure, no, got 'sometimes'"),
        ("ps", "stop-timeout", "3601", "expected a whole number from 0 to 3600, got '3601'"),
        ("nginx", "client-max-body-size", "0", "expected a size like 512m or 2g, got '0'"),
        ("nginx", "client-max-body-size", "10m; evil", "expected a size like 512m or 2g, got '10m; evil'"),
        ("nginx", "proxy-read-timeout", "60s", "expected a whole number from 1 to 86400, got '60s'"),
        ("resource", "web.cpus", "0", "expected a number of CPUs like 0.5 or 2, got '0'"),
        ("builder", "memory", "lots", "expected a size like 512m or 2g, got 'lots'"),
        ("git", "deploy-branch", "a..b", "invalid branch name 'a..b'"),
        ("git", "deploy-branch", "-main", "invalid branch name '-main'"),
        ("git", "deploy-branch", "main\n", "invalid branch name 'main\\n'"),
        ("apps", "autocreate", "maybe", "expected true or false, got 'maybe'"),
        # A probe with no time to answer fails every deploy (app.json's floor too).
        ("checks", "timeout", "0", "expected seconds from 0.1 to 600, got '0'"),
        # Docker refuses these at container create: refused here, before any restart.
        ("resource", "memory", "1k", "expected at least 6m of memory (Docker's smallest limit), got '1k'"),
        ("resource", "web.memory", "5m", "expected at least 6m of memory (Docker's smallest limit), got '5m'"),
        ("builder", "memory", "6000k", "expected at least 6m of memory (Docker's smallest limit), got '6000k'"),
        ("resource", "cpus", "999", None),
        # Names git refuses (or reads as something else) never match a pushed branch.
        ("git", "deploy-branch", "main.lock", "invalid branch name 'main.lock'"),
        ("git", "deploy-branch", "HEAD", "invalid branch name 'HEAD'"),
        ("git", "deploy-branch", "refs/heads/main", "invalid branch name 'refs/heads/main'"),
        ("git", "deploy-branch", "a//b", "invalid branch name 'a//b'"),
        ("git", "deploy-branch", "a/.b", "invalid branch name 'a/.b'"),
        ("git", "deploy-branch", "main.", "invalid branch name 'main.'"),
        ("git", "deploy-branch", "main/", "invalid branch name 'main/'"),
        ("domains", "global", "a..b", None),
        ("ps", "bogus", "1", "unknown ps property 'bogus'; known: stop-timeout, TYPE.strategy, restart-policy"),
        ("ps", "stop-timeout.x", "1", None),
        ("ps", "Web.strategy", "stop-first", None),
        ("ps", "web.stop-timeout", "1", None),  # not a per-process property
        ("nope", "x", "1", "unknown nope property 'x'; known: "),
    ],
)
def test_invalid_values_are_refused_and_nothing_is_stored(web, namespace, key, value, message):
    with pytest.raises(InvalidInput) as info:
        settings.set_value(namespace, web, key, value)
    if message is not None:
        assert info.value.message == message
    assert _rows() == []


@pytest.mark.parametrize(
    "namespace, key, value",
    [
        # Non-ASCII digits must not be stored verbatim into nginx configs or docker flags
        # (`re`'s \d matches any Unicode digit).
        ("nginx", "client-max-body-size", "1\u0660m"),  # ARABIC-INDIC DIGIT ZERO
        ("builder", "memory", "\u0662g"),
        ("resource", "web.cpus", "\u0662"),
        ("builder", "cpus", "\uff11"),  # FULLWIDTH DIGIT ONE
    ],
)
def test_non_ascii_digits_are_refused(web, namespace, key, value):
    with pytest.raises(InvalidInput):
        settings.set_value(namespace, web, key, value)
    assert _rows() == []


def test_unknown_app_is_not_found():
    with pytest.raises(NotFound):
        settings.set_value("checks", "ghost", "wait", "1")
    with pytest.raises(NotFound):
        settings.get("checks", "ghost", "wait")


def test_report_shows_value_and_origin(web):
    settings.set_value("ps", None, "stop-timeout", "20")
    settings.set_value("ps", web, "worker.strategy", "stop-first")
    settings.set_value("ps", None, "clock.strategy", "stop-first")
    assert settings.report("ps", web) == [
        ("stop-timeout", "20", "global"),
        ("strategy", "start-first", "default"),
        ("clock.strategy", "stop-first", "global"),
        ("worker.strategy", "stop-first", "app"),
        ("restart-policy", "unless-stopped", "default"),
    ]
    assert settings.report("ps", None) == [
        ("stop-timeout", "20", "global"),
        ("strategy", "start-first", "default"),
        ("clock.strategy", "stop-first", "global"),
        ("restart-policy", "unless-stopped", "default"),
    ]


def test_settings_follow_a_rename_and_go_with_the_app(web):
    settings.set_value("checks", web, "wait", "3")
    apps.rename(web, "site")
    assert settings.get("checks", "site", "wait") == "3"
    apps.delete("site")
    assert _rows() == []


def test_branch_names_git_accepts_pass(web):
    for branch in ("main", "release/2.1", "feature/x-y_z", "v1.0"):
        settings.set_value("git", web, "deploy-branch", branch)
        assert settings.get("git", web, "deploy-branch") == branch


def test_cpus_up_to_the_host_count_pass(web, monkeypatch):
    monkeypatch.setattr(settings.os, "cpu_count", lambda: 4)
    settings.set_value("resource", web, "cpus", "4")
    with pytest.raises(InvalidInput, match="this host has 4 CPUs; a limit of 4.5 cannot be given"):
        settings.set_value("resource", web, "cpus", "4.5")
    assert settings.get("resource", web, "cpus") == "4"
    settings.set_value("builder", web, "cpus", "8")  # a build is pinned to at most every core


def test_several_values_are_set_together_or_not_at_all(web):
    settings.set_value("checks", web, "wait", "1")
    with pytest.raises(InvalidInput, match="expected a whole number from 1 to 3000"):
        settings.set_values("checks", web, [("wait", "2"), ("attempts", "abc")])
    assert settings.get("checks", web, "wait") == "1" and settings.get("checks", web, "attempts") == "300"
    undo = settings.set_values("checks", web, [("wait", "2"), ("attempts", "7")])
    assert settings.get("checks", web, "wait") == "2" and settings.get("checks", web, "attempts") == "7"
    undo()
    assert _rows() == [(apps.get(web).id, "checks", "wait", "1")]


def test_an_undo_leaves_a_key_another_command_changed_since(web):
    undo = settings.set_values("checks", web, [("wait", "2"), ("attempts", "7")])
    settings.set_value("checks", web, "attempts", "9")  # another command, meanwhile
    undo()
    assert settings.get("checks", web, "wait") == "auto" and settings.get("checks", web, "attempts") == "9"


def test_size_in_bytes():
    assert [settings.size_in_bytes(v) for v in ("4096", "1k", "512m", "2g")] == [4096, 1024, 512 * 2**20, 2 * 2**30]


def test_a_host_wide_property_is_refused_per_app_and_changes_nothing(web):
    with pytest.raises(InvalidInput, match="deploy-server-idle is set for the whole host, not per app") as refused:
        settings.set_values("git", web, [("deploy-branch", "live"), ("deploy-server-idle", "0")])
    assert refused.value.hint == "paas git:set --global deploy-server-idle VALUE"
    assert _rows() == []
    settings.set_value("git", None, "deploy-server-idle", "0")
    assert settings.get("git", web, "deploy-server-idle") == "0"

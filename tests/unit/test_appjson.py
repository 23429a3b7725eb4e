"""appjson.py: healthchecks, predeploy/postdeploy and formation from app.json (pure)."""

from __future__ import annotations

import json
import re

import pytest

from paas import appjson
from paas.errors import InvalidInput
from paas.models import HealthCheck


def parse(data) -> appjson.AppJson:
    return appjson.parse(json.dumps(data))


def refused(data_or_text) -> str:
    text = data_or_text if isinstance(data_or_text, str) else json.dumps(data_or_text)
    with pytest.raises(InvalidInput) as info:
        appjson.parse(text)
    assert info.value.exit_code == 2
    return info.value.message


# The document ----------------------------------------------------------------------


def test_no_app_json_is_an_empty_manifest():
    manifest = appjson.parse(None)
    assert manifest == appjson.AppJson()
    assert (manifest.healthchecks, manifest.predeploy, manifest.postdeploy, manifest.formation) == ({}, None, None, {})


def test_empty_object_is_an_empty_manifest_and_keeps_raw():
    manifest = appjson.parse("{}")
    assert manifest.healthchecks == {} and manifest.formation == {}
    assert manifest.raw == {}


def test_raw_keeps_unknown_keys():
    data = {"name": "demo", "env": {"X": {"value": "1"}}, "addons": []}
    assert parse(data).raw == data


@pytest.mark.parametrize(
    "text, where",
    [
        ('{\n  "scripts": {\n    "dokku": {"predeploy": "x"}\n  \n', "line 5 column 1"),
        ('{"a": 1,\n "b": 2\n "c": 3}', "line 3 column 2"),
        ("{'single': 'quotes'}", "line 1 column 2"),
        ("", "line 1 column 1"),
    ],
)
def test_invalid_json_names_line_and_column(text, where):
    message = refused(text)
    assert message.startswith("app.json is not valid JSON: ")
    assert message.endswith(f" at {where}")


def test_invalid_json_exact_message():
    assert refused('{"a": 1,}') == (
        "app.json is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 9"
    )


@pytest.mark.parametrize("text", ["[]", '["web"]', '"web"', "3", "null", "true"])
def test_non_object_is_refused(text):
    assert refused(text) == "app.json must hold a JSON object"


def test_larger_than_256_kib_is_refused():
    text = json.dumps({"name": "x" * (256 * 1024)})
    assert refused(text) == "app.json is larger than 256 KiB"


def test_size_limit_counts_bytes_not_characters():
    text = json.dumps({"name": "é" * (130 * 1024)}, ensure_ascii=False)  # 130k chars, 260 KiB
    assert len(text) < 256 * 1024
    assert refused(text) == "app.json is larger than 256 KiB"


# Scripts -----------------------------------------------------------------------------


def test_scripts_dokku_predeploy_and_postdeploy():
    manifest = parse({"scripts": {"dokku": {"predeploy": "./migrate", "postdeploy": "./warm"}}})
    assert (manifest.predeploy, manifest.postdeploy) == ("./migrate", "./warm")


def test_plain_scripts_predeploy_and_postdeploy():
    manifest = parse({"scripts": {"predeploy": "python manage.py migrate", "postdeploy": "echo done"}})
    assert (manifest.predeploy, manifest.postdeploy) == ("python manage.py migrate", "echo done")


def test_scripts_dokku_wins_over_plain_scripts():
    manifest = parse({"scripts": {
        "predeploy": "plain-pre", "postdeploy": "plain-post",
        "dokku": {"predeploy": "dokku-pre"},
    }})
    assert manifest.predeploy == "dokku-pre"
    assert manifest.postdeploy == "plain-post"


def test_no_scripts():
    manifest = parse({"scripts": {}})
    assert (manifest.predeploy, manifest.postdeploy) == (None, None)
    manifest = parse({"scripts": {"dokku": {}}})
    assert (manifest.predeploy, manifest.postdeploy) == (None, None)


@pytest.mark.parametrize("scripts", ["./migrate", ["a"], 3])
def test_scripts_must_be_an_object(scripts):
    assert refused({"scripts": scripts}) == "app.json scripts must be an object"


@pytest.mark.parametrize("dokku", ["./migrate", ["a"], 3])
def test_scripts_dokku_must_be_an_object(dokku):
    assert refused({"scripts": {"dokku": dokku}}) == "app.json scripts.dokku must be an object"


@pytest.mark.parametrize("value", ["", "   ", 3, ["./migrate"], {"cmd": "x"}, True])
@pytest.mark.parametrize("which", ["predeploy", "postdeploy"])
def test_script_must_be_a_non_empty_string(which, value):
    expected = f"app.json scripts.{which} must be a non-empty string"
    assert refused({"scripts": {which: value}}) == expected
    assert refused({"scripts": {"dokku": {which: value}}}) == expected


# Formation ---------------------------------------------------------------------------


def test_formation_quantities():
    manifest = parse({"formation": {"web": {"quantity": 2}, "worker": {"quantity": 0}}})
    assert manifest.formation == {"web": 2, "worker": 0}


def test_formation_quantity_defaults_to_one():
    assert parse({"formation": {"web": {}, "worker": {"size": "standard-1x"}}}).formation == {"web": 1, "worker": 1}


def test_formation_plain_number_is_the_quantity():
    assert parse({"formation": {"web": 3}}).formation == {"web": 3}


def test_formation_bounds():
    assert parse({"formation": {"web": {"quantity": 50}}}).formation == {"web": 50}


@pytest.mark.parametrize("quantity", [-1, 51, 1.5, "2", None, True, False, [1]])
def test_formation_quantity_must_be_a_whole_number_0_to_50(quantity):
    assert refused({"formation": {"web": {"quantity": quantity}}}) == (
        "app.json formation.web.quantity must be a whole number 0-50"
    )


@pytest.mark.parametrize("formation", [["web"], "web=1", 3])
def test_formation_must_be_an_object(formation):
    assert refused({"formation": formation}) == "app.json formation must be an object"


@pytest.mark.parametrize("process", ["Web", "1web", "web.1", "w" * 31, "", "a b"])
def test_formation_process_names_are_validated(process):
    assert refused({"formation": {process: {"quantity": 1}}}).startswith("invalid process type")


# Healthchecks --------------------------------------------------------------------------


def test_healthcheck_defaults():
    manifest = parse({"healthchecks": {"web": [{}]}})
    assert manifest.healthchecks == {
        "web": (HealthCheck(process="web", path="/", port=None, attempts=30, timeout=5.0, wait=0.25,
                            initial_delay=0.0, content=None, kind="http"),)
    }


def test_healthcheck_every_field():
    manifest = parse({"healthchecks": {"web": [{
        "type": "startup", "name": "ready", "path": "/health?full=1", "port": 8080, "attempts": 5,
        "timeout": 2, "wait": 1.5, "initialDelay": 3, "content": "ok",
    }]}})
    (check,) = manifest.healthchecks["web"]
    assert check == HealthCheck(process="web", path="/health?full=1", port=8080, attempts=5, timeout=2.0,
                                wait=1.5, initial_delay=3.0, content="ok", kind="http")
    assert isinstance(check.port, int) and isinstance(check.attempts, int)
    assert isinstance(check.timeout, float) and isinstance(check.wait, float)


def test_several_checks_and_several_types_keep_their_order():
    manifest = parse({"healthchecks": {
        "web": [{"path": "/a"}, {"path": "/b", "content": "B"}],
        "worker": [{"path": "/ping", "port": 9000}],
    }})
    assert [c.path for c in manifest.healthchecks["web"]] == ["/a", "/b"]
    assert [c.process for c in manifest.healthchecks["web"]] == ["web", "web"]
    assert manifest.healthchecks["worker"][0].port == 9000
    assert manifest.healthchecks["worker"][0].process == "worker"


def test_empty_check_list_is_allowed():
    assert parse({"healthchecks": {"web": []}}).healthchecks == {"web": ()}


@pytest.mark.parametrize("healthchecks", [["web"], "web", 3])
def test_healthchecks_must_be_an_object(healthchecks):
    assert refused({"healthchecks": healthchecks}) == (
        "app.json healthchecks must be an object keyed by process type"
    )


@pytest.mark.parametrize("checks", [{"path": "/"}, "/", 1])
def test_checks_of_a_type_must_be_a_list(checks):
    assert refused({"healthchecks": {"web": checks}}) == "app.json healthchecks.web must be a list"


@pytest.mark.parametrize("entry", ["/", 1, ["/"], None])
def test_check_entries_must_be_objects(entry):
    assert refused({"healthchecks": {"web": [entry]}}) == "app.json healthchecks.web entries must be objects"


def test_healthcheck_process_names_are_validated():
    assert refused({"healthchecks": {"Web": [{}]}}).startswith("invalid process type 'Web'")


@pytest.mark.parametrize("path", ["health", "", "/a b", "/a\nb", "/a\rb", 3, None, ["/"]])
def test_healthcheck_path_must_start_with_slash_and_hold_no_spaces(path):
    assert refused({"healthchecks": {"web": [{"path": path}]}}) == (
        f"app.json healthcheck path must start with '/' and hold no spaces: {path!r}"
    )


@pytest.mark.parametrize("content", [1, ["ok"], {"a": 1}, True])
def test_healthcheck_content_must_be_a_string(content):
    assert refused({"healthchecks": {"web": [{"content": content}]}}) == (
        "app.json healthcheck content must be a string"
    )


@pytest.mark.parametrize(
    "key, value, lo, hi",
    [
        ("port", 0, 1, 65535), ("port", 65536, 1, 65535), ("port", "80", 1, 65535), ("port", True, 1, 65535),
        ("attempts", 0, 1, 1000), ("attempts", 1001, 1, 1000), ("attempts", "3", 1, 1000),
        ("timeout", 0, 0.1, 600), ("timeout", 601, 0.1, 600), ("timeout", False, 0.1, 600),
        ("wait", -1, 0, 600), ("wait", 600.5, 0, 600), ("wait", None, 0, 600),
        ("initialDelay", -0.1, 0, 600), ("initialDelay", 1e9, 0, 600), ("initialDelay", "1", 0, 600),
    ],
)
def test_healthcheck_numbers_are_range_checked(key, value, lo, hi):
    message = refused({"healthchecks": {"web": [{key: value}]}})
    # "a number" for seconds, "a whole number" would be as right for port and attempts.
    assert re.fullmatch(rf"app\.json healthcheck {key} must be a (whole )?number from {lo} to {hi}", message)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_healthcheck_non_finite_numbers_are_refused(literal):
    # Python's json accepts these literals; the range check must still refuse them.
    text = '{"healthchecks": {"web": [{"timeout": %s}]}}' % literal
    assert refused(text) == "app.json healthcheck timeout must be a number from 0.1 to 600"


@pytest.mark.parametrize("key, value", [("port", 1), ("port", 65535), ("attempts", 1), ("attempts", 1000),
                                        ("timeout", 0.1), ("timeout", 600), ("wait", 0), ("initialDelay", 600)])
def test_healthcheck_bounds_are_inclusive(key, value):
    parse({"healthchecks": {"web": [{key: value}]}})


def test_from_dict_is_what_parse_uses():
    data = {"formation": {"worker": 2}, "scripts": {"postdeploy": "x"}}
    assert appjson.from_dict(data) == appjson.parse(json.dumps(data))


def test_null_sections_are_treated_as_absent():
    manifest = parse({"healthchecks": None, "formation": None, "scripts": None})
    assert (manifest.healthchecks, manifest.formation, manifest.predeploy) == ({}, {}, None)


@pytest.mark.parametrize("key, value", [("attempts", 2.5), ("port", 8080.5)])
def test_healthcheck_counts_and_ports_must_be_whole_numbers(key, value):
    # 2.5 attempts or port 8080.5 is a typo, not something to truncate silently.
    message = refused({"healthchecks": {"web": [{key: value}]}})
    assert message.startswith(f"app.json healthcheck {key} must be a whole number")


@pytest.mark.parametrize(
    "check",
    [
        {"type": "startup", "name": "ready", "command": ["/app/bin/ready"]},
        {"type": "startup", "name": "port", "listening": True, "port": 9000},
    ],
)
def test_dokku_check_kinds_paas_cannot_run_are_refused_not_probed_over_http(check):
    # dokku's app.json also has `command` and `listening` checks. Read as HTTP checks, a
    # worker with `command: [...]` would be probed with GET / and fail every deploy.
    message = refused({"healthchecks": {"worker": [check]}})
    assert "command" in message or "listening" in message

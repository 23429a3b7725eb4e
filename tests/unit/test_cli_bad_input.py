"""A corpus of hostile names, keys and values: each refused by the CLI with a message that
states the rule, exit code 2, nothing on stdout, and no change to any table or file."""

from __future__ import annotations

import pytest

APP_RULE = (
    "app names are DNS labels: a lowercase letter first, then lowercase letters, digits "
    "or hyphens, at most 63 characters, not ending with a hyphen"
)
KEY_RULE = (
    "config keys start with a letter or underscore, then letters, digits or underscores "
    "(at most 255)"
)

BAD_NAMES = {
    "empty": "",
    "64 chars": "a" * 64,
    "path": "../x",
    "semicolon": "a;b",
    "command substitution": "$(id)",
    "backticks": "`id`",
    "uppercase": "Web",
    "trailing hyphen": "web-",
    "leading digit": "1web",
    "underscore": "my_app",
    "dot": "web.app",
    "space": "web app",
    "slash": "web/x",
    "newline inside": "we\nb",
    "trailing newline": "web\n",
    "cyrillic a": "\u0430pp",
    "cyrillic e": "w\u0435b",
    "fullwidth": "\uff57\uff45\uff42",
    "accented": "caf\u00e9",
    "kelvin sign": "\u212aelvin",
    "zero width space": "we\u200bb",
    "NUL": "web\x00",
}

BAD_KEYS = {
    "empty": "",
    "256 chars": "K" * 256,
    "path": "../x",
    "semicolon": "a;b",
    "command substitution": "$(id)",
    "leading digit": "1KEY",
    "hyphen": "MY-KEY",
    "dot": "MY.KEY",
    "space": "MY KEY",
    "newline inside": "MY\nKEY",
    "trailing newline": "KEY\n",
    "cyrillic": "\u041aEY",
    "fullwidth": "\uff2b\uff25\uff39",
    "accented": "CL\u00c9",
    "zero width space": "KEY\u200b",
}

RESERVED_KEYS = ["PORT", "PAAS_X", "PAAS_", "PAAS_APP"]


def _shown(text: str) -> str:
    return repr(text) if text else "an empty name"


def _app_error(name: str) -> str:
    return f" !     invalid app name {_shown(name)}: {APP_RULE}\n"


def _key_error(key: str) -> str:
    return f" !     invalid config key {_shown(key)}: {KEY_RULE}\n"


def _reserved_error(key: str) -> str:
    return f" !     config key {key!r} is reserved: paas sets PORT and the PAAS_ variables itself\n"


@pytest.fixture
def seeded(cli, state):
    """Some state that a slip would change: an app with config, settings, a global var."""
    from paas import settings

    assert cli("apps:create", "web").exit_code == 0
    assert cli("config:set", "web", "A=original").exit_code == 0
    assert cli("config:set", "--global", "G=global").exit_code == 0
    settings.set_value("checks", "web", "wait", "3")
    return state()


def refused(cli, state, before, args, stderr):
    result = cli(*args)
    assert result.exit_code == 2, (args, result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr == stderr
    assert state() == before


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_app_names(cli, state, seeded, name):
    error = _app_error(name)
    refused(cli, state, seeded, ["apps:create", name], error)
    refused(cli, state, seeded, ["apps:rename", "web", name], error)
    refused(cli, state, seeded, ["apps:report", name], error)
    refused(cli, state, seeded, ["apps:destroy", name, "--force"], error)
    if name == "":  # the config commands read an empty APP as a missing one
        error = " !     give an APP, or --global for the defaults every app inherits\n"
    refused(cli, state, seeded, ["config:set", name, "A=changed"], error)
    refused(cli, state, seeded, ["config:unset", name, "A"], error)
    refused(cli, state, seeded, ["config:get", name, "A"], error)
    refused(cli, state, seeded, ["config:show", name], error)
    refused(cli, state, seeded, ["config:export", name], error)


def test_name_boundaries(cli):
    assert cli("apps:create", "a" * 63).exit_code == 0
    assert cli("apps:create", "a").exit_code == 0
    assert cli("apps:create", "a-1-b").exit_code == 0


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_bad_config_keys(cli, state, seeded, key):
    error = _key_error(key)
    refused(cli, state, seeded, ["config:set", "web", f"{key}=v"], error)
    refused(cli, state, seeded, ["config:set", "web", "OK=1", f"{key}=v", "B=2"], error)
    refused(cli, state, seeded, ["config:set", "--global", f"{key}=v"], error)
    missing = " !     give exactly one KEY\n"
    refused(cli, state, seeded, ["config:get", "web", key], error if key else missing)
    refused(cli, state, seeded, ["config:unset", "web", "A", key], error)
    refused(cli, state, seeded, ["config:unset", "--global", "G", key], error)


@pytest.mark.parametrize("key", RESERVED_KEYS)
def test_reserved_config_keys(cli, state, seeded, key):
    error = _reserved_error(key)
    refused(cli, state, seeded, ["config:set", "web", f"{key}=8080"], error)
    refused(cli, state, seeded, ["config:set", "web", "OK=1", f"{key}=8080"], error)
    refused(cli, state, seeded, ["config:set", "--global", f"{key}=8080"], error)
    refused(cli, state, seeded, ["config:unset", "web", key], error)


def test_key_boundaries_and_case(cli):
    cli("apps:create", "web")
    assert cli("config:set", "web", "K" * 255 + "=v", "port=1", "Paas_x=2", "_=3").exit_code == 0


BAD_VALUES = {
    "NUL": ("a\x00b", "the value of K contains a NUL byte, which no environment can hold"),
    "over 127 KiB": ("x" * (127 * 1024 + 1), "the value of K is larger than 127 KiB"),
    "lone surrogate": ("bad \udcff byte", "the value of K is not valid UTF-8"),
}


@pytest.mark.parametrize("value, message", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_config_values(cli, state, seeded, value, message):
    error = f" !     {message}\n"
    refused(cli, state, seeded, ["config:set", "web", f"K={value}"], error)
    refused(cli, state, seeded, ["config:set", "web", "A=changed", f"K={value}"], error)
    refused(cli, state, seeded, ["config:set", "--global", f"K={value}", "G=changed"], error)


def test_largest_value_is_accepted(cli):
    cli("apps:create", "web")
    value = "é" * (127 * 512)  # 127 KiB of UTF-8
    assert cli("config:set", "web", f"K={value}").exit_code == 0
    assert cli("config:get", "web", "K").stdout_bytes == (value + "\n").encode()


def test_bad_pairs_among_good_ones_store_nothing(cli, state, seeded):
    refused(cli, state, seeded, ["config:set", "web", "A=changed", "NOT_A_PAIR"],
            " !     'NOT_A_PAIR' is not KEY=VALUE\n")
    refused(cli, state, seeded, ["config:set", "web", "A=changed", "A=again"],
            " !     A is given twice\n")


def test_deploy_of_a_malformed_image_reference_is_a_clear_error(cli, deploy_calls):
    cli("apps:create", "web")
    result = cli("deploy", "web", "--image", "x;id")
    assert result.exit_code == 2
    assert result.stderr.startswith(" !     invalid image reference 'x;id'\n")
    assert deploy_calls == []


def test_releases_count_and_logs_type_are_checked(cli):
    cli("apps:create", "web")
    for count in ("0", "-3"):
        result = cli("releases", "web", "-n", count)
        assert result.exit_code == 2 and "Invalid value" in result.stderr
    result = cli("logs", "web", "--ps", "bogus!")
    assert result.exit_code == 2 and "invalid process type" in result.stderr


def test_resetting_the_global_domain_says_where_apps_answer(cli, deploy_calls):
    cli("apps:create", "web")
    result = cli("domains:set-global", "")
    assert result.exit_code == 0
    assert result.stdout == "-----> Apps now answer only at the domains added to them\n"

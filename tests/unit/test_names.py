"""names.py: the validators every user-typed word passes through."""

from __future__ import annotations

import pytest

from paas import names
from paas.errors import InvalidInput

APP_RULE = (
    "app names are DNS labels: a lowercase letter first, then lowercase letters, digits "
    "or hyphens, at most 63 characters, not ending with a hyphen"
)
KEY_RULE = "config keys start with a letter or underscore, then letters, digits or underscores"


@pytest.mark.parametrize("name", ["a", "web", "my-app-2", "a1", "a" * 63, "x-y-z", "a--b"])
def test_app_name_accepts_dns_labels(name):
    assert names.app_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "", "a" * 64, "../x", "a;b", "$(id)", "Web", "WEB", "web-", "-web", "1web", "web_1",
        "web.app", "web app", "web\n", "a\nb", "w\u0435b",  # Cyrillic 'е'
        "\u0430pp",  # Cyrillic 'а'
        "\uff57\uff45\uff42",  # fullwidth 'ｗｅｂ'
        "w\u00e9b", "web\x00", " web", "web ", "\u212aelvin",  # Kelvin sign lowercases to 'k'
        "web/../../etc",
    ],
)
def test_app_name_refuses_everything_else_stating_the_rule(name):
    with pytest.raises(InvalidInput) as info:
        names.app_name(name)
    shown = repr(name) if name else "an empty name"
    assert info.value.message == f"invalid app name {shown}: {APP_RULE}"
    assert info.value.exit_code == 2


@pytest.mark.parametrize("key", ["A", "_", "_A", "a", "DATABASE_URL", "k1", "K" * 255, "port", "Paas_x"])
def test_config_key_accepts(key):
    assert names.config_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "1A", "A-B", "A B", "A.B", "A=B", "A\nB", "A\n", "\u041aEY", "\uff2b\uff25\uff39",
     "\u00c4", "$(id)", "a;b", "../x", "K" * 256, " A"],
)
def test_config_key_refuses_with_the_rule(key):
    with pytest.raises(InvalidInput) as info:
        names.config_key(key)
    shown = repr(key) if key else "an empty name"
    assert info.value.message == f"invalid config key {shown}: {KEY_RULE} (at most 255)"


@pytest.mark.parametrize("key", ["PORT", "PAAS_X", "PAAS_", "PAAS_APP_NAME"])
def test_config_key_reserved(key):
    with pytest.raises(InvalidInput) as info:
        names.config_key(key)
    assert info.value.message == (
        f"config key {key!r} is reserved: paas sets PORT and the PAAS_ variables itself"
    )


def test_config_value_limits():
    assert names.config_value("K", "") == ""
    exact = "x" * (127 * 1024)
    assert names.config_value("K", exact) == exact
    multibyte = "é" * (127 * 512)  # 2 bytes each: exactly 127 KiB
    assert names.config_value("K", multibyte) == multibyte
    with pytest.raises(InvalidInput, match=r"^the value of K is larger than 127 KiB$"):
        names.config_value("K", exact + "x")
    with pytest.raises(InvalidInput, match=r"^the value of K is larger than 127 KiB$"):
        names.config_value("K", multibyte + "é")
    with pytest.raises(InvalidInput) as info:
        names.config_value("K", "a\x00b")
    assert info.value.message == "the value of K contains a NUL byte, which no environment can hold"
    with pytest.raises(InvalidInput) as info:
        names.config_value("K", "lone \ud800 surrogate")
    assert info.value.message == "the value of K is not valid UTF-8"


@pytest.mark.parametrize("value", ["web", "worker", "a", "clock_2", "release-tasks", "a" * 30])
def test_process_type_accepts(value):
    assert names.process_type(value) == value


@pytest.mark.parametrize("value", ["", "Web", "1web", "web.1", "a" * 31, "we b", "w\u0435b", "web\n"])
def test_process_type_refuses(value):
    with pytest.raises(InvalidInput, match=r"^invalid process type .*at most 30 characters$"):
        names.process_type(value)


def test_key_name():
    assert names.key_name("alice@laptop-1.home") == "alice@laptop-1.home"
    assert names.key_name("a" * 64) == "a" * 64
    for bad in ["", "-alice", "a" * 65, "a b", "a/b", "al\u0456ce", "a\n"]:
        with pytest.raises(InvalidInput, match=r"^invalid key name "):
            names.key_name(bad)


def test_domain():
    assert names.domain("Example.COM") == "example.com"
    assert names.domain("*.apps.example.com") == "*.apps.example.com"
    assert names.domain("localhost") == "localhost"
    assert names.domain("a-1.b2.c") == "a-1.b2.c"
    for bad in ["", "-a.com", "a-.com", "a..com", "a.com.", "a_b.com", "*", "a.*.com",
                "\u0430pple.com", "a b.com", "a.com\n", ("a" * 63 + ".") * 4 + "com",
                "a" * 64 + ".com"]:
        with pytest.raises(InvalidInput, match=r"^invalid domain "):
            names.domain(bad)


def test_image_and_container_names():
    assert names.image_repo("web") == "paas/web"
    assert names.image_tag("web", 3) == "paas/web:v3"
    assert names.container_name("web", "worker", 2, 7, "ab12") == "web.worker.2.v7.ab12"
    assert names.LABEL_APP == "paas.app"
    assert names.LABEL_RELEASE == "paas.release"


@pytest.mark.parametrize("tag, app", [
    ("paas/web:v3", "web"),
    ("paas/my-app-2:v10", "my-app-2"),
    ("paas/stack:bookworm", None),  # the stack image, even for an app named `stack`
    ("paas/web:latest", None),
    ("paas/web:v0", None),
    ("paas/web:v1x", None),
    ("other/web:v1", None),
    ("paas/Web:v1", None),
    ("paas/web", None),
])
def test_release_tags_name_their_app_and_nothing_else_does(tag, app):
    assert names.release_tag_app(tag) == app


@pytest.mark.parametrize("good", [
    "nginx", "nginx:alpine", "paas/web:v3", "library/python:3.11-slim", "registry.example.com:5000/team/app:1.2",
    "localhost:5000/x", "a__b/c-d.e:latest", "x@sha256:" + "a" * 64, "3f5c2a1b9d8e", "sha256:" + "0" * 64,
])
def test_image_references_docker_accepts_pass(good):
    assert names.image_reference(good) == good


@pytest.mark.parametrize("bad", [
    "x;id", "Nginx", "nginx:", ":tag", "a//b", "a/-b", "nginx:-x", "$(id)", "nginx alpine", "", "a" * 600,
    "x@sha256:abc", "-rm", "nginx\n",
])
def test_image_references_docker_refuses_are_refused(bad):
    with pytest.raises(InvalidInput, match="invalid image reference"):
        names.image_reference(bad)

"""An app's own Dockerfile: which images it reads, and another app's images are refused."""

from __future__ import annotations

import pytest

from paas import apps, releases
from paas.build import builder
from paas.build.dockerfile_refs import external_images, names_app_image, onbuild_images
from paas.errors import InvalidInput


@pytest.mark.parametrize("text, images", [
    ("FROM python:3.11-slim\nCMD x\n", ["python:3.11-slim"]),
    # Stages, by name or index, and scratch are the build's own.
    ("FROM golang:1.22 AS build\nRUN go build\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\n",
     ["golang:1.22"]),
    ("FROM alpine AS Base\nFROM base\n", ["alpine"]),
    ("FROM alpine\nCOPY --from=paas/other:v3 /app /stolen\n", ["alpine", "paas/other:v3"]),
    ("FROM alpine\nCOPY --chown=1:1 --from=paas/other:v3 /app /x\n", ["alpine", "paas/other:v3"]),
    ("FROM alpine\nADD --from=paas/other:v3 /app /x\n", ["alpine", "paas/other:v3"]),
    # Global ARG defaults, in every spelling.
    ("ARG BASE=paas/other:v3\nFROM $BASE\n", ["paas/other:v3"]),
    ("ARG REPO=paas/other TAG=v3\nFROM ${REPO}:${TAG}\n", ["paas/other:v3"]),
    ("ARG BASE\nFROM ${BASE:-paas/other:v3}\n", ["paas/other:v3"]),
    ('ARG BASE="paas/other:v3"\nFROM --platform=linux/amd64 ${BASE} AS b\n', ["paas/other:v3"]),
    # Continuations, comments between them, the escape directive, instructions in any case.
    ("# escape=`\nfrom `\n  paas/other:v3 `\n  as x\n", ["paas/other:v3"]),
    ("FROM alpine\nRUN a \\\n  # a comment\n  && b\ncopy \\\n --from=paas/other:v3 / /\n", ["alpine", "paas/other:v3"]),
    # ONBUILD runs in the builds that start from this image.
    ("FROM alpine\nONBUILD COPY --from=paas/other:v3 / /\n", ["alpine", "paas/other:v3"]),
])
def test_the_images_a_dockerfile_reads(text, images):
    assert external_images(text) == images


@pytest.mark.parametrize("text, images", [
    # Spellings found in review: each must still name paas/other:v3.
    ("FROM\tpaas/other:v3\n", ["paas/other:v3"]),
    ("FROM alpine\nCOPY\t--from=paas/other:v3 / /\n", ["alpine", "paas/other:v3"]),
    ('FROM "paas/other:v3"\n', ["paas/other:v3"]),
    ("FROM paas/other:v\\3\n", ["paas/other:v3"]),
    ('FROM alpine\nCOPY --from="paas/other:v3" / /\n', ["alpine", "paas/other:v3"]),
    ('FROM alpine\nCOPY --fr"om"=paas/other:v3 / /\n', ["alpine", "paas/other:v3"]),
    ('FROM alpine\nCOPY --chown="a b" --from=paas/other:v3 / /\n', ["alpine", "paas/other:v3"]),
    ("ARG A=paas/other\nARG B=${A}:v3\nFROM $B\n", ["paas/other:v3"]),
    ("ARG A=paas/other:v3\nFROM ${A:?missing}\n", ["paas/other:v3"]),
    # An unknown directive ends the directives: the escape line after it is a comment.
    ("# foo=bar\n# escape=`\nFROM alpine\nRUN echo `\nFROM paas/other:v3\n", ["alpine", "paas/other:v3"]),
    # A byte-order mark does not hide the escape directive.
    ("\ufeff# escape=`\nFROM alpine\nRUN echo \\\nFROM paas/other:v3\n", ["alpine", "paas/other:v3"]),
    # Only spaces and tabs may follow a continuing escape character.
    ("FROM alpine\nRUN echo \\\x1f\nFROM paas/other:v3\n", ["alpine", "paas/other:v3"]),
    ("FROM alpine\nRUN echo \\\u00a0\nFROM paas/other:v3\n", ["alpine", "paas/other:v3"]),
    ("FROM alpine\r\nRUN echo \\ \r\n  more\r\nFROM paas/other:v3\r\n", ["alpine", "paas/other:v3"]),
])
def test_spellings_that_hid_an_image_from_the_first_parser(text, images):
    assert external_images(text) == images


@pytest.mark.parametrize("text, reason", [
    ("FROM $UNSET\n", "no default"),
    ("FROM --platform=linux/amd64\n", "names no image"),
    ("FROM paas/other:v$(echo 3)\n", "cannot read"),
    ("FROM 'paas/other:v3\n", "unterminated quote"),
    ("FROM pa%as/other\n", "cannot read as an image name"),
    ("# escape=x\nFROM alpine\n", "not a valid escape character"),
])
def test_names_paas_cannot_read_are_refused(text, reason):
    with pytest.raises(InvalidInput, match=reason):
        external_images(text)


@pytest.mark.parametrize("name, owner", [
    ("paas/other:v3", "other"), ("docker.io/paas/other:v9", "other"), ("PAAS/Other:v1", "other"),
    ("paas/other@sha256:" + "a" * 64, "other"), ("paas/stack:bookworm", "stack"),
    ("python:3.11", None), ("ghcr.io/paas/other:v1", None),
])
def test_which_app_a_name_spells(name, owner):
    assert names_app_image(name) == owner


def test_onbuild_triggers_of_a_base_image_are_read():
    assert onbuild_images(["COPY --from=paas/other:v3 /app /x", "RUN make"]) == ["paas/other:v3"]


VICTIM_ID = "ab" * 32


@pytest.fixture
def image_store(monkeypatch):
    apps.create("victim")
    apps.create("mine")
    releases.create("victim", description="d", image="paas/victim:v1", image_id="sha256:victim", git_sha="abc")
    releases.create("mine", description="d", image="paas/mine:v1", image_id="sha256:mine", git_sha="def")
    # `deploy --image nginx:alpine` tags a public image for an app: not that app's code.
    releases.create("victim", description="d", image="paas/victim:v2", image_id="sha256:nginx")
    store = {
        "paas/victim:v1": ("sha256:victim", ["paas/victim:v1"]),
        f"sha256:{VICTIM_ID}": ("sha256:victim", []),
        "victim-alias:latest": ("sha256:victim", ["victim-alias:latest"]),
        "paas/mine:v1": ("sha256:mine", ["paas/mine:v1"]),
        "paas/stack:bookworm": ("sha256:stack", ["paas/stack:bookworm"]),
        "nginx:alpine": ("sha256:nginx", ["nginx:alpine", "paas/victim:v2"]),
        "evil/base:1": ("sha256:evil", ["evil/base:1"]),
    }
    configs = {"evil/base:1": {"OnBuild": ["COPY --from=victim-alias:latest / /stolen"]}}
    pulled = []
    monkeypatch.setattr("paas.runtime.docker_api.local_image", lambda name: store.get(name))
    monkeypatch.setattr("paas.runtime.docker_api.try_pull", lambda name: pulled.append(name) or False)
    monkeypatch.setattr("paas.runtime.docker_api.image_config", lambda name: configs.get(name, {}))
    return pulled


@pytest.mark.parametrize("text", [
    "FROM alpine\nCOPY --from=paas/victim:v1 / /\n",
    "FROM paas/victim:v1\n",
    f"FROM sha256:{VICTIM_ID}\n",  # by id
    "FROM paas/victim:v9\n",  # not built yet: refused by its name
    "FROM alpine\nCOPY --from=victim-alias:latest / /\n",  # another name for its image
    "FROM evil/base:1\n",  # a base whose ONBUILD reads it
])
def test_another_apps_images_are_refused(image_store, text):
    with pytest.raises(InvalidInput, match="an image of another app"):
        builder._refuse_other_apps_images("mine", text)


@pytest.mark.parametrize("text", ["FROM paas/mine:v1\n", "FROM paas/stack:bookworm\n", "FROM python:3.11\n",
                                  "FROM nginx:alpine\n"])
def test_public_images_the_stack_and_its_own_pass(image_store, text):
    builder._refuse_other_apps_images("mine", text)

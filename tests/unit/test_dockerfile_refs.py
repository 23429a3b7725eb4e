"""An app's own Dockerfile: which images it reads, and another app's images are refused."""

from __future__ import annotations

import pytest

from paas import apps, releases
from paas.build import builder
from paas.build.dockerfile_refs import external_images
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


@pytest.mark.parametrize("text, reason", [
    ("FROM $UNSET\n", "no default"),
    ("ARG A=x\nFROM alpine\nCOPY --from=$A / /\n", "not supported"),
    ("FROM --platform=linux/amd64\n", "names no image"),
])
def test_images_paas_cannot_name_are_refused(text, reason):
    with pytest.raises(InvalidInput, match=reason):
        external_images(text)


def test_another_apps_images_are_refused_by_tag_and_by_id(monkeypatch):
    apps.create("victim")
    apps.create("mine")
    releases.create("victim", description="d", image="paas/victim:v1", image_id="sha256:victim")
    releases.create("mine", description="d", image="paas/mine:v1", image_id="sha256:mine")
    store = {
        "paas/victim:v1": ("sha256:victim", ["paas/victim:v1"]),
        "sha256:victim": ("sha256:victim", []),  # an id, or an untagged image still on the host
        "paas/mine:v1": ("sha256:mine", ["paas/mine:v1"]),
        "paas/stack:bookworm": ("sha256:stack", ["paas/stack:bookworm"]),
    }
    monkeypatch.setattr("paas.runtime.docker_api.local_image", lambda name: store.get(name))
    for name in ("paas/victim:v1", "sha256:victim"):
        with pytest.raises(InvalidInput, match="an image of another app"):
            builder._refuse_other_apps_images("mine", f"FROM alpine\nCOPY --from={name} / /\n")
    for text in ("FROM paas/mine:v1\n", "FROM paas/stack:bookworm\n", "FROM python:3.11\n"):
        builder._refuse_other_apps_images("mine", text)

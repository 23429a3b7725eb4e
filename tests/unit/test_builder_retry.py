"""The builder builds again, once, when a shared cached layer vanished mid-build."""

from __future__ import annotations

import pytest

from paas.build import builder
from paas.errors import BuildFailed
from paas.runtime import docker_api

VANISHED = "the build failed: failed to export image: failed to set parent sha256:ab: unknown parent image ID sha256:ab"


def fake_builds(monkeypatch, errors: list[str]) -> list[int]:
    calls: list[int] = []

    def build(context, dockerfile, tag, labels, limits, on_line, buildargs=None):
        calls.append(1)
        if errors:
            raise BuildFailed(errors.pop(0))
        return "sha256:built"

    monkeypatch.setattr(docker_api, "build", build)
    return calls


def run(tmp_path):
    return builder._docker_build(tmp_path, "Dockerfile", "paas/web:v1", "web", 1, {})


def test_a_vanished_cache_layer_is_built_again_once(monkeypatch, tmp_path, capsys):
    calls = fake_builds(monkeypatch, [VANISHED])
    assert run(tmp_path) == "sha256:built" and len(calls) == 2
    assert "building again" in capsys.readouterr().out


@pytest.mark.parametrize("words", ["failed to get digest sha256:ab", "No such image: sha256:106a9dc515ad"])
def test_every_way_dockerd_says_a_layer_vanished_builds_again(monkeypatch, tmp_path, words):
    calls = fake_builds(monkeypatch, [f"the build failed: {words}"])
    assert run(tmp_path) == "sha256:built" and len(calls) == 2


def test_a_missing_base_image_is_not_built_again(monkeypatch, tmp_path):
    calls = fake_builds(monkeypatch, ["the build failed: No such image: paas/stack:bookworm"])
    with pytest.raises(BuildFailed, match="No such image"):
        run(tmp_path)
    assert len(calls) == 1


def test_other_failures_and_a_second_vanishing_are_reported(monkeypatch, tmp_path):
    calls = fake_builds(monkeypatch, ["the build failed: exit code 1"])
    with pytest.raises(BuildFailed, match="exit code 1"):
        run(tmp_path)
    assert len(calls) == 1
    calls = fake_builds(monkeypatch, [VANISHED, VANISHED])
    with pytest.raises(BuildFailed, match="unknown parent image ID"):
        run(tmp_path)
    assert len(calls) == 2

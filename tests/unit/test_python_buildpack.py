"""The python buildpack: which installer runs for which files, and version files."""

from __future__ import annotations

import pytest

from paas.build import buildpacks, dockerfile
from paas.errors import BuildFailed
from tests.unit.test_buildpack_render import instructions, make, render




@pytest.mark.parametrize("files, expected", [
    ({"requirements.txt": "flask\n"}, ["COPY requirements.txt /app/", "RUN pip install -r requirements.txt"]),
    ({"pyproject.toml": "[project]\nname='x'\n", "uv.lock": ""}, ["COPY pyproject.toml uv.lock /app/"]),
    ({"pyproject.toml": "[project]\nname='x'\n", "poetry.lock": ""}, ["COPY pyproject.toml poetry.lock /app/"]),
    ({"pyproject.toml": "[project]\nname='x'\n"}, ["RUN pip install /app"]),
])
def test_each_manifest_gets_its_installer(tmp_path, files, expected):
    steps = instructions(render(make(tmp_path, files)))
    for step in expected:
        assert step in steps
    assert "ENV PORT=5000" in steps and [s for s in steps if s.startswith("USER ")][-1] == "USER app"
    # Nothing but what needs the code follows it: a code-only push builds the fewest layers.
    after_code = steps[steps.index("COPY --chown=app:app . /app") + 1:]
    assert after_code in ([], ["RUN pip install /app", "USER app"])
    # Dependencies install before the code is copied, so a code change reuses them.
    copy_code = steps.index("COPY --chown=app:app . /app")
    installs = [i for i, s in enumerate(steps) if "pip install -r" in s or "uv export" in s or "poetry export" in s]
    assert all(i < copy_code for i in installs)


@pytest.mark.parametrize("name, text, ok", [
    (".python-version", "3.11\n", True),
    (".python-version", "3.11.7", True),
    ("runtime.txt", "python-3.11.2\n", True),
    (".python-version", "3.12\n", False),
    ("runtime.txt", "python-2.7.18", False),
])
def test_version_files_are_checked_against_the_stack(tmp_path, name, text, ok):
    source = make(tmp_path, {"requirements.txt": "", name: text})
    pack = buildpacks.detect(source)
    if ok:
        dockerfile.check_runtime(pack, source)
        return
    with pytest.raises(BuildFailed) as info:
        dockerfile.check_runtime(pack, source)
    wanted = text.strip().removeprefix("python-")
    assert info.value.message == f"python {wanted} was requested, but this stack provides 3.11"

"""Render a buildpack's Dockerfile.j2 for a source tree (pure: data in, text out)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from paas.build.buildpacks import Buildpack
from paas.errors import BuildFailed


def root_files(source: Path) -> set[str]:
    return {p.name for p in source.iterdir()}


def requested_runtime(pack: Buildpack, source: Path) -> str | None:
    runtime = _runtime_spec(pack)
    for name in runtime.get("version_files", []):
        path = source / name
        if path.is_file():
            text = path.read_text(errors="replace").strip().splitlines()
            if text:
                value = text[0].strip()
                prefix = runtime.get("strip_prefix", "")
                return value[len(prefix):] if prefix and value.startswith(prefix) else value
    return None


def _runtime_spec(pack: Buildpack) -> dict:
    data = tomllib.loads((pack.folder / "buildpack.toml").read_text())
    return data.get("runtime", {})


def check_runtime(pack: Buildpack, source: Path) -> None:
    """A requested version must match one the stack provides (3.11 matches 3.11.x)."""
    wanted = requested_runtime(pack, source)
    provides = _runtime_spec(pack).get("provides", [])
    if not wanted or not provides:
        return
    if not any(wanted == v or wanted.startswith(v + ".") or v.startswith(wanted + ".") for v in provides):
        raise BuildFailed(
            f"{pack.name} {wanted} was requested, but this stack provides {', '.join(provides)}",
            hint="change the version file to one of those, or deploy with your own Dockerfile",
        )


def render(pack: Buildpack, source: Path, stack: str) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(pack.folder)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    files = root_files(source)
    text = env.get_template("Dockerfile.j2").render(
        stack=stack,
        files=files,
        manifests=[m for m in pack.manifests if m in files],
        port=pack.port,
        exists=lambda rel: (source / rel).exists(),
        read_json=lambda rel: _read_json(source / rel),
    )
    return re.sub(r"\n{3,}", "\n\n", text)


def _read_json(path: Path):
    import json

    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def dockerfile_metadata(text: str) -> dict:
    """EXPOSE and whether CMD/ENTRYPOINT exist, read from a user's own Dockerfile."""
    exposed = re.findall(r"^\s*EXPOSE\s+(\d+)", text, re.M | re.I)
    return {"port": int(exposed[0]) if exposed else None}

"""Buildpacks are folders: buildpack.toml + Dockerfile.j2 (+ optional bin/detect).

Detection is ordered data: each buildpack names the files that signal it and its order;
`bin/detect`, when present, decides instead (exit 0 = mine, 100 = not mine, else error).
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from paas import paths
from paas.errors import BuildFailed, InvalidInput, NotFound

DETECT_MINE, DETECT_NOT_MINE = 0, 100


@dataclass(frozen=True)
class Buildpack:
    name: str
    order: int
    folder: Path
    detect_files: tuple[str, ...]
    processes: dict[str, str] = field(default_factory=dict)
    manifests: tuple[str, ...] = ()  # copied before the dependency step: its cache key
    port: int = 5000
    description: str = ""

    @property
    def template(self) -> Path:
        return self.folder / "Dockerfile.j2"

    @property
    def detect_script(self) -> Path | None:
        script = self.folder / "bin" / "detect"
        return script if script.exists() else None


def search_path() -> list[Path]:
    """User folders from PAAS_BUILDPACKS_PATH come first, so they can shadow ours by name."""
    extra = [Path(p) for p in os.environ.get("PAAS_BUILDPACKS_PATH", "").split(":") if p]
    return extra + [paths.buildpacks_dir()]


def load(folder: Path) -> Buildpack:
    try:
        data = tomllib.loads((folder / "buildpack.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"buildpack {folder} has no valid buildpack.toml: {exc}") from None
    return Buildpack(
        name=data.get("name", folder.name),
        order=int(data.get("order", 50)),
        folder=folder,
        detect_files=tuple(data.get("detect", {}).get("files", [])),
        processes=dict(data.get("processes", {})),
        manifests=tuple(data.get("build", {}).get("manifests", [])),
        port=int(data.get("port", 5000)),
        description=data.get("description", ""),
    )


def all_buildpacks() -> list[Buildpack]:
    found: dict[str, Buildpack] = {}
    for base in search_path():
        if not base.is_dir():
            continue
        for folder in sorted(base.iterdir()):
            if (folder / "buildpack.toml").is_file():
                pack = load(folder)
                found.setdefault(pack.name, pack)
    return sorted(found.values(), key=lambda b: (b.order, b.name))


def by_name(name: str) -> Buildpack:
    for pack in all_buildpacks():
        if pack.name == name:
            return pack
    known = ", ".join(p.name for p in all_buildpacks())
    raise NotFound(f"no buildpack named {name!r}; available: {known}")


def _matches_files(pack: Buildpack, source: Path) -> bool:
    return any((source / pattern).exists() or list(source.glob(pattern)) for pattern in pack.detect_files)


def _run_detect(pack: Buildpack, source: Path) -> bool:
    script = pack.detect_script
    assert script is not None
    try:
        result = subprocess.run([str(script), str(source)], cwd=source, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildFailed(f"buildpack {pack.name}: bin/detect could not run: {exc}") from None
    if result.returncode == DETECT_MINE:
        return True
    if result.returncode == DETECT_NOT_MINE:
        return False
    raise BuildFailed(
        f"buildpack {pack.name}: bin/detect failed with exit {result.returncode}",
        hint=result.stderr.strip()[-2000:] or None,
    )


def detect(source: Path) -> Buildpack:
    packs = all_buildpacks()
    for pack in packs:
        mine = _run_detect(pack, source) if pack.detect_script else _matches_files(pack, source)
        if mine:
            return pack
    looked_for = "; ".join(f"{p.name}: {', '.join(p.detect_files) or 'bin/detect'}" for p in packs)
    raise BuildFailed(
        "no buildpack recognised this app",
        hint=f"looked for {looked_for}\npick one with: paas buildpacks:set APP NAME, or add a Dockerfile",
    )

"""Where paas keeps its state: PAAS_ROOT (default /var/lib/paas) and the folders inside."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ROOT = "/var/lib/paas"


def root() -> Path:
    return Path(os.environ.get("PAAS_ROOT") or DEFAULT_ROOT).absolute()


def ensure_root() -> Path:
    """Create PAAS_ROOT private to its owner: config vars are secrets."""
    path = root()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def sub(*parts: str, create: bool = True) -> Path:
    path = ensure_root().joinpath(*parts) if create else root().joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def database() -> Path:
    return ensure_root() / "paas.db"


def repos() -> Path:
    return sub("repos")


def repo(app: str) -> Path:
    return repos() / f"{app}.git"


def locks() -> Path:
    return sub("locks")


def nginx() -> Path:
    return sub("nginx")


def ssh() -> Path:
    return sub("ssh")


def builds() -> Path:
    return sub("builds")


def new_build_folder(label: str) -> Path:
    """A fresh folder under builds/, named after this process so that what a killed build
    left (a tree or a tarball of up to 512 MiB) can be told from a running build's."""
    import tempfile

    remove_abandoned_builds()
    return Path(tempfile.mkdtemp(prefix=f"pid{os.getpid()}-{label}-", dir=builds()))


def remove_abandoned_builds() -> int:
    """Remove what builds of processes that are gone left under builds/; how many entries."""
    import shutil

    from paas import procs

    removed = 0
    for entry in builds().iterdir():
        if entry.name.startswith("pid") and procs.left_behind(entry.name.removeprefix("pid").split("-", 1)[0]):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    return removed


def run() -> Path:
    return sub("run")


def source_tree() -> Path:
    """The folder holding buildpacks/, templates/ and hooks/ (repo checkout or wheel data)."""
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    return packaged if packaged.is_dir() else here.parent


def buildpacks_dir() -> Path:
    return source_tree() / "buildpacks"


def templates_dir() -> Path:
    return source_tree() / "templates"


def hooks_dir() -> Path:
    return source_tree() / "hooks"

"""Fixtures for the fast unit suite: no docker, nginx, sshd or git daemons.

Every test gets its own PAAS_ROOT (not created yet, so paas creates it), a pinned
environment (NO_COLOR, COLUMNS, PAAS_LOCAL), a pinned actor and clock so output is
exact, and a fake `paas.deploy` so nothing can reach a container runtime (nor start a
deploy server).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

import paas
from paas import identity, store

FROZEN_TIME = 1700000000.0  # 2023-11-14 22:13:20 UTC
FROZEN_STAMP = "2023-11-14 22:13:20 UTC"
ACTOR = identity.Actor(name="local:tester", role="admin", via_ssh=False)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def paas_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "paas-root"
    monkeypatch.setenv("PAAS_ROOT", str(root))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("PAAS_LOCAL", "1")
    for name in ("FORCE_COLOR", "PAAS_REMOTE", "PAAS_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(identity, "_current", ACTOR)
    clock = types.SimpleNamespace(time=lambda: FROZEN_TIME)
    monkeypatch.setattr("paas.apps.time", clock)
    monkeypatch.setattr("paas.releases.time", clock)
    store.reset_connections()
    yield root
    store.reset_connections()


@pytest.fixture
def deploy(monkeypatch):
    """The real paas.deploy, for tests of its own logic (every test gets the stand-in below)."""
    import importlib

    monkeypatch.delitem(sys.modules, "paas.deploy")
    real = importlib.import_module("paas.deploy")
    monkeypatch.setattr(paas, "deploy", real)
    return real


@pytest.fixture(autouse=True)
def deploy_server_starts(monkeypatch) -> list[float]:
    """Starts of a background deploy server (their idle seconds), recorded instead of run
    (tests/unit/test_deploy_server.py runs real ones)."""
    from paas import deploy_server

    starts: list[float] = []
    monkeypatch.setattr(deploy_server, "start", lambda idle: starts.append(idle))
    return starts


@pytest.fixture(autouse=True)
def deploy_calls(monkeypatch) -> list[tuple]:
    """A stand-in for paas.deploy (the runtime side); records what would have run."""
    calls: list[tuple] = []
    fake = types.ModuleType("paas.deploy")
    fake.teardown = lambda app: calls.append(("teardown", app))
    fake.rename_running = lambda old, new: calls.append(("rename_running", old, new))
    fake.route_serving = lambda app, force=True: calls.append(("route_serving", app))
    fake.release_config_change = lambda app, description: calls.append(
        ("release_config_change", app, description)
    )
    monkeypatch.setitem(sys.modules, "paas.deploy", fake)
    monkeypatch.setattr(paas, "deploy", fake, raising=False)
    return calls


@pytest.fixture(scope="session")
def click_command():
    """The click command tree, built once: typer rebuilds it on every invoke otherwise
    (about 16 ms with every namespace registered, which adds up over hundreds of calls)."""
    from typer.main import get_command

    from paas.cli import app

    return get_command(app)


@pytest.fixture
def cli(click_command, monkeypatch) -> Callable:
    """Run the CLI in-process: cli("apps:create", "web", input=...) -> Result.

    The result keeps stdout and stderr apart (result.stdout / result.stderr; result.output
    mixes both). An exception other than SystemExit is re-raised so a crash shows its
    traceback instead of a bare exit code 1.
    """
    import typer.testing

    from paas.cli import app

    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: click_command)
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None):
        result = runner.invoke(app, list(args), input=input, prog_name="paas")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception.with_traceback(result.exc_info[2])
        return result

    return invoke


def _dump_db() -> dict:
    tables = [
        r["name"]
        for r in store.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    dump: dict = {"user_version": store.query("PRAGMA user_version")[0][0]}
    for table in tables:
        rows = store.query(f"SELECT * FROM {table}")
        dump[table] = sorted((tuple(r) for r in rows), key=repr)
    return dump


def _dump_files(root: Path) -> list[str]:
    if not root.exists():
        return []
    skip = {"paas.db", "paas.db-wal", "paas.db-shm"}
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.name not in skip
    )


@pytest.fixture
def state(paas_root) -> Callable[[], dict]:
    """Everything paas keeps: every table's rows (via paas.store.query) and the files."""

    def snapshot() -> dict:
        return {"db": _dump_db(), "files": _dump_files(paas_root)}

    return snapshot


@pytest.fixture
def subprocess_env(paas_root) -> dict[str, str]:
    """Environment for a real `python -m paas` process on the same PAAS_ROOT."""
    env = dict(os.environ)
    env.update(PAAS_ROOT=str(paas_root), NO_COLOR="1", COLUMNS="80", PAAS_LOCAL="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env

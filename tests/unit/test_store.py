"""store.py: SQLite state under PAAS_ROOT: permissions, WAL, migrations, transactions,
and concurrent writers from separate OS processes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from paas import apps, config, paths, store

MIGRATIONS_NOW = list(store.MIGRATIONS)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_root_is_0700_and_database_0600(paas_root):
    assert not paas_root.exists()
    apps.create("web")
    config.set_vars("web", {"SECRET": "s3cret"})
    assert _mode(paas_root) == 0o700
    assert _mode(paas_root / "paas.db") == 0o600
    # The WAL and shared-memory files hold the same secrets while a connection is open.
    for extra in ("paas.db-wal", "paas.db-shm"):
        if (paas_root / extra).exists():
            assert _mode(paas_root / extra) == 0o600, extra


def test_existing_root_with_loose_mode_is_tightened(paas_root):
    paas_root.mkdir(mode=0o755)
    os.chmod(paas_root, 0o755)
    store.query("SELECT 1")
    assert _mode(paas_root) == 0o700


def test_umask_is_restored_after_opening(paas_root):
    before = os.umask(0o022)
    try:
        store.connection()
        now = os.umask(0o022)
        assert now == 0o022
    finally:
        os.umask(before)


def test_wal_mode_foreign_keys_and_schema_version():
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.query("PRAGMA foreign_keys")[0][0] == 1
    assert store.query("PRAGMA user_version")[0][0] == len(store.MIGRATIONS)
    tables = {r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"apps", "config", "settings", "releases", "formation", "domains", "ssh_keys", "acl",
            "events"} <= tables


def test_database_lives_in_paas_root(paas_root):
    assert paths.database() == paas_root / "paas.db"
    store.query("SELECT 1")
    assert (paas_root / "paas.db").is_file()


def test_paas_root_defaults_to_var_lib_paas(monkeypatch):
    monkeypatch.delenv("PAAS_ROOT")
    assert str(paths.root()) == "/var/lib/paas"


def test_forward_migration_keeps_data(monkeypatch, paas_root):
    apps.create("web")
    config.set_vars("web", {"A": "1"})
    store.reset_connections()
    v2 = """
        ALTER TABLE apps ADD COLUMN description TEXT NOT NULL DEFAULT '';
        CREATE TABLE widgets (id INTEGER PRIMARY KEY, app_id INTEGER NOT NULL)
    """
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, v2])
    assert store.query("PRAGMA user_version")[0][0] == len(store.MIGRATIONS)
    assert store.query_one("SELECT name, description FROM apps")["description"] == ""
    assert store.query("SELECT * FROM widgets") == []
    assert config.vars_of("web") == {"A": "1"}
    # Opening again does not re-run anything (it would fail: duplicate column).
    store.reset_connections()
    assert store.query("PRAGMA user_version")[0][0] == len(store.MIGRATIONS)


def test_apps_stopped_before_the_stopped_mark_existed_are_marked_stopped(monkeypatch, paas_root):
    """Migration 3: a live release with nothing serving is an app ps:stop stopped."""
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:2])
    with store.transaction() as db:
        for name in ("stopped", "running", "never-deployed"):
            db.execute("INSERT INTO apps (name, created_at) VALUES (?, 0)", (name,))
        for name in ("stopped", "running"):
            db.execute("INSERT INTO releases (app_id, version, status, description, created_at) "
                       "SELECT id, 1, 'live', 'v1', 0 FROM apps WHERE name = ?", (name,))
        db.execute("INSERT INTO serving (app_id, container_id) SELECT id, 'c1' FROM apps WHERE name = 'running'")
    store.reset_connections()
    monkeypatch.setattr(store, "MIGRATIONS", MIGRATIONS_NOW)
    assert {a.name: a.stopped for a in apps.list_all()} == {
        "never-deployed": False, "running": False, "stopped": True}


def test_migration_text_may_contain_semicolons_in_comments_strings_and_triggers(monkeypatch):
    """A ';' inside a comment, a string literal or a trigger body is no statement boundary
    (a future migration with a trigger or such a default must apply as written)."""
    store.query("SELECT 1")
    store.reset_connections()
    v2 = """
        -- a note; with a semicolon
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT 'a;b -- c');
        CREATE TABLE note_log (body TEXT NOT NULL);
        CREATE TRIGGER note_added AFTER INSERT ON notes BEGIN
            INSERT INTO note_log (body) VALUES (new.body);
        END;
        INSERT INTO notes (body) VALUES ('x; y')
    """
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, v2])
    assert store.query("PRAGMA user_version")[0][0] == len(store.MIGRATIONS)
    assert [r["body"] for r in store.query("SELECT body FROM notes")] == ["x; y"]
    assert [r["body"] for r in store.query("SELECT body FROM note_log")] == ["x; y"]
    with store.transaction() as db:
        db.execute("INSERT INTO notes DEFAULT VALUES")
    assert store.query("SELECT body FROM notes ORDER BY id")[1]["body"] == "a;b -- c"


def test_failed_migration_leaves_schema_untouched(monkeypatch, paas_root):
    store.query("SELECT 1")
    store.reset_connections()
    good = len(store.MIGRATIONS)
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, "CREATE TABLE half (id INTEGER); NOT SQL"])
    with pytest.raises(Exception):
        store.connection()
    store.reset_connections()
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:good])
    assert store.query("PRAGMA user_version")[0][0] == good
    assert store.query("SELECT name FROM sqlite_master WHERE name = 'half'") == []


def test_transaction_rolls_back_on_error():
    apps.create("web")
    with pytest.raises(RuntimeError):
        with store.transaction() as db:
            db.execute("INSERT INTO config (app_id, key, value) VALUES (0, 'A', '1')")
            db.execute("INSERT INTO config (app_id, key, value) VALUES (0, 'B', '2')")
            raise RuntimeError("boom")
    assert store.query("SELECT * FROM config") == []
    assert not store.connection().in_transaction


def test_nested_transaction_joins_the_outer_one():
    with pytest.raises(RuntimeError):
        with store.transaction() as outer:
            outer.execute("INSERT INTO config (app_id, key, value) VALUES (0, 'A', '1')")
            with store.transaction() as inner:
                assert inner is outer
                inner.execute("INSERT INTO config (app_id, key, value) VALUES (0, 'B', '2')")
            raise RuntimeError("after the inner block")
    assert store.query("SELECT * FROM config") == []


def test_connections_are_per_root(monkeypatch, tmp_path):
    apps.create("web")
    monkeypatch.setenv("PAAS_ROOT", str(tmp_path / "other"))
    assert apps.list_all() == []
    apps.create("api")
    monkeypatch.setenv("PAAS_ROOT", str(tmp_path / "paas-root"))
    assert [a.name for a in apps.list_all()] == ["web"]


_WORKER = textwrap.dedent(
    """
    import os, sys, time
    from paas.__main__ import main
    import paas.cli  # import everything first so all processes start writing together
    ready, go = sys.argv[1:3]
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.002)
    main(sys.argv[3:])
    """
)


def _run_together(argvs, env, tmp_path, timeout=60):
    """Start one process per argv, wait until all have imported paas, then release them at once."""
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(len(argvs))]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(flag), str(go), *argv],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for flag, argv in zip(ready, argvs)
    ]
    try:
        deadline = time.monotonic() + timeout
        while not all(f.exists() for f in ready) and time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                break  # one died while importing: report it below
            time.sleep(0.005)
        go.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            results.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def test_ten_processes_setting_config_at_once_lose_no_key(subprocess_env, tmp_path, paas_root):
    apps.create("web")
    config.set_vars("web", {"EXISTING": "kept"})
    store.reset_connections()
    argvs = [["config:set", "web", f"KEY_{i}=value {i}", "--no-restart"] for i in range(10)]
    results = _run_together(argvs, subprocess_env, tmp_path)
    for i, (code, out, err) in enumerate(results):
        assert (code, err) == (0, ""), (i, out, err)
        assert out == f"-----> Setting KEY_{i} on web\n"
    expected = {f"KEY_{i}": f"value {i}" for i in range(10)}
    expected["EXISTING"] = "kept"
    assert config.vars_of("web") == dict(sorted(expected.items()))
    assert _mode(paas_root / "paas.db") == 0o600
    assert _mode(paas_root) == 0o700
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.query("PRAGMA integrity_check")[0][0] == "ok"


def test_ten_processes_on_a_fresh_root_create_schema_once(subprocess_env, tmp_path, paas_root):
    assert not paas_root.exists()
    results = _run_together([["apps:create", f"app{i}"] for i in range(10)], subprocess_env, tmp_path)
    for i, (code, out, err) in enumerate(results):
        assert (code, err) == (0, ""), (i, out, err)
    assert [a.name for a in apps.list_all()] == sorted(f"app{i}" for i in range(10))
    assert store.query("PRAGMA user_version")[0][0] == len(store.MIGRATIONS)
    assert _mode(paas_root / "paas.db") == 0o600
    assert _mode(paas_root) == 0o700


def test_a_commit_that_fails_leaves_no_transaction_open(paas_root):
    # A deferred constraint fails at COMMIT, as a full disk would: the transaction must not
    # stay open, or every later one in this process would join it and never commit.
    import sqlite3

    db = store.connection()
    db.execute("CREATE TABLE t_parent (id INTEGER PRIMARY KEY)")
    db.execute("CREATE TABLE t_child (p INTEGER REFERENCES t_parent(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as tx:
            tx.execute("INSERT INTO t_child VALUES (42)")
    assert not db.in_transaction
    with store.transaction() as tx:
        tx.execute("INSERT INTO t_parent VALUES (1)")
    other = sqlite3.connect(paths.database())
    assert other.execute("SELECT COUNT(*) FROM t_parent").fetchone()[0] == 1
    assert other.execute("SELECT COUNT(*) FROM t_child").fetchone()[0] == 0
    other.close()

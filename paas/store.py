"""SQLite state: apps, config, releases, formation, settings, domains, keys, events.

WAL mode so readers never wait for a writer; every write runs in one
`BEGIN IMMEDIATE` transaction so concurrent writers queue instead of losing updates.
The schema moves forward through numbered migrations recorded in `PRAGMA user_version`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterator

from paas import paths
from paas.errors import ServiceUnavailable

MIGRATIONS: list[str] = [
    # v1: the foundation
    """
    CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        owner TEXT,
        created_at REAL NOT NULL
    );
    -- the containers that serve an app now; any other container of the app is retired
    CREATE TABLE serving (
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        container_id TEXT NOT NULL PRIMARY KEY
    );
    -- app_id 0 holds the global defaults every app inherits
    CREATE TABLE config (
        app_id INTEGER NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (app_id, key)
    );
    -- namespaced properties (checks, nginx, ps, builder, git, apps...), app_id 0 = global
    CREATE TABLE settings (
        app_id INTEGER NOT NULL,
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (app_id, namespace, key)
    );
    CREATE TABLE releases (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        status TEXT NOT NULL,
        description TEXT NOT NULL,
        image TEXT,
        image_id TEXT,
        git_sha TEXT,
        buildpack TEXT,
        processes TEXT NOT NULL DEFAULT '{}',
        app_json TEXT NOT NULL DEFAULT '{}',
        config TEXT NOT NULL DEFAULT '{}',
        author TEXT,
        created_at REAL NOT NULL,
        UNIQUE (app_id, version)
    );
    CREATE TABLE formation (
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        process TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        PRIMARY KEY (app_id, process)
    );
    CREATE TABLE domains (
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        domain TEXT NOT NULL UNIQUE
    );
    CREATE TABLE ssh_keys (
        name TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE acl (
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        key_name TEXT NOT NULL REFERENCES ssh_keys(name) ON DELETE CASCADE,
        PRIMARY KEY (app_id, key_name)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        app TEXT,
        command TEXT NOT NULL,
        outcome TEXT NOT NULL
    );
    """,
    # 2: release images of destroyed (or renamed-away) apps that a busy image store kept from
    # being removed then; `paas cleanup` removes them.
    """
    CREATE TABLE images_left (
        app TEXT PRIMARY KEY,
        at REAL NOT NULL
    );
    """,
    # 3: an app stopped with ps:stop stays stopped through ps:restore (a reboot) until
    # ps:start, a deploy or a scale brings it back. Apps stopped before: a live release and
    # nothing serving (ps:stop empties `serving`; a web=0 app without workers has nothing to
    # restore either).
    """
    ALTER TABLE apps ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;
    UPDATE apps SET stopped = 1
     WHERE id IN (SELECT app_id FROM releases WHERE status = 'live')
       AND id NOT IN (SELECT app_id FROM serving);
    """,
    # 4: names a rename moved away from, until their route and containers are gone: a rename
    # killed half-way leaves them to `paas cleanup --retire`.
    """
    CREATE TABLE renamed_away (
        app TEXT PRIMARY KEY,
        at REAL NOT NULL
    );
    """,
    # 5: the values a config change replaced, until its release went live or was undone: a
    # config:set killed in between has them put back (config.undo_unreleased). And since
    # when an app has its name: an earlier app's audit entries under it are not its own.
    """
    ALTER TABLE apps ADD COLUMN named_at REAL;
    UPDATE apps SET named_at = created_at;
    CREATE TABLE config_undo (
        app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        old_value TEXT,
        live_version INTEGER NOT NULL,
        PRIMARY KEY (app_id, key)
    );
    """,
]

_local = threading.local()


def _connect(path: Path) -> sqlite3.Connection:
    new = not path.exists()
    old_umask = os.umask(0o077)
    try:
        conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    except sqlite3.Error as exc:
        raise ServiceUnavailable(f"cannot open the state database {path}: {exc}") from None
    finally:
        os.umask(old_umask)
    if new:
        os.chmod(path, 0o600)
    conn.row_factory = sqlite3.Row
    _use_wal(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    _migrate(conn)
    return conn


def _use_wal(conn: sqlite3.Connection, wait: float = 60.0) -> None:
    """Switch to WAL. sqlite answers "database is locked" at once, without its busy timeout,
    when another process is switching or migrating a fresh database at that moment (seen with
    ten commands started together on a new PAAS_ROOT): try again, as long as the timeout."""
    deadline = time.monotonic() + wait
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite decides where one is complete."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    rest = "\n".join(l for l in buffer.splitlines() if l.strip() and not l.strip().startswith("--"))
    if rest:  # the last statement may omit its ';'
        if not sqlite3.complete_statement(rest + ";"):
            raise ValueError("a migration ends with an incomplete statement")
        statements.append(rest)
    return statements


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= len(MIGRATIONS):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read inside the lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def connection() -> sqlite3.Connection:
    """One connection per thread per database path."""
    path = paths.database()
    cached = getattr(_local, "conns", None)
    if cached is None:
        cached = _local.conns = {}
    conn = cached.get(path)
    if conn is None:
        conn = cached[path] = _connect(path)
    return conn


def reset_connections() -> None:
    """Forget cached connections (tests switch PAAS_ROOT between cases)."""
    for conn in getattr(_local, "conns", {}).values():
        conn.close()
    _local.conns = {}


@contextlib.contextmanager
def transaction() -> Iterator[sqlite3.Connection]:
    """A write transaction: taken with BEGIN IMMEDIATE so writers serialize."""
    conn = connection()
    if conn.in_transaction:  # nested use joins the outer transaction
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # A COMMIT that failed (a full disk) may leave the transaction open: later ones
        # would join it and never commit, holding the write lock. SQLite may also have rolled
        # back by itself already, when a second ROLLBACK would hide the first error.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def query(sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    return connection().execute(sql, params).fetchall()


def query_one(sql: str, params: tuple = ()) -> sqlite3.Row | None:
    return connection().execute(sql, params).fetchone()

"""Config vars per app and global defaults (app_id 0). Values are kept byte-exact."""

from __future__ import annotations

import shlex

from paas import apps, console, names, store
from paas.errors import InvalidInput, NotFound

GLOBAL = 0


def scope_id(app: str | None) -> int:
    return GLOBAL if app is None else apps.get(app).id


def parse_assignments(items: list[str], read_file=None) -> dict[str, str]:
    """Turn `K=V` words into a dict. `K=@path` reads a file, `K=@-` standard input;
    `K=@@text` keeps a literal leading `@`. Every pair is validated before anything is stored."""
    if not items:
        raise InvalidInput("nothing to set: give KEY=VALUE pairs")
    result: dict[str, str] = {}
    from_stdin = [item.partition("=")[0] for item in items if item.partition("=")[2] == "@-"]
    if len(from_stdin) > 1 and read_file is not None:  # the first would take all of it, and the others nothing
        raise InvalidInput(f"only one value can come from standard input; {', '.join(from_stdin)} all ask for it")
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"{item!r} is not KEY=VALUE")
        names.config_key(key)
        if value.startswith("@@"):
            value = value[1:]
        elif value.startswith("@") and len(value) > 1:
            if read_file is None:
                raise InvalidInput(f"{key}: reading values from files is not possible here")
            value = read_file(value[1:])
        if key in result:
            raise InvalidInput(f"{key} is given twice")
        result[key] = names.config_value(key, value)
    return result


def check_set(app: str | None, values: dict[str, str]) -> None:
    """Refuse bad keys or values, or an unknown app, before anything is written."""
    for key, value in values.items():
        names.config_key(key)
        names.config_value(key, value)
    scope_id(app)


def check_unset(app: str | None, keys: list[str]) -> None:
    if not keys:
        raise InvalidInput("nothing to unset: give one or more KEYs")
    for key in keys:
        names.config_key(key)
    scope_id(app)


def set_vars(app: str | None, values: dict[str, str]) -> list[str]:
    """Store values; returns the keys whose value changed."""
    check_set(app, values)
    scope = scope_id(app)
    changed = []
    with store.transaction() as db:
        for key, value in values.items():
            row = db.execute(
                "SELECT value FROM config WHERE app_id = ? AND key = ?", (scope, key)
            ).fetchone()
            if row is None or row["value"] != value:
                changed.append(key)
            db.execute(
                "INSERT INTO config (app_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value",
                (scope, key, value),
            )
    return changed


def unset_vars(app: str | None, keys: list[str]) -> list[str]:
    check_unset(app, keys)
    scope = scope_id(app)
    removed = []
    with store.transaction() as db:
        for key in keys:
            cur = db.execute("DELETE FROM config WHERE app_id = ? AND key = ?", (scope, key))
            if cur.rowcount:
                removed.append(key)
    return removed


def restore_vars(app: str | None, before: dict[str, str], keys: list[str]) -> None:
    """Put `keys` back to their values in `before` (absent there: removed)."""
    scope = scope_id(app)
    with store.transaction() as db:
        for key in keys:
            if key in before:
                db.execute(
                    "INSERT INTO config (app_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value",
                    (scope, key, before[key]),
                )
            else:
                db.execute("DELETE FROM config WHERE app_id = ? AND key = ?", (scope, key))


def note_undo(app: str, before: dict[str, str], keys: list[str], live_version: int) -> None:
    """Keep what `keys` were (absent: None) while a change of them is released over
    `live_version`; in the transaction that changed them, so a kill cannot part the two."""
    scope = scope_id(app)
    with store.transaction() as db:
        for key in keys:
            db.execute("INSERT OR REPLACE INTO config_undo (app_id, key, old_value, live_version) VALUES (?, ?, ?, ?)",
                       (scope, key, before.get(key), live_version))


def forget_undo(app: str) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM config_undo WHERE app_id = ?", (scope_id(app),))


def release_or_undo(app: str, before: dict[str, str], changed: list[str], live_version: int, release) -> None:
    """Run `release()`, which makes `changed` (stored and noted with note_undo, old values in
    `before`) live. If it fails before a new release went live, the old values go back, so the
    stored config always matches what runs."""
    from paas import releases

    try:
        release()
    except BaseException:
        now = releases.current(app)
        if changed and (now is None or now.version == live_version):  # nothing switched: undo
            restore_vars(app, before, changed)
            console.detail(f"{', '.join(changed)} left as before: the config change was undone")
        forget_undo(app)
        raise
    forget_undo(app)


def undo_unreleased(app: str) -> list[str]:
    """A config change whose command died before its release went live: its old values back
    (the next deploy must not run what never passed its checks). The keys put back."""
    from paas import releases

    scope = scope_id(app)
    rows = store.query("SELECT key, old_value, live_version FROM config_undo WHERE app_id = ?", (scope,))
    if not rows:
        return []
    live = releases.current(app)
    went_live = live is not None and live.version != rows[0]["live_version"]
    keys = [] if went_live else [r["key"] for r in rows]
    with store.transaction():
        restore_vars(app, {r["key"]: r["old_value"] for r in rows if r["old_value"] is not None}, keys)
        forget_undo(app)
    return keys


def vars_of(app: str | None) -> dict[str, str]:
    scope = scope_id(app)
    rows = store.query("SELECT key, value FROM config WHERE app_id = ? ORDER BY key", (scope,))
    return {r["key"]: r["value"] for r in rows}


def effective(app: str) -> dict[str, str]:
    """What the app's processes see: global defaults overlaid by the app's own values."""
    merged = vars_of(None)
    merged.update(vars_of(app))
    return dict(sorted(merged.items()))


def changed_keys(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Keys set, changed or unset from `before` to `after`, sorted."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def get_var(app: str | None, key: str) -> str:
    names.config_key(key)
    values = effective(app) if app else vars_of(None)
    if key not in values:
        where = f"app {app!r}" if app else "the global config"
        raise NotFound(f"{key} is not set for {where}")
    return values[key]


def export(values: dict[str, str], fmt: str) -> str:
    if fmt == "json":
        return console.json_text(values)
    if fmt == "shell":
        return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in values.items())
    if fmt == "dotenv":
        return "\n".join(f"{k}={_dotenv_quote(v)}" for k, v in values.items())
    raise InvalidInput(f"unknown format {fmt!r}: use dotenv, shell or json")


def _dotenv_quote(value: str) -> str:
    r"""A .env value that dotenv libraries read as written and `set -a; . ./.env` never runs.

    dotenv has no standard. Single quotes mean "literal" to node's dotenv and sh, and to
    python-dotenv but for its `${NAME}` (which it always expands), so every value without a
    quote, backslash or newline gets them. The others are double-quoted, newlines kept, with
    \, \", \$ and \` escaped: sh reads them exactly and never expands or runs anything;
    python-dotenv keeps the backslash of a \$ or \` (`--format shell` and `--format json` are
    exact for every value)."""
    if not any(c in value for c in "'\\\n"):
        return f"'{value}'"
    escaped = value
    for char, escape in (("\\", "\\\\"), ('"', '\\"'), ("$", "\\$"), ("`", "\\`")):
        escaped = escaped.replace(char, escape)
    return f'"{escaped}"'

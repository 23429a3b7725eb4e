"""The audit trail: who ran what, when, with what outcome. Secrets are redacted first."""

from __future__ import annotations

import time

from paas import store

REDACT_VALUES_OF = {"config:set"}
ENV_FLAGS = {"-e", "--env"}


def redact(args: list[str]) -> str:
    """config:set values and `run -e K=V` values become `K=***`. The verb may follow other
    words (a refused laptop-client command still starts with `--app APP`)."""
    masked, previous = [], ""
    for word in args:
        if previous in ENV_FLAGS:
            word = _mask(word)
        elif word.startswith("--env="):
            word = "--env=" + _mask(word[6:])
        masked.append(word)
        previous = word
    verb = next((i for i, word in enumerate(masked) if word in REDACT_VALUES_OF), None)
    if verb is not None:
        masked = masked[:verb + 1] + [_mask(word) for word in masked[verb + 1:]]
    text = " ".join(masked)
    return text if len(text) <= 300 else text[:300] + "..."


def _mask(word: str) -> str:
    key, sep, _ = word.partition("=")
    return f"{key}=***" if sep else word


def record(actor: str, app: str | None, args: list[str], outcome: str) -> None:
    try:
        with store.transaction() as db:
            db.execute("INSERT INTO events (at, actor, app, command, outcome) VALUES (?, ?, ?, ?, ?)",
                       (time.time(), actor, app, redact(args), outcome))
    except Exception:
        pass  # auditing must never turn a success into a failure


def recent(app: str | None = None, limit: int = 50, after_id: int = 0) -> list[dict]:
    sql = "SELECT * FROM events WHERE id > ?"
    params: list = [after_id]
    if app:
        sql += " AND app = ?"
        params.append(app)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [dict(r) for r in reversed(store.query(sql, tuple(params)))]

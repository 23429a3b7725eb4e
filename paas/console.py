"""The only place that prints. dokku's style, shared by the CLI and `git push`:

    -----> Step
           detail (7 spaces)
     !     error (on stderr)

Colour only when the stream is a TTY and NO_COLOR is unset (git's sideband is no TTY).
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Iterable, Sequence

STEP = "-----> "
DETAIL = "       "
ERROR = " !     "


def _colour(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def _paint(text: str, code: str, stream) -> str:
    return f"\033[{code}m{text}\033[0m" if _colour(stream) else text


_survive_closed_output = False


def survive_closed_output() -> None:
    """For commands that must finish what they started when their reader leaves (a deploy
    whose pusher pressed Ctrl-C): output to a closed pipe is dropped instead of raising
    BrokenPipeError in the middle of a switch. Local commands keep Python's default, so
    `paas logs -t | head` still ends."""
    global _survive_closed_output
    _survive_closed_output = True


def _write(stream, text: str) -> None:
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        if not _survive_closed_output:
            raise
        # Point the descriptor at /dev/null: later lines, and the flush at exit, go nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}


def escape_controls(text: str) -> str:
    """Control characters (ESC, CR, newlines...) as \\xNN: text from users, shown safely."""
    return text.translate(_CONTROLS)


_CSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def plain(text: str) -> str:
    """A line of a program's output (a build's, say) without its colours and cursor moves,
    any other control character escaped."""
    return escape_controls(_CSI.sub("", text).replace("\t", "    "))  # tabs: stack traces, make


def out(text: str = "") -> None:
    """Plain output line (data a script may read)."""
    _write(sys.stdout, text)


def step(text: str) -> None:
    _write(sys.stdout, _paint(STEP, "1;32", sys.stdout) + text)


def detail(text: str) -> None:
    for line in text.splitlines() or [""]:
        _write(sys.stdout, DETAIL + line)


def warn(text: str) -> None:
    _write(sys.stderr, _paint(ERROR, "1;33", sys.stderr) + "warning: " + text)


def error(text: str, hint: str | None = None) -> None:
    lines = text.splitlines() or [""]
    for line in lines:
        _write(sys.stderr, _paint(ERROR, "1;31", sys.stderr) + line)
    if hint:
        for line in hint.splitlines():
            _write(sys.stderr, ERROR + line)


# JSON escapes only U+0000-U+001F. DEL and the C1 controls (U+0080-U+009F: U+009B is a
# terminal's CSI) get \u escapes too, so `--format json` shown in a terminal stays inert.
_JSON_CONTROLS = {c: f"\\u{c:04x}" for c in range(0x7f, 0xa0)}


def json_text(data: Any) -> str:
    """Indented JSON, non-ASCII text kept readable, every control character escaped."""
    # The C1 characters occur only inside JSON strings, where an escape means the same.
    return json.dumps(data, indent=2, ensure_ascii=False).translate(_JSON_CONTROLS)


def emit_json(data: Any) -> None:
    _write(sys.stdout, json_text(data))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table: stable for tests, readable in a terminal."""
    rows = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    _write(sys.stdout, _paint(line(headers), "1", sys.stdout))
    for row in rows:
        _write(sys.stdout, line(row))


def report(title: str, fields: Sequence[tuple[str, Any]]) -> None:
    """dokku's `=====> title` block with aligned `key: value` lines."""
    _write(sys.stdout, _paint(f"=====> {title}", "1", sys.stdout))
    width = max((len(k) for k, _ in fields), default=0) + 1
    for key, value in fields:
        _write(sys.stdout, f"       {(key + ':').ljust(width)} {'' if value is None else value}".rstrip())

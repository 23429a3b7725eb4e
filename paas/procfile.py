"""Procfile parsing (pure): `type: command` lines, comments and blank lines allowed."""

from __future__ import annotations

import re

from paas.errors import InvalidInput

MAX_LINES = 1000
MAX_TYPES = 50
_LINE = re.compile(r"([a-z][a-z0-9_-]{0,29})\s*:\s*(.*\S)\s*")


def parse(text: str) -> dict[str, str]:
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"Procfile has {len(lines)} lines; at most {MAX_LINES} are accepted")
    processes: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise InvalidInput(
                f"Procfile line {number} is not `type: command` "
                f"(type: a lowercase letter, then a-z, 0-9, '_' or '-'): {raw[:80]!r}"
            )
        process, command = match.groups()
        if process in processes:
            raise InvalidInput(f"Procfile line {number}: process type {process!r} is defined twice")
        processes[process] = command
    if len(processes) > MAX_TYPES:
        raise InvalidInput(f"Procfile defines {len(processes)} process types; at most {MAX_TYPES}")
    return processes

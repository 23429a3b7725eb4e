"""app.json (pure): healthchecks, predeploy/postdeploy scripts and formation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from paas import names
from paas.errors import InvalidInput
from paas.models import HealthCheck

MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class AppJson:
    healthchecks: dict[str, tuple[HealthCheck, ...]] = field(default_factory=dict)
    predeploy: str | None = None
    postdeploy: str | None = None
    formation: dict[str, int] = field(default_factory=dict)
    raw: dict = field(default_factory=dict)


def parse(text: str | None) -> AppJson:
    if text is None:
        return AppJson()
    if len(text.encode()) > MAX_BYTES:
        raise InvalidInput("app.json is larger than 256 KiB")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"app.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(data, dict):
        raise InvalidInput("app.json must hold a JSON object")
    return from_dict(data)


def _str(value, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"app.json {where} must be a non-empty string")
    return value


def from_dict(data: dict) -> AppJson:
    scripts = data.get("scripts") or {}
    if not isinstance(scripts, dict):
        raise InvalidInput("app.json scripts must be an object")
    dokku = scripts.get("dokku") or {}
    if not isinstance(dokku, dict):
        raise InvalidInput("app.json scripts.dokku must be an object")
    predeploy = _str(dokku.get("predeploy", scripts.get("predeploy")), "scripts.predeploy")
    postdeploy = _str(dokku.get("postdeploy", scripts.get("postdeploy")), "scripts.postdeploy")
    return AppJson(
        healthchecks=_healthchecks(data.get("healthchecks") or {}),
        predeploy=predeploy,
        postdeploy=postdeploy,
        formation=_formation(data.get("formation") or {}),
        raw=data,
    )


def _formation(data) -> dict[str, int]:
    if not isinstance(data, dict):
        raise InvalidInput("app.json formation must be an object")
    result = {}
    for process, spec in data.items():
        names.process_type(process)
        quantity = spec.get("quantity", 1) if isinstance(spec, dict) else spec
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= 50:
            raise InvalidInput(f"app.json formation.{process}.quantity must be a whole number 0-50")
        result[process] = quantity
    return result


def _number(check: dict, key: str, default, lo=0, hi=3600):
    value = check.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidInput(f"app.json healthcheck {key} must be a number from {lo} to {hi}")
    return value


def _whole(check: dict, key: str, default, lo: int, hi: int) -> int:
    value = check.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InvalidInput(f"app.json healthcheck {key} must be a whole number from {lo} to {hi}")
    return value


def _healthchecks(data) -> dict[str, tuple[HealthCheck, ...]]:
    if not isinstance(data, dict):
        raise InvalidInput("app.json healthchecks must be an object keyed by process type")
    result = {}
    for process, checks in data.items():
        names.process_type(process)
        if not isinstance(checks, list):
            raise InvalidInput(f"app.json healthchecks.{process} must be a list")
        parsed = []
        for check in checks:
            if not isinstance(check, dict):
                raise InvalidInput(f"app.json healthchecks.{process} entries must be objects")
            path = check.get("path", "/")
            if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in "\r\n "):
                raise InvalidInput(f"app.json healthcheck path must start with '/' and hold no spaces: {path!r}")
            content = check.get("content")
            if content is not None and not isinstance(content, str):
                raise InvalidInput("app.json healthcheck content must be a string")
            for unsupported in ("command", "listening"):
                if unsupported in check:
                    raise InvalidInput(
                        f"app.json healthchecks.{process}: {unsupported!r} checks are not supported; "
                        "paas runs HTTP checks (path, port, content) and the settle time (checks:set wait)"
                    )
            port = check.get("port")
            if port is not None:
                port = _whole(check, "port", None, 1, 65535)
            parsed.append(HealthCheck(
                process=process,
                path=path,
                port=port,
                attempts=_whole(check, "attempts", 30, 1, 1000),
                timeout=float(_number(check, "timeout", 5, 0.1, 600)),
                wait=float(_number(check, "wait", 0.25, 0, 600)),
                initial_delay=float(_number(check, "initialDelay", 0, 0, 600)),
                content=content,
                kind="http",
            ))
        result[process] = tuple(parsed)
    return result

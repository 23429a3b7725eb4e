"""Names, labels and validation rules, in one place.

Everything a user types that ends up in a path, a container name, a label or an nginx
config passes through one of the validators here first.
"""

from __future__ import annotations

import re

from paas.errors import InvalidInput

# Container labels: running state is read from these, never guessed from names.
LABEL_APP = "paas.app"
LABEL_PROCESS = "paas.process"
LABEL_INDEX = "paas.index"
LABEL_RELEASE = "paas.release"
LABEL_ROLE = "paas.role"  # "process" for formation containers, "run" for one-offs, "release" for release phase
LABEL_PORT = "paas.port"
LABEL_OWNER = "paas.owner"  # one-offs: "PID.START" of the command that waits on them
LABEL_STACK = "paas.stack"

# App containers join one bridge network with inter-container traffic off (like Heroku's
# dynos): an app cannot reach another app's containers, only the host (nginx) can.
NETWORK = "paas-apps"
# Before that, apps shared "paas" with traffic between containers allowed. Containers still on
# it keep serving until their next deploy or restart; the retire removes it once it is empty.
LEGACY_NETWORK = "paas"
NETWORK_OPTIONS = {"com.docker.network.bridge.enable_icc": "false"}
STACK_IMAGE = "paas/stack:bookworm"

# Bytes of one config value, UTF-8. Linux holds at most 128 KiB in one environment string
# (MAX_ARG_STRLEN, "KEY=value" and its NUL): a larger one would never start a container.
MAX_CONFIG_VALUE = 127 * 1024

_APP_RE = re.compile(r"[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PROCESS_RE = re.compile(r"[a-z][a-z0-9_-]{0,29}")
_KEYNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

APP_RULE = (
    "app names are DNS labels: a lowercase letter first, then lowercase letters, digits "
    "or hyphens, at most 63 characters, not ending with a hyphen"
)
KEY_RULE = "config keys start with a letter or underscore, then letters, digits or underscores"
RESERVED_KEYS = frozenset({"PORT"})
RESERVED_PREFIX = "PAAS_"


def _show(value: str) -> str:
    return repr(value) if value else "an empty name"


def app_name(value: str) -> str:
    if not isinstance(value, str) or not _APP_RE.fullmatch(value):
        raise InvalidInput(f"invalid app name {_show(value)}: {APP_RULE}")
    return value


def config_key(value: str) -> str:
    if not _KEY_RE.fullmatch(value) or len(value) > 255:
        raise InvalidInput(f"invalid config key {_show(value)}: {KEY_RULE} (at most 255)")
    if value in RESERVED_KEYS or value.startswith(RESERVED_PREFIX):
        raise InvalidInput(
            f"config key {value!r} is reserved: paas sets PORT and the PAAS_ variables itself"
        )
    return value


def config_value(key: str, value: str) -> str:
    if "\x00" in value:
        raise InvalidInput(f"the value of {key} contains a NUL byte, which no environment can hold")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_CONFIG_VALUE:
        raise InvalidInput(f"the value of {key} is larger than {MAX_CONFIG_VALUE // 1024} KiB")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"the value of {key} is not valid UTF-8") from None
    return value


def process_type(value: str) -> str:
    if not _PROCESS_RE.fullmatch(value):
        raise InvalidInput(
            f"invalid process type {_show(value)}: a lowercase letter first, then lowercase "
            "letters, digits, '_' or '-', at most 30 characters"
        )
    return value


def key_name(value: str) -> str:
    if not _KEYNAME_RE.fullmatch(value):
        raise InvalidInput(
            f"invalid key name {_show(value)}: letters, digits, '.', '_', '@' or '-', "
            "at most 64 characters, starting with a letter or digit"
        )
    return value


def domain(value: str) -> str:
    """A hostname nginx may route: lowercase DNS labels joined by dots (a leading `*.` allowed)."""
    host = value.lower()
    labels = host.split(".")
    if labels and labels[0] == "*":
        labels = labels[1:]
    if (
        len(host) > 253
        or len(labels) < 1
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
    ):
        raise InvalidInput(
            f"invalid domain {_show(value)}: dot-separated labels of lowercase letters, digits "
            "and hyphens (no leading or trailing hyphen), at most 253 characters"
        )
    return host


_IMAGE_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)"
_IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    rf"{_IMAGE_DOMAIN}?{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@sha256:[0-9a-f]{64})?"
    r"|(?:sha256:)?[0-9a-f]{12,64}"  # an image id, or its prefix
)


def image_reference(value: str) -> str:
    """An image as Docker names it: [registry[:port]/]path[:tag][@digest], or an image id."""
    if len(value) > 512 or not _IMAGE_RE.fullmatch(value):
        raise InvalidInput(f"invalid image reference {_show(value)}",
                           hint="for example nginx:alpine, registry.example.com:5000/team/app:1.2, or an image id")
    return value


def image_repo(app: str) -> str:
    return f"paas/{app}"


def image_tag(app: str, version: int) -> str:
    return f"{image_repo(app)}:v{version}"


_RELEASE_TAG_RE = re.compile(rf"{re.escape(image_repo(''))}({_APP_RE.pattern}):v[1-9][0-9]*")


def release_tag_app(tag: str) -> str | None:
    """The app a release image tag (`paas/APP:vN`) belongs to; None for any other tag, such
    as the stack's `paas/stack:bookworm`, which an app named `stack` must never remove."""
    match = _RELEASE_TAG_RE.fullmatch(tag)
    return match.group(1) if match else None


def container_name(app: str, process: str, index: int, version: int, suffix: str) -> str:
    return f"{app}.{process}.{index}.v{version}.{suffix}"

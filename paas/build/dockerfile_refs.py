"""The images an app's own Dockerfile reads from outside its build (pure: text in, names out).

Every app's images share the host's image store, so `FROM paas/other:v3` or
`COPY --from=paas/other:v3 /app /stolen` would hand another app's code to this one. The
builder refuses names of other apps' images by their text, and resolves the rest to refuse
another app's image by id.

Read the way Docker's Dockerfile parser reads it: a byte-order mark, the `escape` parser
directive (only among the first directives), continuations (the escape character, then at
most spaces and tabs), comment and empty lines inside them, any of space, tab, vertical tab,
form feed or CR between an instruction and its arguments, global `ARG` defaults (which may
use earlier ones) substituted into names, quotes and escapes removed, stages by name and
index, `COPY`/`ADD --from`, and `ONBUILD` (also for the triggers a base image carries).
A name paas cannot read with certainty is refused, never guessed.
"""

from __future__ import annotations

import re

from paas.errors import InvalidInput

DIRECTIVES = {"escape", "syntax", "check"}
_DIRECTIVE = re.compile(r"#[ \t]*([A-Za-z]+)[ \t]*=[ \t]*(\S*)[ \t]*$")
_SPACE = re.compile(r"[ \t\v\f\r]+")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-+?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
# A plain image reference: what Docker accepts, without quotes, escapes or variables left.
_REFERENCE = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?|(?:sha256:)?[0-9a-f]{12,64}"
)


class Unreadable(InvalidInput):
    """A name paas cannot tell for certain."""


def instructions(text: str) -> list[tuple[str, str, str]]:
    """(INSTRUCTION, its arguments, the escape character) with continuations joined."""
    text = text.removeprefix("\ufeff")
    # Lines end at LF (a CR before it dropped), as for Docker; str.splitlines would also end
    # them at other control characters Docker keeps inside a line.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    escape = "\\"
    start = 0
    for start, line in enumerate(lines):  # parser directives: only the first lines
        match = _DIRECTIVE.match(line)
        if not match or match.group(1).lower() not in DIRECTIVES:
            break
        if match.group(1).lower() == "escape":
            if match.group(2) not in ("\\", "`"):
                raise Unreadable(f"Dockerfile: escape={match.group(2)!r} is not a valid escape character")
            escape = match.group(2)
    else:
        start = len(lines)
    continued = re.compile(re.escape(escape) + r"[ \t]*$")
    result, current = [], None
    for line in lines[start:]:
        stripped = line.lstrip(" \t")
        if not stripped.strip() or stripped.startswith("#"):
            continue  # empty and comment lines, also inside a continued instruction
        part = continued.sub("", line) if continued.search(line) else None
        current = (current or "") + (part if part is not None else line)
        if part is None:
            result.append(_split(current.strip(" \t\v\f\r"), escape))
            current = None
    if current is not None and current.strip():
        result.append(_split(current.strip(" \t\v\f\r"), escape))
    return result


def _split(line: str, escape: str) -> tuple[str, str, str]:
    parts = _SPACE.split(line, maxsplit=1)
    return parts[0].upper(), parts[1] if len(parts) > 1 else "", escape


def _words(rest: str, escape: str) -> list[str]:
    """Words of an instruction's arguments, split on unquoted whitespace; quotes kept."""
    words, word, quote, i = [], "", None, 0
    while i < len(rest):
        ch = rest[i]
        if ch == escape and quote != "'" and i + 1 < len(rest):
            word += ch + rest[i + 1]
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
            word += ch
        elif ch in "\"'":
            quote = ch
            word += ch
        elif ch in " \t\v\f\r":
            if word:
                words.append(word)
            word = ""
        else:
            word += ch
        i += 1
    if quote:
        raise Unreadable("Dockerfile: an unterminated quote")
    if word:
        words.append(word)
    return words


def _process(word: str, args: dict[str, str], escape: str) -> str:
    """A word as Docker reads it: variables filled in, quotes and escapes removed."""
    out, quote, i = "", None, 0
    while i < len(word):
        ch = word[i]
        if ch == escape and quote != "'" and i + 1 < len(word):
            out += word[i + 1]
            i += 2
        elif ch in "\"'" and quote in (None, ch):
            quote = None if quote else ch
            i += 1
        elif ch == "$" and quote != "'":
            match = _VARIABLE.match(word, i)
            if not match:
                raise Unreadable("Dockerfile: a '$' paas cannot read in an image name")
            out += _value(match, args)
            i = match.end()
        else:
            out += ch
            i += 1
    return out


def _value(match: re.Match, args: dict[str, str]) -> str:
    name = match.group(1) or match.group(4)
    operator, other = match.group(2), match.group(3) or ""
    if name not in args:
        if operator == "-":
            return other
        raise Unreadable(f"Dockerfile: an image is named through ${name}, which has no default",
                         hint="write the image's name, or give the ARG a default before the first FROM")
    value = args[name]
    if operator == "-":
        return value or other
    if operator == "+":
        return other if value else ""
    if operator == "?" and not value:
        raise Unreadable(f"Dockerfile: ${name} is empty")
    return value


def _arg_defaults(rest: str, args: dict[str, str], escape: str) -> None:
    for word in _words(rest, escape):
        name, has_default, default = word.partition("=")
        args[name] = _process(default, args, escape) if has_default else args.get(name, "")


def _plain(name: str, where: str) -> str:
    if not _REFERENCE.fullmatch(name):
        raise Unreadable(f"Dockerfile: {where} names {name!r}, which paas cannot read as an image name",
                         hint="write the image's name plainly (registry/repo:tag)")
    return name


def external_images(text: str) -> list[str]:
    """Every image the Dockerfile reads that is not one of its own stages (nor `scratch`)."""
    global_args: dict[str, str] = {}
    stages: list[str] = []
    found: list[str] = []
    for instruction, rest, escape in instructions(text):
        if instruction == "ONBUILD":  # runs in a later build that starts FROM this image
            instruction, rest, escape = _split(rest.strip(), escape)
        if instruction == "ARG" and not stages:
            _arg_defaults(rest, global_args, escape)
        elif instruction == "FROM":
            words = [w for w in _words(rest, escape) if not w.startswith("--")]
            if not words:
                raise Unreadable("Dockerfile: a FROM line names no image")
            image = _process(words[0], global_args, escape)
            if image.lower() != "scratch" and image.lower() not in stages:
                found.append(_plain(image, "a FROM line"))
            alias = _process(words[2], global_args, escape).lower() \
                if len(words) >= 3 and words[1].lower() == "as" else ""
            stages.append(alias)
        elif instruction in ("COPY", "ADD"):
            found += from_flags(rest, escape, stages, global_args)
    return found


def from_flags(rest: str, escape: str, stages: list[str], args: dict[str, str] | None = None) -> list[str]:
    """The images a COPY/ADD line's `--from` names (stage names and indexes left out)."""
    found = []
    for word in _words(rest, escape):
        flag = _process(word, args or {}, escape)
        if not flag.startswith("--"):
            break
        if flag.lower().startswith("--from="):
            source = flag.split("=", 1)[1]
            if not (source.isdigit() or source.lower() in stages):
                found.append(_plain(source, "a COPY --from"))
    return found


def onbuild_images(triggers: list[str]) -> list[str]:
    """The images a base image's ONBUILD triggers read (they run in a build FROM it)."""
    found = []
    for trigger in triggers or []:
        instruction, rest, escape = _split(trigger.strip(), "\\")
        if instruction in ("COPY", "ADD"):
            found += from_flags(rest, escape, [])
    return found


def names_app_image(name: str) -> str | None:
    """The app whose release images `name` spells (`paas/APP:...`, any registry prefix
    Docker treats as local), or None."""
    plain = re.sub(r"^(?:docker\.io/|index\.docker\.io/|registry-1\.docker\.io/)", "", name.lower())
    match = re.match(r"paas/([a-z0-9-]+)(?:[:@]|$)", plain)
    return match.group(1) if match else None

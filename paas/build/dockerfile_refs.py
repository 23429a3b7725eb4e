"""The images an app's own Dockerfile reads from outside its build (pure: text in, names out).

Every app's images share the host's image store, so `FROM paas/other:v3` or
`COPY --from=paas/other:v3 /app /stolen` would hand another app's code to this one. The
builder resolves what this module finds and refuses another app's images.

Read the way Docker's classic builder reads a Dockerfile: the `# escape=` directive, line
continuations, comment lines, global `ARG` defaults substituted into `FROM`, stage names
and indexes, `COPY --from` (also behind `ONBUILD`). When paas cannot tell which image a
line names (a variable it cannot resolve), the build is refused rather than guessed.
"""

from __future__ import annotations

import re
import shlex

from paas.errors import InvalidInput

_DIRECTIVE = re.compile(r"#\s*escape\s*=\s*(\S)\s*$", re.I)
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, rest of the line) with continuations joined and comment lines dropped."""
    lines = text.splitlines()
    escape = "\\"
    for line in lines:  # parser directives (`# name=value`): only at the very top
        if not re.match(r"#\s*\w+\s*=", line.strip()):
            break
        match = _DIRECTIVE.match(line.strip())
        if match and match.group(1) in "\\`":
            escape = match.group(1)
    result, current = [], ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            continue  # comments, also between continued lines
        if stripped.endswith(escape):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
        current = ""
    if current.strip():
        word, _, rest = current.strip().partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def _arg_defaults(rest: str) -> dict[str, str]:
    values = {}
    for item in shlex.split(rest):
        name, has_default, default = item.partition("=")
        values[name] = default if has_default else ""
    return values


def _substitute(word: str, args: dict[str, str], where: str) -> str:
    """`word` with $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative} filled in from `args`."""
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(4)
        if name not in args:
            raise InvalidInput(f"Dockerfile: {where} names an image through ${name}, which has no default here",
                               hint="write the image's name, or give the ARG a default before the first FROM")
        operator, other = match.group(2), match.group(3) or ""
        if operator == "-":
            return args[name] or other
        if operator == "+":
            return other if args[name] else ""
        return args[name]

    return _VARIABLE.sub(value, word)


def external_images(text: str) -> list[str]:
    """Every image the Dockerfile reads that is not one of its own stages (nor `scratch`)."""
    global_args: dict[str, str] = {}
    stages: list[str] = []
    found: list[str] = []
    seen_from = False
    for instruction, rest in instructions(text):
        if instruction == "ONBUILD":  # runs in a later build that starts FROM this image
            instruction, _, rest = rest.partition(" ")
            instruction, rest = instruction.upper(), rest.strip()
        if instruction == "ARG" and not seen_from:
            global_args.update(_arg_defaults(rest))
        elif instruction == "FROM":
            seen_from = True
            words = [w for w in rest.split() if not w.startswith("--")]
            if not words:
                raise InvalidInput("Dockerfile: a FROM line names no image")
            image = _substitute(words[0], global_args, "a FROM line")
            if image.lower() != "scratch" and image.lower() not in stages:
                found.append(image)
            stages.append(words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else "")
        elif instruction in ("COPY", "ADD"):
            for word in rest.split():
                if not word.startswith("--"):
                    break
                if word.lower().startswith("--from="):
                    source = word.split("=", 1)[1]
                    if "$" in source:
                        raise InvalidInput("Dockerfile: COPY --from with a variable is not supported",
                                           hint="write the stage's or the image's name")
                    if not (source.isdigit() or source.lower() in stages):
                        found.append(source)
    return found

"""Regenerate the command tables of docs/commands.md from the typer app (keeps it true).

Run: make docs   (or: PAAS_ROOT=$(mktemp -d) PAAS_LOCAL=1 .venv/bin/python scripts/gen_commands_doc.py)
"""
from typer.main import get_command
from typer.core import TyperArgument
from paas.cli import app
from paas.cli.base import NAMESPACES, namespace_of
from paas import settings
from paas.cli.introspect import takes_app

g = get_command(app)


def meta_of(p):
    m = p.metavar or p.name.upper()
    if p.nargs == -1 and "..." not in m:
        m += "..."
    return m


def usage(name, cmd):
    parts = [name]
    for p in cmd.params:
        if isinstance(p, TyperArgument):
            m = meta_of(p)
            parts.append(m if p.required or m.startswith("[") else f"[{m}]")
    return " ".join(parts)


def opt_text(p):
    names = ", ".join(sorted(p.opts + p.secondary_opts, key=lambda o: (o.startswith("--"), o)))
    if not p.is_flag:
        names += " " + ("N" if isinstance(p.default, int) and not isinstance(p.default, bool) else "VALUE")
    text = f"`{names}`"
    help_ = (p.help or "").rstrip(".")
    if not p.is_flag and p.default not in (None, ""):
        help_ += f"{' ' if help_ else ''}(default {p.default})"
    return text + (f" {help_}" if help_ else "")


def cell(text):
    return text.replace("|", "\\|")


by_ns = {}
for name, cmd in g.commands.items():
    by_ns.setdefault(namespace_of(name), []).append((name, cmd))
out = []
for ns in NAMESPACES:
    if ns not in by_ns:
        continue
    out.append(f"### {ns}\n\n{NAMESPACES[ns]}.\n")
    out.append("| command | what it does | options |\n|---|---|---|")
    for name, cmd in by_ns[ns]:
        doc = " ".join((cmd.help or "").split())
        if cmd.hidden:
            doc += " (hidden from help)"
        mark = " †" if takes_app(name) else ""
        opts = [opt_text(p) for p in cmd.params if not isinstance(p, TyperArgument)]
        out.append(f"| `{cell(usage(name, cmd))}`{mark} | {cell(doc)} | {cell('<br>'.join(opts)) or '-'} |")
    out.append("")
body = "\n".join(out) + "\n"

body += "### Property keys\n\n| namespace | key | default | meaning |\n|---|---|---|---|\n"
for p in settings.PROPERTIES:
    key = ("[TYPE.]" if p.per_process else "") + p.key
    body += f"| {p.namespace} | `{key}` | {('`' + p.default + '`') if p.default else '(empty)'} | {p.help} |\n"

from pathlib import Path

doc = Path(__file__).resolve().parents[1] / "docs" / "commands.md"
text = doc.read_text()
marker = "† = the first argument is the APP (inferred by the laptop client).\n\n"
head = text[: text.index(marker) + len(marker)]
doc.write_text(head + body)
print(f"wrote {doc}")

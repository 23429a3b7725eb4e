"""paas help, --help, --version and namespace listings: exact output."""

from __future__ import annotations

import re
import subprocess
import sys

from paas import __version__
from paas.cli.base import NAMESPACES

HEAD = [
    f"paas {__version__}: git push to deploy on a server you own",
    "",
    "Usage: paas COMMAND [ARGS]...    paas help NAMESPACE    paas COMMAND --help",
    "",
    "Namespaces:",
]
TAIL = [
    "",
    "Options:",
    "  --version  Show the version and exit",
    "  --help     Show this message and exit",
]
# The lines this issue owns, exactly; later issues add namespaces between them.
FOUNDATION_LINES = [
    "  apps        Create, list, inspect, rename and destroy apps",
    "  config      Config vars per app, and global defaults every app inherits",
    "  help        Show namespaces, or the commands of one namespace",
]

# The apps commands this issue owns, in order (usage, one-line help); later issues may add
# more commands to the namespace, which widens the usage column.
APPS_COMMANDS = [
    ("apps:create APP", "Create an app."),
    ("apps:list", "List apps."),
    ("apps:report APP", "Show an app's details."),
    ("apps:rename APP NEW", "Rename an app."),
    ("apps:destroy APP", "Destroy an app: its containers, images, routes, repo, config and..."),
]

CONFIG_HELP = """\
config: Config vars per app, and global defaults every app inherits

  config:set [APP] [KEY=VALUE...]  Set config vars (KEY=@file reads a file, KEY=@- stdin).
  config:unset [APP] [KEY...]      Remove config vars.
  config:get [APP] [KEY]           Print one config var's value, exactly as stored.
  config:show [APP]                Show config vars.
  config:export [APP]              Print config vars as dotenv, shell or json (an app's include...
"""


def _registered_namespaces():
    from typer.main import get_command

    from paas.cli import app

    return {name.split(":", 1)[0] for name in get_command(app).commands}


def expected_root_help() -> str:
    present = _registered_namespaces()
    middle = [f"  {ns.ljust(10)}  {text}" for ns, text in NAMESPACES.items() if ns in present]
    return "\n".join(HEAD + middle + TAIL) + "\n"


def test_root_help_lists_namespaces_in_order(cli):
    result = cli("help")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == expected_root_help()
    lines = result.stdout.splitlines()
    assert lines[: len(HEAD)] == HEAD and lines[-len(TAIL):] == TAIL
    found = [line for line in lines if line in FOUNDATION_LINES]
    assert found == FOUNDATION_LINES
    assert all(len(line) <= 80 for line in lines)


def test_dash_dash_help_is_the_same_page(cli):
    for flag in ("--help", "-h"):
        result = cli(flag)
        assert (result.exit_code, result.stderr) == (0, "")
        # The same page as `paas help`; typer's help path adds one trailing blank line.
        assert result.stdout in (expected_root_help(), expected_root_help() + "\n"), flag


def test_bare_paas_shows_the_overview(cli):
    result = cli()
    assert result.output.strip("\n") == expected_root_help().strip("\n")


def _check_apps_help(text: str) -> None:
    lines = text.splitlines()
    assert lines[:2] == ["apps: Create, list, inspect, rename and destroy apps", ""]
    rows = [re.fullmatch(r"  (\S+(?: \S+)*)( {2,})(\S.*)", line) for line in lines[2:]]
    assert all(rows), lines
    assert len({m.start(3) for m in rows}) == 1  # one aligned description column
    parsed = [(m.group(1), m.group(3)) for m in rows]
    owned = {usage.split()[0] for usage, _ in APPS_COMMANDS}
    assert [p for p in parsed if p[0].split()[0] in owned] == APPS_COMMANDS
    assert "apps:info" not in text  # the alias stays hidden


def test_namespace_help(cli):
    result = cli("help", "apps")
    assert (result.exit_code, result.stderr) == (0, "")
    _check_apps_help(result.stdout)
    result = cli("help", "config")
    assert (result.exit_code, result.stdout, result.stderr) == (0, CONFIG_HELP, "")


def test_namespace_alone_lists_it(cli):
    assert cli("config").stdout == CONFIG_HELP
    assert cli("apps").stdout == cli("help", "apps").stdout


def test_hidden_alias_is_not_listed_but_works(cli):
    cli("apps:create", "web")
    assert cli("apps:info", "web").stdout == cli("apps:report", "web").stdout


def test_unknown_namespace(cli):
    result = cli("help", "nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        " !     no namespace 'nope'; namespaces: " + ", ".join(NAMESPACES) + "\n"
    )


def test_unknown_command_exits_2_on_stderr(cli):
    result = cli("apps:nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "No such command 'apps:nope'" in result.stderr


def test_command_help(cli):
    result = cli("config:set", "--help")
    assert result.exit_code == 0
    assert "Usage: paas config:set [OPTIONS] [APP] [KEY=VALUE...]" in result.stdout
    assert "--no-restart" in result.stdout and "--global" in result.stdout


def test_version(cli):
    result = cli("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"paas {__version__}\n", "")


def test_version_fast_path_skips_the_cli(capsys):
    from paas.__main__ import main

    main(["--version"])
    assert capsys.readouterr().out == f"paas {__version__}\n"


def test_help_and_list_import_no_heavy_adapters(subprocess_env):
    """`paas --help` and `paas apps:list` must not import docker, paramiko, git or jinja2."""
    code = (
        "import sys, atexit\n"
        "heavy = ('docker', 'paramiko', 'git', 'jinja2', 'invoke')\n"
        "atexit.register(lambda: print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr))\n"
        "from paas.__main__ import main\n"
        "main(sys.argv[1:])\n"
    )
    for argv in (["--help"], ["apps:list"], ["config:show", "--global"]):
        proc = subprocess.run([sys.executable, "-c", code, *argv], env=subprocess_env,
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr == "[]\n", (argv, proc.stderr)

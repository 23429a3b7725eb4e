"""apps:* commands: exact output, exit codes and effects."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paas import apps, config, identity, releases, store

from .conftest import FROZEN_STAMP, FROZEN_TIME

APP_RULE = (
    "app names are DNS labels: a lowercase letter first, then lowercase letters, digits "
    "or hyphens, at most 63 characters, not ending with a hyphen"
)


def test_create(cli):
    result = cli("apps:create", "web")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "-----> Created web\n"
        "       Deploy with: paas deploy web  (or run paas server:up for a git remote)\n"
    )
    assert apps.get("web").owner == "local:tester"


def test_create_prints_the_git_remote_once_a_server_runs(cli, paas_root):
    paas_root.mkdir()
    (paas_root / "server.json").write_text(json.dumps({"ssh_port": 2222, "http_port": 8080,
                                                       "domain": "paas.test"}))
    result = cli("apps:create", "web")
    assert result.stdout == (
        "-----> Created web\n"
        "       git remote add paas ssh://paas@127.0.0.1:2222/web\n"
        "       git push paas main\n"
    )


def test_create_twice(cli):
    cli("apps:create", "web")
    result = cli("apps:create", "web")
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == " !     app 'web' already exists\n"


def test_create_invalid_name(cli):
    result = cli("apps:create", "My_App")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f" !     invalid app name 'My_App': {APP_RULE}\n"


def test_create_without_name(cli):
    result = cli("apps:create")
    assert result.exit_code == 2
    assert "Missing argument 'APP'" in result.stderr


def test_list_empty(cli):
    result = cli("apps:list")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "No apps yet. Create one with: paas apps:create NAME\n"
    assert cli("apps:list", "--format", "json").stdout == "[]\n"


def test_list(cli):
    for name in ("web", "a-much-longer-name", "api"):
        cli("apps:create", name)
    releases.create("api", description="d", status="live")
    releases.create("web", description="d", status="failed")
    result = cli("apps:list")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "NAME                RELEASE  STATUS        CREATED\n"
        f"a-much-longer-name  -        not deployed  {FROZEN_STAMP}\n"
        f"api                 v1       running       {FROZEN_STAMP}\n"
        f"web                 -        failed        {FROZEN_STAMP}\n"
    )


def test_list_json(cli):
    cli("apps:create", "web")
    cli("apps:create", "api")
    releases.create("api", description="d", status="live")
    result = cli("apps:list", "--format", "json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout) == [
        {"name": "api", "release": "v1", "status": "running", "created_at": FROZEN_TIME},
        {"name": "web", "release": None, "status": "not deployed", "created_at": FROZEN_TIME},
    ]
    assert result.stdout.startswith('[\n  {\n    "name": "api",\n')


def test_list_shows_only_what_a_key_may_reach(cli, monkeypatch):
    apps.create("mine", owner="alice")
    apps.create("theirs", owner="bob")
    monkeypatch.setattr(identity, "_current", identity.Actor("alice", "user", True))
    assert [r["name"] for r in json.loads(cli("apps:list", "--format", "json").stdout)] == ["mine"]


def test_list_bad_format(cli):
    result = cli("apps:list", "--format", "yaml")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == " !     unknown format 'yaml': use text or json\n"


def test_report(cli):
    cli("apps:create", "web")
    result = cli("apps:report", "web")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == (
        "=====> web app information\n"
        f"       Created:       {FROZEN_STAMP}\n"
        "       Owner:         local:tester\n"
        "       Release:       -\n"
        "       Status:        not deployed\n"
        "       Formation:     web=1\n"
        "       URL:           -\n"
        "       Git remote:    -\n"
        "       Deploy branch: main\n"
    )
    assert cli("apps:info", "web").stdout == result.stdout


def test_report_of_a_deployed_app_with_a_server(cli, paas_root):
    from paas import formation, settings

    cli("apps:create", "web")
    paas_root.joinpath("server.json").write_text(
        json.dumps({"ssh_port": 2222, "http_port": 8080, "domain": "paas.test"}))
    formation.set_quantities("web", {"worker": 2})
    settings.set_value("git", "web", "deploy-branch", "release/prod")
    releases.create("web", description="d", status="live")
    result = cli("apps:report", "web")
    assert result.stdout == (
        "=====> web app information\n"
        f"       Created:       {FROZEN_STAMP}\n"
        "       Owner:         local:tester\n"
        "       Release:       v1\n"
        "       Status:        running\n"
        "       Formation:     web=1 worker=2\n"
        "       URL:           http://web.paas.test:8080\n"
        "       Git remote:    ssh://paas@127.0.0.1:2222/web\n"
        "       Deploy branch: release/prod\n"
    )


def test_report_json(cli):
    cli("apps:create", "web")
    expected = {
        "name": "web", "release": None, "status": "not deployed", "created_at": FROZEN_TIME,
        "owner": "local:tester", "formation": {"web": 1}, "url": None, "git_remote": None,
        "deploy_branch": "main",
    }
    for command in ("apps:report", "apps:info"):
        result = cli(command, "web", "--format", "json")
        assert (result.exit_code, result.stderr) == (0, "")
        assert json.loads(result.stdout) == expected
        assert list(json.loads(result.stdout)) == list(expected)


def test_report_missing_app(cli):
    result = cli("apps:report", "ghost")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == " !     app 'ghost' does not exist\n !     list apps with: paas apps:list\n"


def test_rename(cli):
    cli("apps:create", "web")
    cli("config:set", "web", "A=1")
    result = cli("apps:rename", "web", "site")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "-----> Renamed web to site\n", "")
    assert [a.name for a in apps.list_all()] == ["site"]
    assert config.vars_of("site") == {"A": "1"}


def test_rename_refusals(cli, state):
    cli("apps:create", "web")
    cli("apps:create", "api")
    before = state()
    for args, code, err in [
        (("web", "api"), 4, " !     app 'api' already exists\n"),
        (("web", "web"), 4, " !     app 'web' already exists\n"),
        (("web", "Site"), 2, f" !     invalid app name 'Site': {APP_RULE}\n"),
        (("ghost", "site"), 3, " !     app 'ghost' does not exist\n !     list apps with: paas apps:list\n"),
    ]:
        result = cli("apps:rename", *args)
        assert (result.exit_code, result.stdout, result.stderr) == (code, "", err), args
    assert state() == before


def test_destroy_with_force(cli, deploy_calls, paas_root):
    cli("apps:create", "web")
    cli("config:set", "web", "SECRET=x")
    result = cli("apps:destroy", "web", "--force")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "-----> Destroyed web\n", "")
    assert deploy_calls == [("teardown", "web")]
    assert apps.list_all() == []
    assert store.query("SELECT * FROM config") == []  # the secret went with the app


def test_destroy_short_force_flag(cli):
    cli("apps:create", "web")
    assert cli("apps:destroy", "web", "-f").exit_code == 0
    assert apps.list_all() == []


def test_destroy_confirmed_by_typing_the_name(cli):
    cli("apps:create", "web")
    result = cli("apps:destroy", "web", input="web\n")
    assert result.exit_code == 0
    assert result.stdout == "Type web to confirm: web\n-----> Destroyed web\n"
    assert result.stderr == (
        " !     warning: this destroys web, its releases, config and repo; it cannot be undone\n"
    )
    assert apps.list_all() == []


def test_destroy_wrong_confirmation_changes_nothing(cli, state, deploy_calls):
    cli("apps:create", "web")
    before = state()
    result = cli("apps:destroy", "web", input="wbe\n")
    assert result.exit_code == 130
    assert result.stdout == "Type web to confirm: wbe\n"
    assert result.stderr == (
        " !     warning: this destroys web, its releases, config and repo; it cannot be undone\n"
        " !     confirmation did not match; nothing was destroyed\n"
    )
    assert state() == before and deploy_calls == []


def test_destroy_missing_app(cli, deploy_calls):
    result = cli("apps:destroy", "ghost", "--force")
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == " !     app 'ghost' does not exist\n !     list apps with: paas apps:list\n"
    assert deploy_calls == []


def test_destroy_without_a_terminal_needs_force(subprocess_env):
    """stdin is /dev/null (no TTY, no pipe): refuse instead of prompting."""
    apps.create("web")
    code = "from paas.__main__ import main; main(['apps:destroy', 'web'])"
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == (
        " !     destroying web cannot be undone; confirm by typing its name, or pass --force\n"
    )
    assert [a.name for a in apps.list_all()] == ["web"]


def test_a_domain_nginx_refuses_is_not_kept(cli, monkeypatch):
    from paas import domains, proxy
    from paas.errors import DeployFailed

    cli("apps:create", "web")

    def nginx_refuses(app):
        raise DeployFailed("nginx rejected the new configuration; the old one keeps serving")

    monkeypatch.setattr(proxy, "refresh", nginx_refuses)
    result = cli("domains:add", "web", "www.example.test")
    assert result.exit_code == 7 and "nginx rejected" in result.stderr
    assert domains.custom("web") == []


def test_an_app_has_at_most_a_hundred_domains(cli, monkeypatch):
    from paas import domains

    cli("apps:create", "web")
    for n in range(domains.MAX_PER_APP):
        domains.add("web", f"d{n}.example.test")
    result = cli("domains:add", "web", "one-more.example.test")
    assert result.exit_code == 2 and "100 domains already" in result.stderr
    assert len(domains.custom("web")) == domains.MAX_PER_APP


def test_cleanup_retire_goes_on_past_an_app_it_cannot_retire_now(cli, monkeypatch, deploy_calls):
    import paas
    from paas import cleanup
    from paas.errors import LockTimeout

    for name in ("busy", "calm"):
        cli("apps:create", name)

    def retire(app):
        if app == "busy":
            raise LockTimeout("app busy is busy: pid 4242 has held it for over 600s")
        deploy_calls.append(("retire", app))

    monkeypatch.setattr(paas.deploy, "retire", retire, raising=False)
    monkeypatch.setattr(paas.deploy, "retire_orphans", lambda: [], raising=False)
    monkeypatch.setattr(cleanup, "prune_all", lambda: {"images": {}, "dangling_layers": 0, "abandoned_builds": 0})
    result = cli("cleanup", "--retire")
    assert result.exit_code == 1
    assert "busy: not retired now: app busy is busy" in result.stderr
    assert ("retire", "calm") in deploy_calls


def test_events_shows_between_1_and_10000_entries(cli):
    for bad in ("0", "10001", "-5"):
        result = cli("events", "-n", bad)
        assert result.exit_code == 2, bad
    assert cli("events", "-n", "10000").exit_code == 0


@pytest.mark.parametrize("domain,message", [
    # Stored as a custom domain, it would follow a renamed app and take the next web's URL.
    ("web.apps.test", "web.apps.test is web's own hostname already"),
    ("other.apps.test", "reserved for apps"),
    ("apps.test", "reserved for apps"),
    ("*.apps.test", "reserved for apps"),
    # A wildcard above the global domain would answer for every app not deployed yet.
    ("*.test", "reserved for apps"),
])
def test_names_of_the_global_domain_are_never_custom_domains(cli, domain, message):
    from paas import domains

    cli("apps:create", "web")
    cli("domains:set-global", "apps.test")
    result = cli("domains:add", "web", domain)
    assert result.exit_code == 4 and message in result.stderr  # Conflict
    assert domains.custom("web") == []
    assert cli("domains:add", "web", "*.example.test").exit_code == 0  # any other wildcard, for admins


def test_a_set_of_several_pairs_changes_nothing_when_one_is_refused(cli, deploy_calls):
    from paas import settings

    cli("apps:create", "web")
    result = cli("nginx:set", "web", "client-max-body-size=5m", "proxy-read-timeout=abc")
    assert result.exit_code == 2 and "expected a whole number from 1 to 86400" in result.stderr
    assert result.stdout == ""
    assert settings.get("nginx", "web", "client-max-body-size") == "10m"
    assert deploy_calls == []  # nothing to route again
    result = cli("nginx:set", "web", "client-max-body-size=5m", "proxy-read-timeout=90")
    assert result.exit_code == 0 and deploy_calls == [("route_serving", "web")]
    assert [settings.get("nginx", "web", k) for k in ("client-max-body-size", "proxy-read-timeout")] == ["5m", "90"]


def test_an_nginx_setting_nginx_refuses_is_not_kept(cli, monkeypatch):
    from paas import proxy, settings
    from paas.errors import DeployFailed

    cli("apps:create", "web")
    cli("nginx:set", "web", "client-max-body-size", "20m")
    refreshed = []

    def nginx_refuses(app):
        refreshed.append(settings.get("nginx", app, "client-max-body-size"))
        if len(refreshed) == 1:
            raise DeployFailed("nginx rejected the new configuration; the old one keeps serving")

    monkeypatch.setattr(proxy, "refresh", nginx_refuses)
    result = cli("nginx:set", "web", "client-max-body-size=1g", "proxy-read-timeout=90")
    assert result.exit_code == 7 and "nginx rejected" in result.stderr and "Set nginx" not in result.stdout
    assert [settings.get("nginx", "web", k) for k in ("client-max-body-size", "proxy-read-timeout")] == ["20m", "60"]
    assert refreshed == ["1g", "20m"]  # routed again with the values put back


def test_an_undo_that_fails_is_told_and_the_first_failure_raised(monkeypatch, capsys):
    from paas import proxy
    from paas.errors import DeployFailed

    def nginx_refuses(app):
        raise DeployFailed("nginx rejected the new configuration")

    def undo():
        raise OSError("disk full")

    monkeypatch.setattr(proxy, "refresh", nginx_refuses)
    with pytest.raises(DeployFailed):
        proxy.refresh_or_undo("web", undo)
    assert "the change could not be undone: disk full" in capsys.readouterr().err

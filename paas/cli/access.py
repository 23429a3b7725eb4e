"""ssh-keys:*, acl:*, events and git:* commands."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Optional

import typer

from paas import access, apps, console, events, keys, releases
from paas.cli.base import AppArg, Format, app, check_format, timestamp
from paas.errors import AccessDenied, InvalidInput

KeyName = Annotated[str, typer.Argument(metavar="NAME")]


@app.command("ssh-keys:add")
def keys_add(
    name: KeyName,
    source: Annotated[Optional[str], typer.Argument(metavar="[FILE|-]")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="This key may do everything")] = False,
) -> None:
    """Authorise a public key (from FILE, or standard input)."""
    if source in (None, "-"):
        text = sys.stdin.read()
    else:
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read(16 * 1024)
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    added = keys.add(name, text, role="admin" if admin else "user")
    console.step(f"Added key {added['name']} ({added['role']}) {added['fingerprint']}")


@app.command("ssh-keys:list")
def keys_list(fmt: Format = "text") -> None:
    """Authorised keys: name, type, fingerprint, role."""
    check_format(fmt)
    rows = keys.list_all()
    if fmt == "json":
        console.emit_json(rows)
        return
    console.table(["NAME", "TYPE", "FINGERPRINT", "ROLE"], [[r["name"], r["type"], r["fingerprint"], r["role"]] for r in rows])


@app.command("ssh-keys:remove")
def keys_remove(name: KeyName) -> None:
    """Revoke a key."""
    keys.remove(name)
    console.step(f"Removed key {name}")


@app.command("acl:add")
def acl_add(app_name: AppArg, key_name: KeyName) -> None:
    """Let a key push to and manage APP."""
    access.grant(app_name, key_name)
    console.step(f"{key_name} can now reach {app_name}")


@app.command("acl:remove")
def acl_remove(app_name: AppArg, key_name: KeyName) -> None:
    """Take a key's access to APP away."""
    access.revoke(app_name, key_name)
    console.step(f"{key_name} can no longer reach {app_name}")


@app.command("acl:list")
def acl_list(app_name: AppArg, fmt: Format = "text") -> None:
    """Keys with access to APP (besides admins and its owner)."""
    check_format(fmt)
    target = apps.get(app_name)
    data = {"owner": target.owner, "collaborators": access.members(app_name)}
    if fmt == "json":
        console.emit_json(data)
        return
    console.report(f"{app_name} access", [("Owner", data["owner"] or "-"),
                                          ("Collaborators", " ".join(data["collaborators"]) or "-")])


@app.command("events")
def events_command(
    app_name: Annotated[Optional[str], typer.Argument(metavar="[APP]")] = None,
    tail: Annotated[bool, typer.Option("-t", "--tail", help="Keep following")] = False,
    limit: Annotated[int, typer.Option("-n", "--num", min=1, max=10000, help="Entries to show")] = 50,
    fmt: Format = "text",
) -> None:
    """Audit trail: who ran what, when, the outcome."""
    from paas import identity, lifecycle

    check_format(fmt)
    actor = identity.current()
    # name -> since when the app has that name: what an earlier app of the same name
    # (destroyed, or renamed away) did is not its new owner's to read.
    def visible_now():
        return None if actor.role == "admin" else {
            a.name: a.created_at if a.named_at is None else a.named_at for a in lifecycle.visible_apps()}

    visible = visible_now()
    app_id = None
    if app_name:
        if visible is not None and app_name not in visible:
            # The same answer for an app that does not exist: never reveal which apps exist.
            raise AccessDenied(f"you have no access to app {app_name!r}")
        app_id = apps.get(app_name).id

    def shown(items):
        # Non-admins see their apps' events and their own commands, nothing else.
        return [e for e in items if visible is None or (e["app"] in visible and e["at"] >= visible[e["app"]])
                or (e["app"] is None and e["actor"] == actor.name)]

    items = shown(events.recent(app_name, limit))
    if fmt == "json":
        console.emit_json(items)
        return
    last = 0
    while True:
        for e in items:
            # A command's words are anyone's input: shown escaped, they cannot move the cursor
            # or forge a line of the trail on the reader's terminal.
            console.out(f"{timestamp(e['at'])}  {e['actor']}  {e['app'] or '-'}  "
                        f"{console.escape_controls(e['command'])}  -> {console.escape_controls(e['outcome'])}")
            last = max(last, e["id"])
        if not tail:
            return
        time.sleep(1)
        # Read again each time: a key removed, an app left or destroyed and made again under
        # its name (with another owner) ends what this key may follow.
        if not access.still_allowed(actor, "events", app_name, app_id):
            console.out("the app was destroyed or renamed, or your access ended; no more events")
            return
        visible = visible_now()
        items = shown(events.recent(app_name, 200, after_id=last))


@app.command("git:report")
def git_report(app_name: AppArg, fmt: Format = "text") -> None:
    """The repo, deploy branch and what it points at."""
    from paas import gitrepo, lifecycle, paths, settings

    check_format(fmt)
    apps.get(app_name)
    branch = settings.get("git", app_name, "deploy-branch")
    live = releases.current(app_name)
    data = {"repo": str(paths.repo(app_name)) if gitrepo.exists(app_name) else None,
            "remote": lifecycle.git_remote(app_name), "deploy_branch": branch,
            "branch_head": gitrepo.ref_head(app_name, gitrepo.rebuild_ref(app_name)),
            "live_sha": live.git_sha if live else None}
    if fmt == "json":
        console.emit_json(data)
        return
    console.report(f"{app_name} git", [("Remote", data["remote"] or "-"), ("Deploy branch", branch),
                                       ("Branch head", data["branch_head"] or "-"), ("Live sha", data["live_sha"] or "-")])


@app.command("git:rebuild")
def git_rebuild(app_name: AppArg) -> None:
    """Build and deploy the deploy branch's head again."""
    from paas import deploy

    deploy.deploy_rev(app_name)

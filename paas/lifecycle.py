"""App-level operations that span state and runtime: report, rename, destroy, config changes.

Runtime modules (docker, nginx, git) are imported inside the functions that need them so
state-only commands stay fast.
"""

from __future__ import annotations

import json
import shutil

from paas import apps, config, console, formation, identity, names, paths, releases, settings, store
from paas.models import App


def current_actor() -> str:
    return identity.current().name


def server_info() -> dict:
    """What `server:up`/`server:install` recorded: SSH and HTTP endpoints."""
    try:
        return json.loads((paths.root() / "server.json").read_text())
    except (OSError, ValueError):
        return {}


def git_remote(app: str) -> str | None:
    info = server_info()
    if not info.get("ssh_port"):
        return None
    host, user, port = info.get("ssh_host", "127.0.0.1"), info.get("ssh_user", "paas"), info["ssh_port"]
    return f"ssh://{user}@{host}:{port}/{app}" if int(port) != 22 else f"{user}@{host}:{app}"


def app_url(app: str) -> str | None:
    domain = settings.get("domains", None, "global") or server_info().get("domain")
    if not domain:
        return None
    port = server_info().get("http_port", 80)
    return f"http://{app}.{domain}" + ("" if int(port) == 80 else f":{port}")


def push_hint(app: str) -> list[str]:
    remote = git_remote(app)
    if not remote:
        return [f"Deploy with: paas deploy {app}  (or run paas server:up for a git remote)"]
    branch = settings.get("git", app, "deploy-branch")
    return [f"git remote add paas {remote}", f"git push paas {branch}"]


def can_access(app: App, actor: identity.Actor | None = None) -> bool:
    actor = actor or identity.current()
    if actor.role == "admin" or app.owner == actor.name:
        return True
    return store.query_one(
        "SELECT 1 FROM acl WHERE app_id = ? AND key_name = ?", (app.id, actor.name)
    ) is not None


def visible_apps() -> list[App]:
    return [a for a in apps.list_all() if can_access(a)]


def summary(app: App) -> dict:
    current = releases.current(app.name)
    latest = releases.list_for(app.name, limit=1)
    if current:
        status = "stopped" if app.stopped else "running"  # ps:stop: no container runs
    else:
        status = latest[0].status if latest else "not deployed"
    return {
        "name": app.name,
        "release": current.tag if current else None,
        "status": status,
        "created_at": app.created_at,
    }


def report(name: str) -> dict:
    app = apps.get(name)
    info = summary(app)
    info.update(
        owner=app.owner,
        formation=formation.get(name),
        url=app_url(name),
        git_remote=git_remote(name),
        deploy_branch=settings.get("git", name, "deploy-branch"),
    )
    return info


def rename_app(old: str, new: str) -> None:
    names.app_name(new)
    apps.get(old)
    apps.require_free(new)  # refused before anything is locked (and so written)
    from paas import locks

    # Under the app's lock: a first push still building must finish (or fail) before the app
    # it builds for changes its name.
    with locks.app_lock(old):
        live = releases.current(old)
        if live is not None:
            from paas import deploy

            deploy.rename_running(old, new)
            return
        from paas import gitrepo

        with store.transaction():  # a repo that cannot move undoes the rename
            apps.rename(old, new)
            gitrepo.move(old, new)


def destroy_app(name: str) -> None:
    apps.get(name)
    from paas import deploy, locks

    # All under the app's lock: a push waiting for it must find the app gone, not build an
    # image for it between the teardown and the delete.
    with locks.app_lock(name, revive=False):
        deploy.teardown(name)
        repo = paths.repo(name)
        if repo.exists():
            shutil.rmtree(repo)
        apps.delete(name)


def _change_config(target: str | None, write, verb: str, restart: bool) -> list[str]:
    """Store a config change (`write` returns the keys it changed) and release it to the app
    as "VERB KEYS".

    For an app both happen under its lock, and a release that fails (the new value crashes
    the app, say) puts the old values back: the live release and the stored config agree."""
    if target is None:
        changed = write()
        if changed and restart:
            console.detail("Global values apply to each app at its next deploy or ps:restart")
        return changed
    from paas import deploy, locks

    with locks.app_lock(target):
        before = config.vars_of(target)
        live_before = releases.current(target)
        with store.transaction():  # the change and what undoes it, together
            changed = write()
            if changed and restart and live_before is not None:
                config.note_undo(target, before, changed, live_before.version)
        if not changed or live_before is None:
            return changed
        if not restart:
            console.detail(f"Takes effect at the next deploy or ps:restart {target} (--no-restart)")
            return changed
        config.release_or_undo(target, before, changed, live_before.version,
                               lambda: deploy.release_config_change(target, f"{verb} {', '.join(changed)}"))
    return changed


def set_config(target: str | None, values: dict[str, str], restart: bool = True) -> None:
    config.check_set(target, values)
    where = target or "global config"
    console.step(f"Setting {', '.join(values)} on {where}")
    if not _change_config(target, lambda: config.set_vars(target, values), "Set", restart):
        console.detail("No value changed")


def unset_config(target: str | None, keys: list[str], restart: bool = True) -> None:
    config.check_unset(target, keys)
    where = target or "global config"
    console.step(f"Unsetting {', '.join(keys)} on {where}")
    if not _change_config(target, lambda: config.unset_vars(target, keys), "Unset", restart):
        console.detail("None of them was set")

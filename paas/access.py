"""Who may run what (pure rules over the actor, the command and its app)."""

from __future__ import annotations

from paas import apps, lifecycle, store
from paas.errors import AccessDenied
from paas.identity import Actor

# Commands any key may run without naming an app (apps:list shows only their apps).
OPEN_COMMANDS = {"help", "apps:list", "apps:create", "events"}
ADMIN_NAMESPACES = {"ssh-keys", "server", "stack", "cleanup"}
# The build caps protect the host from every app's builds: an app's owner may read them only.
ADMIN_COMMANDS = {"builder:set"}
OWNER_ONLY = {"acl:add", "acl:remove", "apps:destroy", "apps:rename"}


def check(actor: Actor, command: str, app: str | None, args: list[str]) -> None:
    if actor.role == "admin":
        return
    namespace = command.split(":", 1)[0]
    if namespace in ADMIN_NAMESPACES or command in ADMIN_COMMANDS or "--global" in args \
            or command == "domains:set-global":
        raise AccessDenied(f"{command} is for admins only")
    if app is None:
        if command in OPEN_COMMANDS:
            return
        raise AccessDenied(f"{command} is for admins only")
    target = apps.find(app)
    if target is None:
        raise AccessDenied(f"you have no access to app {app!r}")  # never reveal which apps exist
    if command in OWNER_ONLY and target.owner != actor.name:
        raise AccessDenied(f"{command} is for the app's owner and admins")
    if not lifecycle.can_access(target, actor):
        raise AccessDenied(f"you have no access to app {app!r}")
    if command == "deploy":
        for image in _option_values(args, "--image"):  # every one: click keeps the last
            check_image(actor, app, image)


def still_allowed(actor: Actor, command: str, app: str | None, app_id: int | None) -> bool:
    """For a command that keeps following (`logs -t`, `events -t`): may the actor still read what
    it began to? Its key must still be there with the same role, and the app must be the same
    one, not destroyed and made again under its name."""
    from paas import keys
    from paas.errors import PaasError

    if actor.via_ssh and keys.role_of(actor.name) != actor.role:
        return False
    if app is not None:
        found = apps.find(app)
        if found is None or found.id != app_id:
            return False
    try:
        check(actor, command, app, [])
    except PaasError:
        return False
    return True


def check_image(actor: Actor, app: str, image: str) -> None:
    """`deploy --image`: a collaborator may only deploy the app's own images. Checked before the
    command runs and again on the value the command parsed."""
    if actor.role != "admin" and not image.startswith(f"paas/{app}:"):
        # Another app's image would hand over its code; a pull could fill the disk.
        raise AccessDenied(f"only admins may deploy images other than paas/{app}:*")


def _option_values(args: list[str], flag: str) -> list[str]:
    values = []
    for i, word in enumerate(args):
        if word == flag and i + 1 < len(args):
            values.append(args[i + 1])
        elif word.startswith(flag + "="):
            values.append(word.split("=", 1)[1])
    return values


def grant(app: str, key_name: str) -> None:
    from paas import keys

    if keys.role_of(key_name) is None:
        from paas.errors import NotFound

        raise NotFound(f"no key named {key_name!r}")
    app_id = apps.get(app).id
    with store.transaction() as db:
        db.execute("INSERT OR IGNORE INTO acl (app_id, key_name) VALUES (?, ?)", (app_id, key_name))


def revoke(app: str, key_name: str) -> None:
    app_id = apps.get(app).id
    with store.transaction() as db:
        db.execute("DELETE FROM acl WHERE app_id = ? AND key_name = ?", (app_id, key_name))


def members(app: str) -> list[str]:
    app_id = apps.get(app).id
    return [r["key_name"] for r in store.query("SELECT key_name FROM acl WHERE app_id = ? ORDER BY key_name", (app_id,))]

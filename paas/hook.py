"""git hooks: `python -m paas.hook pre-receive` (called by the shim in hooks/).

Runs with the pushed objects in quarantine; our output reaches the pusher as `remote:`
lines and a non-zero exit rejects the push, so a failed deploy leaves the ref unmoved.
"""

from __future__ import annotations

import os
import sys

ZERO = "0" * 40


def app_from_repo(path: str) -> str:
    from paas import names

    base = os.path.basename(os.path.abspath(path))
    return names.app_name(base[:-4] if base.endswith(".git") else base)


def deleted_deploy_ref(app: str, updates: list[tuple[str, str, str]]) -> str | None:
    """The branch rebuilds build (the deploy branch, or master while it deploys), if the push
    deletes it: ps:rebuild and git:rebuild would have nothing to build."""
    deleted = [name for old, new, name in updates if new == ZERO]
    if not deleted:  # the usual push: no git lookups on its way
        return None
    from paas import gitrepo

    branch = gitrepo.rebuild_ref(app)
    return branch if branch in deleted else None


def deploy_ref(app: str, updates: list[tuple[str, str, str]]) -> tuple[str, str] | None:
    """The (ref, new sha) to deploy: the deploy branch, or master/main when unset and pushed."""
    from paas import gitrepo

    for ref in gitrepo.deploy_refs(app):
        for old, new, name in updates:
            if name == ref and new != ZERO:
                return name, new
    return None


def pre_receive() -> int:
    from paas import console, deploy
    from paas.errors import PaasError

    updates = []
    for line in sys.stdin:
        parts = line.split()
        if len(parts) == 3:
            updates.append((parts[0], parts[1], parts[2]))
    app = None
    try:
        app = app_from_repo(os.getcwd())
        deleted = deleted_deploy_ref(app, updates)
        if deleted is not None:
            console.error(f"{deleted} is the deploy branch of {app}: it is not deleted",
                          f"push a new commit to it instead, or pick another with: paas git:set {app} deploy-branch NAME")
            _rejected(app)
            return 1
        target = deploy_ref(app, updates)
        if target is None:
            console.step("Stored; not the deploy branch, nothing deployed")
            return 0
        ref, sha = target
        deploy.deploy_rev(app, sha)
        from paas import gitrepo

        gitrepo.point_head(app, ref)  # deployed: a clone checks it out, a rebuild builds it
        return 0
    except PaasError as exc:
        console.error(exc.message, exc.hint)
        _rejected(app)
        return 1
    except Exception as exc:  # a bug: say so plainly, keep the traceback out of the pusher's face
        import traceback

        from paas import paths

        log = paths.sub("logs") / "hook-errors.log"
        with log.open("a") as handle:
            traceback.print_exc(file=handle)
        console.error(f"internal error: {exc.__class__.__name__}: {exc}", hint=f"details in {log} on the server")
        _rejected(app)
        return 1


def _rejected(app: str | None) -> None:
    from paas import console, releases

    console.error(f"push rejected; {releases.still_serving(app)}" if app else "push rejected")


def main() -> None:
    if sys.argv[1:] == ["pre-receive"]:
        from paas import handoff

        code = handoff.hand_over()  # the SSH entry has the deploy code loaded already
        if code is None:
            from paas import console

            console.survive_closed_output()  # a pusher's Ctrl-C must not cut a deploy mid-switch
            code = pre_receive()
        sys.exit(code)
    sys.exit(f"unknown hook {sys.argv[1:]!r}")


if __name__ == "__main__":
    main()

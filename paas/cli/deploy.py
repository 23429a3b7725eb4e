"""build, deploy, releases:* commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from paas import console, names, releases
from paas.cli.base import AppArg, Format, app, check_format, timestamp
from paas.errors import InvalidInput

Rev = Annotated[Optional[str], typer.Argument(metavar="REV", help="A commit, branch or tag (default: the deploy branch)")]


@app.command("build")
def build(app_name: AppArg, rev: Rev = None) -> None:
    """Build an image from the app's repo without deploying it."""
    from paas import apps, gitrepo, locks
    from paas.build import builder

    apps.get(app_name)
    with locks.app_lock(app_name):
        sha = gitrepo.resolve(app_name, rev or gitrepo.rebuild_ref(app_name))
        release = builder.build_release(app_name, sha, description=f"Build {sha[:7]}")
        release = releases.update(app_name, release.version, status="built")
    console.detail(f"{release.tag} is built; deploy it with: paas releases:rollback {app_name} {release.tag}")


@app.command("deploy")
def deploy(
    app_name: AppArg,
    rev: Rev = None,
    image: Annotated[Optional[str], typer.Option("--image", help="Deploy an existing image, no build")] = None,
) -> None:
    """Build and deploy from the app's repo, or deploy an image."""
    from paas import deploy as orchestration

    if image and rev:
        raise InvalidInput("give a REV or --image, not both")
    if image:
        from paas import access, identity

        names.image_reference(image)
        access.check_image(identity.current(), app_name, image)
        orchestration.deploy_image(app_name, image)
    else:
        orchestration.deploy_rev(app_name, rev)


@app.command("releases")
def list_(
    app_name: AppArg,
    fmt: Format = "text",
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="How many, newest first")] = 20,
) -> None:
    """Release history, newest first."""
    check_format(fmt)
    items = releases.list_for(app_name, limit=limit)
    if fmt == "json":
        console.emit_json([releases.to_dict(r) for r in items])
        return
    if not items:
        console.out(f"{app_name} has no releases yet")
        return
    console.table(
        ["VERSION", "STATUS", "DESCRIPTION", "BY", "WHEN"],
        [[r.tag, r.status, r.description, r.author or "", timestamp(r.created_at)] for r in items],
    )


@app.command("releases:info")
def info(app_name: AppArg, version: Annotated[str, typer.Argument(metavar="VERSION")], fmt: Format = "text") -> None:
    """Details of one release."""
    check_format(fmt)
    release = releases.get(app_name, releases.parse_version(version))
    data = releases.to_dict(release, with_config=True)
    if fmt == "json":
        console.emit_json(data)
        return
    console.report(f"{app_name} {release.tag}", [
        ("Status", release.status), ("Description", release.description), ("Image", release.image or "-"),
        ("Git sha", release.git_sha or "-"), ("Buildpack", release.buildpack or "-"),
        ("Processes", ", ".join(f"{k}: {v or '(image CMD)'}" for k, v in release.processes.items()) or "-"),
        ("Config keys", ", ".join(data["config_keys"]) or "-"), ("By", release.author or "-"),
        ("When", timestamp(release.created_at)),
    ])


@app.command("releases:rollback")
def rollback(app_name: AppArg, version: Annotated[Optional[str], typer.Argument(metavar="VERSION")] = None) -> None:
    """Make the image and config of an earlier release live again (no rebuild); the app's config becomes that release's."""
    from paas import deploy as orchestration

    orchestration.rollback(app_name, releases.parse_version(version) if version else None)

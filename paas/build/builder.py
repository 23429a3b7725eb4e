"""Build an app's source at a git sha into an image and a release record."""

from __future__ import annotations

import errno
import re
import secrets
import shutil
import time
from pathlib import Path

from paas import appjson, config, console, failpoints, gitrepo, identity, names, procfile, releases, settings
from paas.build import buildpacks, dockerfile, stack
from paas.errors import BuildFailed, InvalidInput, PaasError
from paas.models import Release

GENERATED_DOCKERFILE = "Dockerfile.paas"


def _read(source: Path, name: str) -> str | None:
    path = source / name
    if path.is_symlink() or not path.is_file():
        return None
    if path.stat().st_size > 1024 * 1024:
        raise InvalidInput(f"{name} is larger than 1 MiB")
    try:
        return path.read_text()
    except UnicodeDecodeError:
        raise InvalidInput(f"{name} is not UTF-8 text") from None


def pick_buildpack(app: str, source: Path) -> buildpacks.Buildpack:
    override = settings.get("buildpacks", app, "name")
    if override:
        return buildpacks.by_name(override)
    return buildpacks.detect(source)


def build_release(app: str, sha: str, description: str | None = None) -> Release:
    """Export, detect, render, docker build; returns a `pending` release (or raises, marked failed)."""
    release = releases.create(
        app,
        description=description or f"Deploy {sha[:7]}",
        git_sha=sha,
        config=config.effective(app),
        author=identity.current().name,
    )
    started = time.monotonic()
    source = None
    try:
        console.step(f"Building {app} {release.tag} from {sha[:7]}")
        source = gitrepo.export(app, sha)
        processes_text = _read(source, "Procfile")
        processes = procfile.parse(processes_text) if processes_text is not None else {}
        manifest = appjson.parse(_read(source, "app.json"))
        nginx_template = _read(source, "nginx.conf.j2")
        if nginx_template is not None:
            _check_nginx_template(app, nginx_template)
        pack = pick_buildpack(app, source)
        console.step(f"{pack.name} buildpack detected")
        base = stack.require()
        if pack.name == "dockerfile":
            dockerfile_name = "Dockerfile"
            text = (source / "Dockerfile").read_text(errors="replace")
            _refuse_other_apps_images(app, text)
            port = dockerfile.dockerfile_metadata(text).get("port")
        else:
            dockerfile.check_runtime(pack, source)
            text = dockerfile.render(pack, source, base)
            dockerfile_name = str(source.parent / f"{source.name}.{GENERATED_DOCKERFILE}")
            Path(dockerfile_name).write_text(text)
            port = pack.port
        if not processes:
            processes = dict(pack.processes) or {"web": ""}
        for process in sorted((set(manifest.healthchecks) | set(manifest.formation)) - set(processes)):
            console.warn(f"app.json names process type {process!r}, which the Procfile does not have: ignored")
        tag = names.image_tag(app, release.version)
        limits = _build_limits(app)
        failpoints.reached("build")
        image_id = _docker_build(source, dockerfile_name, tag, app, release.version, limits,
                                 runtime_name=None if pack.name == "dockerfile" else pack.name)
        if pack.name == "dockerfile":
            port = port or _exposed_port(tag)
        release = releases.update(
            app, release.version, status="pending", image=tag, image_id=image_id, buildpack=pack.name,
            processes=processes, app_json={**_without_paas_keys(manifest.raw), "_port": port or 5000,
                                           "_checks_refuse_4xx": True,
                                           **({"_nginx_template": nginx_template} if nginx_template else {})},
        )
        console.step(f"Built {tag} in {time.monotonic() - started:.1f}s")
        return release
    except PaasError:
        releases.update(app, release.version, status="failed")
        raise
    except OSError as exc:
        releases.update(app, release.version, status="failed")
        if exc.errno == errno.ENOSPC:
            raise BuildFailed(f"no space left on the device holding {exc.filename or 'the build folder'}",
                              hint="free some space (paas cleanup removes old images), then push again") from None
        raise BuildFailed(f"the build could not read or write files: {exc}") from None
    except BaseException:
        releases.update(app, release.version, status="failed")
        raise
    finally:
        if source is not None:
            shutil.rmtree(source, ignore_errors=True)
            Path(f"{source}.{GENERATED_DOCKERFILE}").unlink(missing_ok=True)


def _without_paas_keys(raw: dict) -> dict:
    """app.json as the app wrote it, minus keys paas keeps there itself (`_port`,
    `_nginx_template`): those come from the build, never from the app's own file."""
    return {key: value for key, value in raw.items() if not key.startswith("_")}


def _refuse_other_apps_images(app: str, text: str) -> None:
    """An app's own Dockerfile may start from public images and the stack, never from another
    app's images: they share this host's image store, and their code is theirs. Refused by
    the name written (`paas/OTHER:...`, on the host or not yet) and by what a name resolves
    to (another app's built image, whatever it is called), for the Dockerfile and for the
    ONBUILD triggers its base images carry."""
    from paas.build import dockerfile_refs
    from paas.runtime import docker_api

    others: set[str] | None = None

    def refuse(name: str) -> None:
        raise InvalidInput(f"the Dockerfile reads {name}, an image of another app on this server",
                           hint=f"start from a public image or from {names.STACK_IMAGE}")

    def check(name: str) -> None:
        nonlocal others
        owner = dockerfile_refs.names_app_image(name)
        if owner is not None and owner not in (app, "stack"):
            refuse(name)
        local = docker_api.local_image(name)
        if local is None and docker_api.try_pull(name):  # the build would pull it anyway
            local = docker_api.local_image(name)
        if local is None:
            return  # neither here nor pullable: the build says so
        others = releases.image_ids_of_other_apps(app) if others is None else others
        if local[0] in others:
            refuse(name)
        for trigger_image in dockerfile_refs.onbuild_images(docker_api.image_config(name).get("OnBuild") or []):
            check(trigger_image)

    for name in dockerfile_refs.external_images(text):
        check(name)


def _check_nginx_template(app: str, template: str) -> None:
    """Fail the build early (before any container starts) when the app's template is refused."""
    from paas import router

    hosts = router.domains_of(app) or [f"{app}.invalid"]
    # A stand-in container address no template can know in advance, so an upstream written by
    # hand is refused here, as it would be at the switch.
    stand_in = f"192.0.2.{secrets.randbelow(254) + 1}:{secrets.randbelow(50000) + 10000}"
    router.render_custom(template, dict(app=app, hosts=hosts, upstreams=[stand_in],
                                        options={k: v for k, v, _ in settings.report("nginx", app)},
                                        listen=router.listen_address()))
    console.step("Using the app's nginx.conf.j2")


def _build_limits(app: str) -> dict:
    number = settings.size_in_bytes(settings.get("builder", app, "memory"))
    cpus = float(settings.get("builder", app, "cpus"))
    # The SDK's classic build takes a CPU set, not a quota: pin to the first N cores.
    import os

    cores = max(1, min(int(cpus + 0.999), os.cpu_count() or 1))
    return {"memory": number, "memswap": -1, "cpusetcpus": f"0-{cores - 1}"}


def _docker_build(source: Path, dockerfile_name: str, tag: str, app: str, version: int, limits: dict,
                  runtime_name: str | None = None) -> str:
    from paas.runtime import docker_api

    first_run = {"seen": False, "layer": None}

    def show(line: str) -> None:
        line = console.plain(line)  # the daemon paints RUN stderr red
        if line.startswith("Step "):
            if " : RUN " in line and not first_run["seen"]:
                first_run["seen"] = True
            console.detail(line if len(line) <= 160 else line[:157] + "...")
        elif line.startswith(" ---> "):
            layer = line[6:].strip()
            if first_run["seen"] and first_run["layer"] is None and _LAYER_ID.fullmatch(layer):
                first_run["layer"] = layer
            if layer.startswith("Using cache"):
                console.detail("  Using cache")
        elif not line.startswith("Removing intermediate container"):
            console.detail("  " + line)

    def build() -> str:
        return docker_api.build(
            source, dockerfile_name, tag,
            # No build labels: the classic builder adds a LABEL step (and a layer) per label to
            # every build; the image's tag paas/<app>:vN already says where it comes from.
            labels={}, limits=limits, on_line=show,
        )

    try:
        image_id = build()
    except BuildFailed as exc:
        # Apps share cached layers. paas removes images only outside builds (the image-store
        # lock), but a `docker image prune` run by hand can still take a layer away between
        # its cache hit here and its use. Built again, that layer is rebuilt.
        if not any(marker in exc.message for marker in VANISHED_LAYER):
            raise
        console.detail("A cached layer was removed during the build (another app's clean-up): building again")
        first_run.update(seen=False, layer=None)
        image_id = build()
    if runtime_name and first_run["layer"]:
        # Pin the language runtime layer: destroying the last app of a language must not
        # throw away the apt-installed runtime every other app of it would rebuild.
        docker_api.tag(first_run["layer"], f"paas-runtime/{runtime_name}:latest")
    return image_id


# dockerd's words for it. "No such image: sha256:…": the cached layer a RUN step starts from
# is gone (seen when another paas on this dockerd, such as a parallel test server, pruned).
VANISHED_LAYER = ("unknown parent image ID", "failed to get digest", "No such image: sha256:")
_LAYER_ID = re.compile(r"[0-9a-f]{12}")


def _exposed_port(tag: str) -> int | None:
    from paas.runtime import docker_api

    exposed = docker_api.image_config(tag).get("ExposedPorts") or {}
    for key in exposed:
        number = key.split("/")[0]
        if number.isdigit():
            return int(number)
    return None

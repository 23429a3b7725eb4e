"""Orchestration: deploy, config releases, rollback, scale, restart, retire, teardown.

Each public function reads as a short script over the pure planners and the adapters,
under one lock per app. The order inside `activate` is the product's promise: new
containers start beside the old, pass their checks, take traffic, and only then do the
old ones drain and stop. A failure before the switch removes the new containers and
leaves nginx and the old release untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from paas import (appjson, apps, config, console, failpoints, formation, gitrepo, identity, locks, names,
                  releases, router, serving, settings, store)
from paas.errors import DeployFailed, InvalidInput, NotFound, PaasError
from paas.models import Release, RunningContainer
from paas.runtime import plan, scheduler

LOG_LINES_ON_FAILURE = 50
# How long removing a gone app's images waits for builds of other apps before leaving them
# to the next cleanup: a destroy or rename must not hang for a long cold build.
IMAGE_STORE_WAIT = 10.0


# Reading the running state -------------------------------------------------------


def containers(app: str) -> list[RunningContainer]:
    from paas.runtime import docker_api

    return docker_api.list_containers(app, role="process")


def serving_containers(app: str) -> list[RunningContainer]:
    current = serving.ids(app)
    return [c for c in containers(app) if c.id in current]


def port_of(release: Release) -> int:
    return int(release.app_json.get("_port") or 5000)


def manifest_of(release: Release) -> appjson.AppJson:
    manifest = appjson.from_dict({k: v for k, v in release.app_json.items() if not k.startswith("_")})
    if release.app_json.get("_checks_refuse_4xx"):
        return manifest
    # Built before app.json checks refused a 4xx: they keep passing one, so a restart, a
    # config change or a rollback of such a release works as when it first went live.
    import dataclasses

    return dataclasses.replace(manifest, healthchecks={
        process: tuple(dataclasses.replace(c, max_status=499) for c in checks)
        for process, checks in manifest.healthchecks.items()})


def limits_of(app: str, processes) -> dict[str, dict]:
    return {
        p: {"memory": settings.get("resource", app, "memory", p), "cpus": settings.get("resource", app, "cpus", p)}
        for p in processes
    }


# Deploys ---------------------------------------------------------------------------


def deploy_rev(app: str, rev: str | None = None) -> Release:
    from paas.build import builder

    apps.get(app)
    with locks.app_lock(app):
        sha = gitrepo.resolve(app, rev or gitrepo.rebuild_ref(app))
        release = builder.build_release(app, sha)
        activate(app, release)
        return releases.get(app, release.version)


def deploy_image(app: str, image: str) -> Release:
    from paas.runtime import docker_api

    apps.get(app)
    with locks.app_lock(app):
        docker_api.require_image(image)  # a reference the CLI checked (names.image_reference)
        release = releases.create(app, description=f"Deploy image {image}", config=config.effective(app),
                                  author=identity.current().name)
        tag = names.image_tag(app, release.version)
        docker_api.tag(image, tag)
        image_config = docker_api.image_config(tag)
        exposed = image_config.get("ExposedPorts") or {}
        port = next((int(k.split("/")[0]) for k in exposed if k.split("/")[0].isdigit()), 5000)
        processes, app_json = {"web": ""}, {"_port": port}
        origin = _built_by_paas(image)
        if origin is not None:  # one of our own images: it keeps its Procfile and checks
            processes, app_json = origin.processes, origin.app_json
        release = releases.update(app, release.version, status="pending", image=tag,
                                  image_id=docker_api.image_id(tag), buildpack=origin.buildpack if origin else "image",
                                  processes=processes, app_json=app_json)
        activate(app, release)
        return releases.get(app, release.version)


def _built_by_paas(image: str) -> Release | None:
    """The release that built `paas/<app>:vN`, if that app still exists."""
    import re

    match = re.fullmatch(r"paas/([a-z][a-z0-9-]*):v([0-9]+)", image)
    if not match or apps.find(match.group(1)) is None:
        return None
    source_app, version = match.groups()
    try:
        return releases.get(source_app, int(version))
    except NotFound:
        return None


def _derived_release(app: str, source: Release, description: str, config_values: dict) -> Release:
    """A new release reusing an image (config change, rollback): no rebuild."""
    release = releases.create(
        app, description=description, status="pending", image=source.image, image_id=source.image_id,
        git_sha=source.git_sha, buildpack=source.buildpack, processes=source.processes,
        app_json=source.app_json, config=config_values, author=identity.current().name,
    )
    return release


def release_config_change(app: str, description: str) -> Release:
    with locks.app_lock(app):
        current = releases.current(app)
        if current is None:
            raise DeployFailed(f"{app} has no live release to restart")
        release = _derived_release(app, current, description, config.effective(app))
        console.step(f"Releasing {release.tag}: {description}")
        activate(app, release)
        return release


def rollback(app: str, version: int | None = None) -> Release:
    with locks.app_lock(app):
        current = releases.current(app)
        if version is None:
            candidates = [r for r in releases.list_for(app) if r.status == "retired" and r.image
                          and (current is None or r.version < current.version)]
            if not candidates:
                raise NotFound(f"{app} has no earlier release to roll back to")
            target = candidates[0]
        else:
            target = releases.get(app, version)
        if not target.image or target.status in ("building", "pending", "failed"):
            raise InvalidInput(f"{target.tag} never ran successfully; pick a release that did")
        from paas.runtime import docker_api

        # As on Heroku, the app's config becomes the target's too (config:show, and what the
        # next restart or deploy runs): its own values are those the global ones do not give.
        before, globals_now = config.vars_of(app), config.vars_of(None)
        own = {k: v for k, v in target.config.items() if globals_now.get(k) != v}
        changed = config.changed_keys(before, own)
        live_version = current.version if current else 0  # versions start at 1
        # A prune (another app's retire, `paas cleanup`) may remove a retired release's image
        # until the pending release below names it; it cannot start while this is held.
        with locks.image_store(removing=False):
            if not docker_api.image_exists(target.image):
                raise NotFound(f"the image of {target.tag} was cleaned up; it cannot be rolled back to")
            with store.transaction():  # the release, the config and what undoes it, together
                release = _derived_release(app, target, f"Rollback to {target.tag}", target.config)
                config.restore_vars(app, own, changed)
                config.note_undo(app, before, changed, live_version)
        console.step(f"Rolling back {app} to {target.tag} as {release.tag}")
        config.release_or_undo(app, before, changed, live_version, lambda: activate(app, release))
        return release


def activate(app: str, release: Release, release_phase: bool = True, only: set[str] | None = None) -> None:
    """Blue/green: start, check, route, mark live, retire. Caller holds the app lock.

    `release_phase=False` (restart, start, restore of the live release) skips predeploy, the
    `release:` command and postdeploy: they ran when the release first went live. `only` replaces
    just those process types (ps:restart APP TYPE); the others keep running untouched."""
    started_at = time.monotonic()
    manifest = manifest_of(release)
    # Old containers awaiting their background retire are left to it (it waits for requests
    # still running on old nginx workers); a crashed command's leftovers went at the lock.
    try:
        failpoints.reached("release-phase")
        if release_phase:
            run_release_phase(app, release, manifest)
    except BaseException:
        _mark_failed(app, release)
        raise
    wanted = formation.with_seed(app, manifest.formation)
    port = port_of(release)
    specs = plan.specs_for(app, release, wanted, port, limits_of(app, release.processes))
    old = serving_containers(app)
    kept = [c for c in old if only is not None and c.process not in only]
    if only is not None:
        specs = [s for s in specs if s.process in only]
    stop_first = _stop_first_types(app, specs)
    stopped = [c for c in old if c.process in stop_first]
    # A killed restart or scale leaves no half-done release for the lock to find, so its new
    # containers may still run: of a stop-first type, none may run beside the next ones.
    leftovers = _stale_of_types(app, stop_first)
    if stopped or leftovers:
        scheduler.stop_all(stopped + leftovers, _stop_timeout(app))
    has_web = serves_web(release)
    staged: list[router.Staged] = []

    def stage_route(started: list[RunningContainer]) -> None:
        # While the new containers settle: render the route to them and `nginx -t` it.
        web_now = [c for c in started + kept if c.process == "web"]
        staged.append(router.stage(route_change(app, web_now, has_web, release)))

    try:
        new = _start_and_check(app, release, specs, port, manifest, meanwhile=stage_route)
    except BaseException:
        for change in staged:
            router.discard(change)
        _restart_stopped(app, stopped)
        raise
    web = [c for c in new + kept if c.process == "web"]
    new_ids = {c.id for c in new}
    previous_vhost = router.current_app_config(app)
    route_switched = False
    try:
        # Recorded before nginx may route to them, so no reap can stop them meanwhile.
        serving.add_remove(app, new_ids, set())
        failpoints.reached("route-switch")
        # From here the files or nginx may hold the new route, whatever stops the switch (a
        # Ctrl-C while nginx reloads, a full disk): putting the old one back is a no-op if not.
        route_switched = True
        if staged:
            router.switch(staged.pop(), drain=False)
        else:  # nothing was checked (no new container): nothing was staged either
            route(app, web, has_web=has_web, release=release, drain=False)
        failpoints.reached("switched")
        with store.transaction():  # the switch of record: one commit
            serving.replace(app, new_ids | {c.id for c in kept})
            formation.seed(app, manifest.formation)
            releases.mark_live(app, release.version)
            apps.set_stopped(app, False)
    except BaseException:
        # Before "live", nothing may change: drop the new containers, put the old route back.
        _mark_failed(app, release)
        for change in staged:  # not switched to
            router.discard(change)
        serving.add_remove(app, set(), new_ids)
        # Only if the switch got as far as the files (it puts them back itself when nginx
        # refused them, and a lock timeout or a stopped nginx wrote nothing).
        if _route_put_back(app, lambda: router.apply({app: previous_vhost})
                           if route_switched and router.current_app_config(app) != previous_vhost else None):
            scheduler.stop_all(new, 0)
            _restart_stopped(app, stopped)
        raise
    console.step(f"{app} {release.tag} is live ({time.monotonic() - started_at:.1f}s)")
    from paas import lifecycle

    url = lifecycle.app_url(app)
    if url and web:
        console.detail(url)
    try:  # the release is live: what follows can only warn (callers undo only unswitched work)
        schedule_retire(app)
        if manifest.postdeploy and release_phase:  # once per release, like predeploy
            _one_off(app, release, manifest.postdeploy, "postdeploy", fail_deploy=False)
    except Exception as exc:
        console.warn(f"{release.tag} is live, but what follows failed: {exc} (ps:retire finishes the clean-up)")


def _stop_first_types(app: str, specs) -> set[str]:
    """The process types among `specs` that must never run twice (ps:set APP TYPE.strategy)."""
    return {s.process for s in specs if settings.get("ps", app, "strategy", s.process) == "stop-first"}


def _stale_of_types(app: str, types: set[str]) -> list[RunningContainer]:
    """Stale containers of these process types (none asked: no Docker call)."""
    return [c for c in _stale(app) if c.process in types] if types else []


def _stop_stale_of_stop_first(app: str, specs) -> None:
    """Stop the stale containers of the stop-first types among `specs` before those start."""
    scheduler.stop_all(_stale_of_types(app, _stop_first_types(app, specs)), _stop_timeout(app))


def _stop_timeout(app: str) -> int:
    return int(settings.get("ps", app, "stop-timeout"))


def serves_web(release: Release) -> bool:
    """Whether the app gets a vhost: its release has a web type. Scaled to web=0 (or stopped)
    it keeps it, answering 503 as Heroku does, and its hostnames stay its own."""
    return "web" in release.processes


def _restart_stopped(app: str, stopped: list[RunningContainer]) -> None:
    """A failed deploy stopped its stop-first types' old containers: start them again.

    They come back from the release they belonged to (still the live one: nothing was
    switched), so a bad deploy never leaves a stop-first worker down."""
    live = releases.current(app)
    if not stopped or live is None:
        return
    port = port_of(live)
    env = plan.base_env(app, live, port)
    limits = limits_of(app, live.processes)
    specs = [plan.spec(app, live, c.process, c.index, env, port, limits.get(c.process, {}))
             for c in stopped if c.release == live.version and c.process in live.processes]
    console.step("Starting the stopped stop-first containers of " + live.tag + " again")
    try:
        back = _start_and_check(app, live, specs, port, manifest_of(live))
    except Exception as exc:  # never hide the failure that brought us here
        console.error(f"could not restart them: {getattr(exc, 'message', exc)}", getattr(exc, "hint", None))
        return
    serving.add_remove(app, {c.id for c in back}, {c.id for c in stopped})
    if any(c.process == "web" for c in back):
        route_serving(app)


def _mark_failed(app: str, release: Release) -> None:
    """A failed restart or scale of the live release leaves it live: the old containers serve."""
    if releases.get(app, release.version).status != "live":
        releases.update(app, release.version, status="failed")


def _start_and_check(app, release, specs, port, manifest, meanwhile=None) -> list[RunningContainer]:
    """Start `specs`, then check them; `meanwhile(started)` runs while the checks do, and a
    failure of it fails the start like a check would."""
    if specs:
        counts = {}
        for s in specs:
            counts[s.process] = counts.get(s.process, 0) + 1
        console.step("Starting " + ", ".join(f"{n} {p}" for p, n in sorted(counts.items())))
    policy = settings.get("ps", app, "restart-policy")
    failpoints.reached("start")
    results = scheduler.start_all(specs, policy)
    started = [c for _, c, _ in results if c is not None]
    failpoints.reached("health-check")
    errors = [f"{s.process}.{s.index}: {err}" for s, c, err in results if err]
    if not errors and started:
        try:
            outcomes = scheduler.check_all(app, started, port, manifest,
                                           meanwhile=(lambda: meanwhile(started)) if meanwhile else None)
        except BaseException:
            scheduler.stop_all(started, 0)
            _mark_failed(app, release)
            raise
        for container, outcome in outcomes:
            if not outcome.ok:
                errors.append(_failure_report(container, outcome.detail))
        if not errors:
            console.detail(f"{len(started)} container(s) passed their checks")
    if errors:
        scheduler.stop_all(started, 0)
        _mark_failed(app, release)
        raise DeployFailed(
            f"{app} {release.tag} failed its checks; {releases.still_serving(app)}",
            hint="\n".join(errors),
        )
    return started


def _failure_report(container: RunningContainer, detail: str) -> str:
    from paas.runtime import docker_api

    logs = docker_api.log_tail(container.id, LOG_LINES_ON_FAILURE).rstrip()
    text = f"{container.process}.{container.index}: {detail}"
    if logs:
        text += f"\nlast {LOG_LINES_ON_FAILURE} log lines of {container.process}.{container.index}:\n" + "\n".join(
            "  " + line for line in logs.splitlines()[-LOG_LINES_ON_FAILURE:]
        )
    return text


def route(app: str, web: list[RunningContainer], has_web: bool, release: Release | None = None,
          drain: bool = True, force: bool = False) -> None:
    """Point the app's vhost at `web` (none: no vhost). `drain=False` returns as soon as the
    old nginx workers take no new connection (for a switch whose old containers retire later);
    `force` reloads even when the file on disk already says the same (repairs)."""
    router.apply(route_change(app, web, has_web, release), drain, force)


def route_change(app: str, web: list[RunningContainer], has_web: bool,
                 release: Release | None = None) -> dict[str, str | None]:
    """The router change that points the app's vhost at `web` (None: no vhost)."""
    if not has_web:
        return {app: None}
    release = release or releases.current(app)
    upstreams = sorted(f"{c.address}:{c.port}" for c in web if c.address and c.port)
    # With nothing to route to (web=0) the built-in vhost answers 503: an app's own template
    # would render an upstream without servers, which nginx refuses.
    custom = release.app_json.get("_nginx_template") if release and upstreams else None
    return {app: router.render_app(router.route_for(app, upstreams), custom)}


def run_release_phase(app: str, release: Release, manifest: appjson.AppJson) -> None:
    if manifest.predeploy:
        _one_off(app, release, manifest.predeploy, "predeploy", fail_deploy=True)
    command = release.processes.get("release")
    if command:
        _one_off(app, release, command, "release", fail_deploy=True)


def _one_off(app: str, release: Release, command: str, what: str, fail_deploy: bool) -> None:
    from paas.runtime import oneoff

    console.step(f"Running {what}: {command}")
    code = oneoff.run_captured(app, release, ["/bin/sh", "-c", command], role="release", on_line=console.detail)
    if code != 0:
        message = f"{what} command exited with {code}"
        if fail_deploy:
            raise DeployFailed(f"{message}; nothing was switched, {releases.still_serving(app)}")
        console.warn(message)


# Day-2 -----------------------------------------------------------------------------


def scale(app: str, changes: dict[str, int]) -> None:
    with locks.app_lock(app):
        _scale_locked(app, changes)


def _scale_locked(app: str, changes: dict[str, int]) -> None:
    release = releases.current(app)
    if release is None:
        formation.set_quantities(app, changes)
        console.detail("Not deployed yet: the formation applies at the first deploy")
        return
    _require_process_types(release, list(changes))
    if apps.get(app).stopped:
        formation.set_quantities(app, changes)
        console.detail(f"{app} is stopped (ps:stop): the formation applies at ps:start {app}")
        return
    before = formation.get(app)
    wanted = {**before, **changes}
    port = port_of(release)
    current = serving_containers(app)
    p = plan.plan_scale(app, release, wanted, current, port, limits_of(app, release.processes))
    # A stop-first type's old containers may still await their retire (a scale to 0 a moment
    # ago): they stop before its new ones start, as in a deploy.
    _stop_stale_of_stop_first(app, p.start)
    new = _start_and_check(app, release, list(p.start), port, manifest_of(release)) if p.start else []
    new_ids = {c.id for c in new}
    kept_web = [c for c in p.keep if c.process == "web"] + [c for c in new if c.process == "web"]
    # The new formation is recorded with the containers that serve it, before nginx may route
    # to them: a scale killed earlier leaves the old formation, its new containers stale; one
    # killed later leaves the new one, and the next command's recovery finishes it.
    with store.transaction():
        serving.add_remove(app, new_ids, set())
        formation.set_quantities(app, changes)
    routed = any(c.process == "web" for c in (*p.start, *p.stop))
    try:
        if routed:
            route(app, kept_web, has_web=serves_web(release), drain=False)
    except BaseException:
        # A scale that did not happen is not recorded: the next deploy would repeat the failure.
        with store.transaction():
            serving.add_remove(app, set(), new_ids)
            formation.set_quantities(app, {process: before.get(process, 0) for process in changes})
        if _route_put_back(app, lambda: route_serving(app) if routed else None):
            scheduler.stop_all(new, 0)
        raise
    failpoints.reached("switched")
    serving.add_remove(app, set(), {c.id for c in p.stop})
    if p.stop:  # retired like a deploy's old containers: drained first, in the background
        schedule_retire(app)


def _scalable(release: Release) -> list[str]:
    return sorted(p for p in release.processes if p not in plan.ONE_OFF_TYPES)


def _route_put_back(app: str, put_back) -> bool:
    """Undo a route change while a command fails; False if that failed too. nginx may then
    still route to the failed command's new containers: they keep running, and the next
    command on the app recovers (route from what serves, then stop the rest)."""
    try:
        put_back()
        return True
    except Exception as exc:
        console.error(f"could not put the previous route back: {getattr(exc, 'message', exc)}",
                      "the next command on this app puts it right")
        locks.recover_later(app)
        return False


def _require_process_types(release: Release, types: list[str]) -> None:
    unknown = [p for p in types if p not in release.processes]
    if unknown:
        raise InvalidInput(f"{release.tag} has no process type {', '.join(unknown)}; "
                           f"it has {', '.join(_scalable(release))}")


def restore(app: str) -> bool:
    """ps:restore: bring the live release back unless ps:stop stopped the app (read under the
    lock, so a ps:stop that finishes meanwhile is not undone). Containers that came back by
    themselves (Docker's restart policy) and answer are kept and only routed again; otherwise
    the release restarts. False when the app stays stopped."""
    with locks.app_lock(app):
        if apps.get(app).stopped:
            return False
        live = releases.current(app)
        if live is not None and _came_back(app, live):
            console.detail("every container came back and answers; routed again")
            route_serving(app)  # reloaded too: nginx may hold connections from before
            schedule_retire(app)  # what Docker also brought back of older releases goes
            return True
        restart(app, release_pending_config=False)  # back as it ran, whatever waits
        return True


def _came_back(app: str, live: Release) -> bool:
    """Whether the live release's whole formation runs (of that release, each slot once) and
    each container answers."""
    running = serving_containers(app)
    if any(c.release != live.version or c.state != "running" for c in running):
        return False
    wanted = formation.get(app)
    types = [p for p in live.processes if p not in plan.ONE_OFF_TYPES]
    slots = sorted((c.process, c.index) for c in running)
    if slots != sorted((p, i) for p in types for i in range(1, wanted.get(p, 0) + 1)):
        return False
    return all(o.ok for o in scheduler.health_all(app, running, port_of(live), manifest_of(live)))


def restart(app: str, process: str | None = None, release_pending_config: bool = True) -> None:
    """Replace the live release's containers (of one process type if given), zero downtime.

    Config changed since the release (`config:set --no-restart`, global values) goes live
    with a whole-app restart, as a new release; a restart of one type leaves it waiting,
    since the other types would keep running without it."""
    with locks.app_lock(app):
        release = releases.current(app)
        if release is None:
            raise NotFound(f"{app} is not deployed")
        if process is not None:
            _require_process_types(release, [process])
            if apps.get(app).stopped:  # a stopped app runs nothing until all of it starts
                raise InvalidInput(f"{app} is stopped (ps:stop)", hint=f"ps:start {app} starts every type")
        current_config = config.effective(app)
        waiting = config.changed_keys(release.config, current_config)
        if waiting and process is None and release_pending_config:
            live = release
            release = _derived_release(app, live, f"Restart with {', '.join(waiting)}", current_config)
            console.step(f"Releasing {release.tag} with the config changed since {live.tag}: {', '.join(waiting)}")
            try:
                activate(app, release)
            except PaasError as exc:  # the new values may be what failed: say which they were
                exc.hint = "\n".join(filter(None, [exc.hint, (
                    f"{release.tag} ran with {', '.join(waiting)} changed since {live.tag}; fix or unset "
                    f"them (config:set / config:unset), or run {live.tag} again: paas releases:rollback {app} {live.tag}")]))
                raise
            return
        if waiting and process is not None:
            console.detail(f"Config changed since {release.tag} ({', '.join(waiting)}) waits for "
                           f"ps:restart {app} or the next deploy")
        activate(app, release, release_phase=False, only=None if process is None else {process})


def stop(app: str) -> None:
    with locks.app_lock(app, revive=False):
        apps.set_stopped(app, True)  # first: a reboot meanwhile must not bring it back
        running = containers(app)
        live = releases.current(app)
        answers_503 = live is not None and serves_web(live)
        try:
            router.apply({app: router.render_app(router.route_for(app, []))} if answers_503 else {app: None})
        except BaseException:
            apps.set_stopped(app, False)  # nothing stopped: it still runs, and must after a reboot
            raise
        failpoints.reached("stopping")
        serving.replace(app, set())
        scheduler.stop_all(running, _stop_timeout(app))


def _stale(app: str) -> list[RunningContainer]:
    """Containers that serve no more: not in the serving set, or of a release that failed
    (a killed deploy may have recorded its containers before it could finish)."""
    current = serving.ids(app)
    failed = {r.version for r in releases.list_for(app) if r.status == "failed"}
    return [c for c in containers(app) if c.id not in current or c.release in failed]


def reap(app: str) -> list[RunningContainer]:
    """Stop stale containers now (left by a crashed command or awaiting retirement), once no
    nginx worker of an older configuration may still carry a request to them."""
    stopped = _stop_after_drain(app, _stale(app))
    if stopped:
        serving.add_remove(app, set(), {c.id for c in stopped})
    return stopped


def _stop_after_drain(app: str, stale: list[RunningContainer]) -> list[RunningContainer]:
    """Stop containers that serve no more once no nginx worker of an older configuration may
    still carry a request to them (including a switch made while the caller waited). Never
    one the app's vhost still routes to: a failure that left the route behind the records
    (an undo or a recovery that could not finish) must not turn into 502s, nor free its
    address for another app's container. Those stay for a later switch. The ones stopped."""
    if not stale:
        return []
    router.wait_for_draining_workers()
    routed = router.routed_addresses(app)
    stopping = [c for c in stale if f"{c.address}:{c.port}" not in routed]
    scheduler.stop_all(stopping, _stop_timeout(app))
    return stopping


def route_serving(app: str, force: bool = True) -> None:
    """Redraw the app's route from the web containers that serve now (app lock held).
    `force`: reload even when the files say this already (a killed switch may have written
    them without a reload); a settings change passes False, and changes nothing unchanged."""
    live = releases.current(app)
    if live is not None and "web" in live.processes:
        web = [c for c in serving_containers(app) if c.process == "web" and c.state == "running"]
        route(app, web, has_web=serves_web(live), release=live, force=force)
    elif router.current_app_config(app) is not None:
        # Nothing live with a web type, yet a vhost: a killed deploy's switch left it pointing
        # at containers that are about to stop (their addresses then free for other apps).
        route(app, [], has_web=False, force=force)


def recover(app: str, revive: bool = True) -> None:
    """After a command died mid-way (app lock held): route to what serves, then stop what it
    left. In that order: a deploy killed after its switch left nginx routing to containers
    that are stale now, and stopping them first would fail every request meanwhile."""
    from paas.runtime import docker_api

    found = apps.find(app)
    if found is None:
        return
    put_back = config.undo_unreleased(app)
    if put_back:
        console.detail(f"{', '.join(put_back)} put back as before: the config change was stopped before it went live")
    # A release phase (a migration, say) killed with its deploy must not run on beside the next.
    scheduler.stop_all(docker_api.list_containers(app, role="release"), 0)
    if found.stopped:  # a ps:stop killed before it let its containers go: finish it
        serving.replace(app, set())
    serving.add_remove(app, set(), {c.id for c in _stale(app)})
    serving.add_remove(app, set(), {c.id for c in _superseded(app) + _beyond_formation(app)})
    if revive:
        _start_missing(app)
    route_serving(app)
    reap(app)


def _superseded(app: str) -> list[RunningContainer]:
    """Serving containers another one of the same process and index replaced (a restart killed
    before it let the old ones go): the newest of each stays."""
    newest: dict[tuple[str, int], RunningContainer] = {}
    older = []
    for c in sorted(serving_containers(app), key=lambda c: (c.created_key, c.name)):
        slot = (c.process, c.index)
        if slot in newest:
            older.append(newest[slot])
        newest[slot] = c
    return older


def _beyond_formation(app: str) -> list[RunningContainer]:
    """Serving containers of the live release the formation no longer wants (a scale down
    killed after it routed around them, before it let them go)."""
    live = releases.current(app)
    if live is None:
        return []
    wanted = formation.get(app)
    return [c for c in serving_containers(app) if c.release == live.version
            and c.index > (wanted.get(c.process, 0) if c.process in live.processes else 0)]


def _start_missing(app: str) -> None:
    """A command that died after removing serving containers (a stop-first type's, before its
    new ones were up) left their slots empty: start the live release's containers for them."""
    gone = serving.ids(app) - {c.id for c in containers(app)}
    live = releases.current(app)
    if not gone or live is None or apps.get(app).stopped:
        return
    serving.add_remove(app, set(), gone)
    present = {(c.process, c.index) for c in serving_containers(app)}
    port = port_of(live)
    specs = [s for s in plan.specs_for(app, live, formation.get(app), port, limits_of(app, live.processes))
             if (s.process, s.index) not in present]
    if not specs:
        return
    console.step(f"Starting {len(specs)} container(s) of {live.tag} that a command killed mid-way removed")
    # Of a stop-first type, the dead command's own new containers must stop first.
    _stop_stale_of_stop_first(app, specs)
    try:
        back = _start_and_check(app, live, specs, port, manifest_of(live))
    except Exception as exc:  # the command that found this goes on, and says how to retry
        console.error(f"could not start them: {getattr(exc, 'message', exc)}",
                      f"ps:restart {app} starts every container of {live.tag} again")
        return
    serving.add_remove(app, {c.id for c in back}, set())


def schedule_retire(app: str) -> None:
    """Retire the old containers in a detached process, after the drain time."""
    drain = settings.get("checks", app, "wait-to-retire")
    log = open(os.devnull, "wb")
    subprocess.Popen(
        [sys.executable, "-m", "paas.retire", app, drain],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=os.environ.copy(),
    )


def retire(app: str, wait: float | None = None) -> list[RunningContainer]:
    """Stop what no longer serves (after the drain); `wait`: how long to wait for the app lock."""
    failpoints.reached("retire")
    with locks.app_lock(app, wait):
        stale = _stale(app)  # decided under the lock, stopped outside it (SIGTERM takes time)
    scheduler.stop_all(orphaned_one_offs(app), 0)
    return _stop_after_drain(app, stale)


def orphaned_one_offs(app: str) -> list[RunningContainer]:
    """`paas run`, release-phase and pre/postdeploy containers whose command was killed
    before it could remove them: they would hold the app's config and an address for good."""
    from paas import procs
    from paas.runtime import docker_api

    return [c for c in docker_api.list_containers(app) if c.role != "process" and c.owner and procs.gone(c.owner)]


def retire_orphans() -> list[str]:
    """The route, containers and images of an old name that a rename killed mid-way left: no
    command of that name can come to clean up. Found by the rename's own note, or by a vhost
    of no app (only this paas writes them; containers alone could be another paas's on the
    same dockerd). The names."""
    from paas.runtime import docker_api

    existing = {a.name for a in apps.list_all()}
    noted = {row["app"] for row in store.query("SELECT app FROM renamed_away")}
    routed = {path.stem for path in router.apps_dir().glob("*.conf")}
    gone = []
    for name in sorted((noted | routed) - existing):
        with locks.app_lock(name):  # a rename in progress finishes first
            if apps.find(name) is None:
                if router.app_config_path(name).exists():
                    router.apply({name: None})
                scheduler.stop_all(docker_api.list_containers(name), 5)
                _remove_images_of_gone_app(name)
                gone.append(name)
            _forget_renamed_away(name)
    for name in noted & existing:  # the name was taken again: its containers are the new app's
        _forget_renamed_away(name)
    return gone


def teardown(app: str) -> None:
    """Remove every container, image and route of an app (apps:destroy)."""
    from paas.runtime import docker_api

    with locks.app_lock(app, revive=False):
        if router.app_config_path(app).exists():
            router.apply({app: None})
        docker_api_containers = docker_api.list_containers(app)
        scheduler.stop_all(docker_api_containers, 5)
        serving.replace(app, set())
        _remove_images_of_gone_app(app)


def rename_running(old: str, new: str) -> None:
    """Rename a deployed app: retag its images, move its repo, start it under the new name,
    and only then retire the old name's route and containers. If anything fails before the
    new name serves, every step is undone and the app keeps serving under its old name."""
    from paas.runtime import docker_api

    with locks.app_lock(old), locks.app_lock(new):
        apps.require_free(new)
        old_containers = docker_api.list_containers(old)
        old_ids = {c.id for c in old_containers}
        timeout = _stop_timeout(old)
        # A stop-first type must not run under both names at once.
        stopped = [c for c in old_containers
                   if c.role == "process" and settings.get("ps", old, "strategy", c.process) == "stop-first"]
        renamed, retagged = False, []
        try:
            scheduler.stop_all(stopped, timeout)
            _rename_records(old, new)
            renamed = True
            with locks.image_store(removing=False):  # no prune may decide on half-moved tags
                for release in releases.list_for(new):
                    if release.image and docker_api.image_exists(release.image):
                        tag = names.image_tag(new, release.version)
                        docker_api.tag(release.image, tag)
                        retagged.append((release.version, release.image))
                        releases.update(new, release.version, image=tag)
            # Same release, same migrations: nothing of its release phase runs again.
            activate(new, releases.current(new), release_phase=False)
        except BaseException:
            if renamed and (serving.ids(new) - old_ids):  # it serves under the new name: finish
                _retire_old_name(old, [c for c in old_containers if c not in stopped], timeout)
                raise
            if renamed:
                for version, image in retagged:
                    releases.update(new, version, image=image)
                _rename_records(new, old)
                _remove_images_of_gone_app(new)
            _restart_stopped(old, stopped)
            console.detail(f"{old} keeps its name and keeps serving: the rename was undone")
            raise
        _retire_old_name(old, [c for c in old_containers if c not in stopped], timeout)


def _retire_old_name(old: str, containers: list[RunningContainer], timeout: int) -> None:
    router.apply({old: None})
    scheduler.stop_all(containers, timeout)
    _remove_images_of_gone_app(old)
    _forget_renamed_away(old)


def _remove_images_of_gone_app(app: str) -> None:
    from paas import cleanup

    if not cleanup.remove_app_images(app, wait=IMAGE_STORE_WAIT):
        console.detail(f"A build is using the image store: the images of {app} go at the next `paas cleanup`")


def _rename_records(old: str, new: str) -> None:
    with store.transaction() as db:
        apps.rename(old, new)
        # Until the old name's route and containers are gone (a kill may come first).
        db.execute("INSERT OR REPLACE INTO renamed_away (app, at) VALUES (?, ?)", (old, time.time()))
        _forget_renamed_away(new)  # an undone rename: back under this name
        gitrepo.move(old, new)  # in the transaction: a repo that cannot move undoes the rename


def _forget_renamed_away(name: str) -> None:
    """Nothing of `name` is left to retire (or it is an app's name again)."""
    with store.transaction() as db:
        db.execute("DELETE FROM renamed_away WHERE app = ?", (name,))

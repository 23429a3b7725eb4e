"""The router: nginx config rendered from templates/nginx, checked, swapped in, reloaded.

Every change is written aside, checked with `nginx -t` against the full new config set,
and only then moved into place and reloaded; a failing check leaves the old config serving.
After a reload we wait until the old worker processes stop accepting (a deploy's switch) or
have exited (everything else): only then does every new connection see the new config
(DESIGN.md: reload returns before it is live). Requests still running on shutting-down
workers are waited for by the background retire before it stops their containers.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from paas import failpoints, lifecycle, locks, names, paths, procs, settings
from paas.errors import DeployFailed, InvalidInput, ServiceUnavailable
from paas.models import Route

# sbin is often missing from PATH in SSH sessions of unprivileged users.
NGINX = os.environ.get("PAAS_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
DEFAULT_HTTP_PORT = 80
# How long an old worker may finish its requests after a reload before nginx closes them.
WORKER_SHUTDOWN_TIMEOUT = 60
RELOAD_TAKEN_WAIT = 10  # seconds after a SIGHUP by which the old workers must be told to stop


def prefix() -> Path:
    return paths.nginx()


def apps_dir() -> Path:
    path = prefix() / "apps"
    path.mkdir(exist_ok=True)
    return path


def http_port() -> int:
    return int(lifecycle.server_info().get("http_port", DEFAULT_HTTP_PORT))


def listen_address() -> str:
    bind = lifecycle.server_info().get("http_bind")
    return f"{bind}:{http_port()}" if bind else str(http_port())


@functools.lru_cache(maxsize=1)  # compiled templates are kept: a switch renders nginx.conf twice
def _jinja():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(paths.templates_dir() / "nginx")),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )


def _worker_user() -> str | None:
    """Workers run as the owner of PAAS_ROOT (only matters when the master runs as root)."""
    if os.geteuid() != 0:
        return None
    owner = pwd.getpwuid(paths.root().stat().st_uid)
    return f"{owner.pw_name} {_group_name(owner.pw_gid)}"


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def render_main(apps_glob_dir: Path) -> str:
    return _jinja().get_template("nginx.conf.j2").render(
        prefix=str(prefix()), listen=listen_address(), apps_dir=str(apps_glob_dir), user=_worker_user(),
        worker_shutdown_timeout=WORKER_SHUTDOWN_TIMEOUT,
    )


def route_for(app: str, upstreams: list[str]) -> Route:
    hosts = list(domains_of(app))
    options = {key: value for key, value, _ in settings.report("nginx", app)}
    return Route(app=app, hosts=tuple(hosts), upstreams=tuple(upstreams), options=options)


def domains_of(app: str) -> list[str]:
    from paas import domains

    return domains.hosts_for(app)


def render_app(route: Route, custom_template: str | None = None) -> str:
    for upstream in route.upstreams:
        host, _, port = upstream.rpartition(":")
        if not port.isdigit() or not all(part.isdigit() for part in host.split(".")):
            raise InvalidInput(f"refusing to route to {upstream!r}: not an IPv4 address and port")
    for host in route.hosts:
        names.domain(host)
    names.app_name(route.app)
    variables = dict(app=route.app, hosts=route.hosts or [f"{route.app}.invalid"], upstreams=route.upstreams,
                     options=route.options, listen=listen_address())
    if custom_template is None:
        return _jinja().get_template("app.conf.j2").render(**variables)
    return render_custom(custom_template, variables)


def render_custom(template: str, variables: dict) -> str:
    """An app's own nginx.conf.j2: sandboxed Jinja with limits, then the directive allowlist."""
    from paas import nginx_policy, template_sandbox

    text = template_sandbox.render(template, variables)
    nginx_policy.check(text, variables["app"], variables["listen"], variables["hosts"], variables["upstreams"])
    return text


def _prepare_dirs() -> None:
    for sub in ("logs", "tmp", "apps"):
        (prefix() / sub).mkdir(exist_ok=True, mode=0o700)


def _base_args(main_conf: Path) -> list[str]:
    # -e: the error log before the config is read (the default path may not be writable).
    return ["-p", str(prefix()), "-e", str(prefix() / "logs" / "error.log"), "-c", str(main_conf)]


def check_config(main_conf: Path) -> None:
    result = subprocess.run(
        [NGINX, "-t", "-q", *_base_args(main_conf)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise DeployFailed(
            "nginx rejected the new configuration; the old one keeps serving",
            hint=result.stderr.strip()[-3000:],
        )


def current_app_config(app: str) -> str | None:
    """The app's vhost as written now (None: it has none)."""
    path = app_config_path(app)
    return _read_exactly(path) if path.exists() else None


def _unchanged(changes: dict[str, str | None]) -> bool:
    return all(current_app_config(app) == text for app, text in changes.items()) and master_pid() is not None


def apply(changes: dict[str, str | None], drain: bool = True, force: bool = False) -> None:
    """Write app configs (None removes), check the whole new set, swap in, reload (see
    `reload` for `drain`). Nothing happens when the files already say this, unless `force`."""
    with locks.router_lock():
        if not force and _unchanged(changes):  # same upstreams (ps:restart worker): no reload
            return
        switch(stage(changes), drain, force)


@dataclass
class Staged:
    """A change written aside and checked with `nginx -t` against the app configs as they
    were then (`seen`); `switch` moves it in."""

    changes: dict[str, str | None]
    folder: Path
    seen: dict[str, str]


def stage(changes: dict[str, str | None]) -> Staged:
    """Write the whole new config set aside and check it; raises DeployFailed when nginx
    refuses it. Needs no lock: `switch` checks again if another change landed meanwhile, so
    a deploy stages its route while its containers settle."""
    _prepare_dirs()
    _remove_abandoned_staging()
    folder = prefix() / f"staging-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "apps").mkdir(parents=True)
    try:
        seen = _app_configs()
        for name, text in {**seen, **changes}.items():
            if text is not None:
                (folder / "apps" / f"{name}.conf").write_text(text)
        main = folder / "nginx.conf"
        main.write_text(render_main(folder / "apps"))
        check_config(main)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Staged(changes, folder, seen)


def switch(staged: Staged, drain: bool = True, force: bool = False) -> None:
    """Move a staged change into place and reload. Checked again first when another app's
    change landed since it was staged, so what goes live is always what `nginx -t` passed.
    Nothing happens when the files already say this, unless `force`."""
    try:
        with locks.router_lock():
            if not force and _unchanged(staged.changes):  # same upstreams (ps:restart worker): no reload
                return
            if _app_configs() != staged.seen:
                discard(staged)
                staged = stage(staged.changes)
            current = _app_configs()
            previous = {app: current.get(app) for app in staged.changes}
            _write_app_configs(staged.changes)
            try:
                write_main()
                reload(drain)
            except (NginxDidNotStart, NginxKeptOldConfig, ProcessLookupError):
                # nginx never took it (down and it would not start, its master died just
                # before the signal, or it refused the config at the reload): the files go back
                # to what served before, which is what a later start or reload must load. Once
                # a reload was taken, nginx runs the new files.
                _write_app_configs(previous)
                write_main()
                raise
    finally:
        discard(staged)


def _write_app_configs(configs: dict[str, str | None]) -> None:
    """Each app's vhost file replaced atomically (None: removed)."""
    for app, text in configs.items():
        final = apps_dir() / f"{app}.conf"
        if text is None:
            final.unlink(missing_ok=True)
        else:
            tmp = final.with_suffix(".tmp")
            tmp.write_text(text)
            os.replace(tmp, final)


def discard(staged: Staged) -> None:
    shutil.rmtree(staged.folder, ignore_errors=True)


def _app_configs() -> dict[str, str]:
    return {path.stem: _read_exactly(path) for path in sorted(apps_dir().glob("*.conf"))}


def _read_exactly(path: Path) -> str:
    """A config file as written, CRs included (read_text would make a CR a newline, and a
    comment ended by it a live statement once the text is written back)."""
    with path.open(newline="") as handle:
        return handle.read()


def _remove_abandoned_staging() -> None:
    """A command killed between stage and switch leaves its folder: gone once its pid is."""
    for folder in prefix().glob("staging-*"):
        if procs.left_behind(folder.name.removeprefix("staging-")):
            shutil.rmtree(folder, ignore_errors=True)


def write_main() -> Path:
    _prepare_dirs()
    main = prefix() / "nginx.conf"
    tmp = main.with_suffix(".tmp")
    tmp.write_text(render_main(apps_dir()))
    os.replace(tmp, main)
    return main


class NginxDidNotStart(ServiceUnavailable):
    """nginx exited at once (its port taken, say): nothing of the new config is live."""


class NginxKeptOldConfig(ServiceUnavailable):
    """nginx passed `-t` but its master refused the config at the reload: the old one serves."""


def master_pid() -> int | None:
    """The running master's pid: alive, not a zombie, and really an nginx (pids get reused)."""
    try:
        pid = int((prefix() / "nginx.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if procs.running(pid) and b"nginx" in procs.command_line(pid) else None


def start() -> int:
    """Start the paas-managed nginx master if it is not running."""
    pid = master_pid()
    if pid:
        return pid
    main = write_main()
    check_config(main)
    result = subprocess.run([NGINX, *_base_args(main)], capture_output=True, text=True)
    if result.returncode != 0:
        raise NginxDidNotStart(f"nginx did not start: {result.stderr.strip()}")
    for _ in range(50):
        pid = master_pid()
        if pid:
            return pid
        time.sleep(0.05)
    raise ServiceUnavailable("nginx did not write its pid file")


def stop() -> bool:
    pid = master_pid()
    if not pid:
        return False
    os.kill(pid, signal.SIGQUIT)
    for _ in range(100):
        if not procs.running(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGTERM)
    return True


def reload(drain: bool = True, drain_timeout: float = 30.0) -> None:
    """Reload; return once the old workers take no new connection, and with `drain` once they
    have exited (their requests finished) or `drain_timeout` passed.

    An old worker that stops accepting retitles itself "worker process is shutting down"; from
    then on every new connection reaches the new configuration. Waiting for that alone keeps
    a deploy from waiting out a websocket or a long download on an old worker (its container
    is retired later, after the drain time)."""
    pid = master_pid()
    if pid is None:
        start()
        return
    # Listed once: each later look reads only these workers' /proc entries, not every
    # process on the host (hundreds with 50 apps, and this loop looks every 5 ms).
    old_workers = {worker: procs.parent_and_start(worker) for worker in procs.children(pid)}
    # Workers still finishing requests of an earlier reload say nothing about this one.
    accepting = {w for w in old_workers if not _shutting_down(w)}
    os.kill(pid, signal.SIGHUP)
    signalled = time.monotonic()
    failpoints.reached("reloading")
    deadline = signalled + drain_timeout
    while time.monotonic() < deadline:
        alive = [w for w, seen in old_workers.items() if seen and procs.parent_and_start(w) == seen]
        if not alive or (not drain and all(_shutting_down(w) for w in alive)):
            return
        if time.monotonic() - signalled > RELOAD_TAKEN_WAIT and accepting and \
                all(w in alive and not _shutting_down(w) for w in accepting):
            # A master that takes a new config tells its old workers to stop within ~0.1 s.
            # None told: it refused the config (a failed bind, no memory to fork).
            raise NginxKeptOldConfig(f"nginx kept its old configuration after the reload: "
                                     f"see {prefix() / 'logs' / 'error.log'}")
        time.sleep(0.005)


def _shutting_down(worker: int) -> bool:
    """An old worker that stopped accepting and is finishing its requests (nginx retitles it)."""
    return b"shutting down" in procs.command_line(worker)


def wait_for_draining_workers(timeout: float = WORKER_SHUTDOWN_TIMEOUT) -> None:
    """Wait until no nginx worker of an older configuration is still finishing requests
    (nginx ends them itself after WORKER_SHUTDOWN_TIMEOUT). The retire calls this before it
    stops containers, so a long request on an old worker is never cut by its container's stop."""
    pid = master_pid()
    deadline = time.monotonic() + timeout
    while pid is not None and time.monotonic() < deadline:
        if not any(_shutting_down(w) for w in procs.children(pid)):
            return
        time.sleep(0.05)


def routed_addresses(app: str) -> set[str]:
    """Every `ADDRESS:PORT` the app's vhost names (an app's own template included)."""
    text = current_app_config(app) or ""
    return set(re.findall(r"(?<![\w.:])(\d{1,3}(?:\.\d{1,3}){3}:\d{1,5})(?![\w.])", text))


def app_config_path(app: str) -> Path:
    return apps_dir() / f"{app}.conf"

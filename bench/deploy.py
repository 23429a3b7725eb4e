"""Group `deploy`: warm redeploy of examples/python vs its raw steps, where its time goes, and
`ps:scale web=10`.

- warm redeploy: a one-line code change, `git push` over ssh, until nginx serves the new body
  (polled every 20 ms through the vhost). Baseline: the sum of the raw steps measured right after
  each push, in the same run (bench/pipeline.py): Docker SDK build with cache of another one-line
  change + `docker run` of that image on the paas network to its first HTTP 200 + `nginx -t` and
  reload of the server's nginx until its old workers have exited (nginx pauses 100 ms in a reload).
- the profile: each phase of those pushes, timed on the pusher's clock from the `remote:` lines
  paas prints (it flushes every line): ssh + receive-pack + hook start-up, export + detect,
  docker build, container start + health checks + settle time, nginx switch (test, reload, wait
  for the old workers to exit), and what follows "is live" until `git push` returns.
- the same warm redeploys on a production-shaped host (`server:install`, bench/installed.py),
  whose SSH account is the paas user with /bin/sh: the dev server above logs in as the bench's
  own user, and on this machine root's bash reads a ~/.bashrc (pyenv) on every SSH command.
  Then the same on that host with `checks:set APP wait 0`.
- the transport floor: `git push` of the same kind of change to a bare repo without hooks, over
  an sshd with the server's configuration but no forced command.
- the same redeploy with `checks:set APP wait 0` (no settle time), to show what the default
  settle time costs.
- `ps:scale APP web=10` from 1 until all ten serve (ten distinct `process=web.N` bodies through
  nginx), vs ten plain `docker run`s in parallel to their first 200; then back to 1.
"""

from __future__ import annotations

import getpass
import pwd
import re
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench import pipeline
from bench.common import (
    EXAMPLES, Row, Source, change, log, private_server, render, start_to_200, wait_quiet,
)
from bench.installed import installed_server

GROUP = "deploy"
RAW = "raw steps: SDK build cached + start to 200 + nginx -t/reload to its end"


def _login_shell() -> str:
    return pwd.getpwnam(getpass.getuser()).pw_shell


def _median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def _error_row(what: str, exc: Exception) -> Row:
    return Row(GROUP, what, [], "s", note=f"ERROR {exc.__class__.__name__}: {str(exc)[-300:]}")


def _profile_rows(pushes, label: str = "warm redeploy phase") -> list[Row]:
    rows = []
    names = list(pushes[0].phases()) if pushes else []
    for name in names:
        values = [p.phases()[name] for p in pushes if p.phases()[name] is not None]
        rows.append(Row(GROUP, f"  {label}: {name}", values, "s"))
    return rows


def _scale(srv, reps: int) -> list[Row]:
    source = Source.create(srv, EXAMPLES / "python", f"scale-{uuid.uuid4().hex[:4]}", srv.workdir)
    if not source.push(expect=lambda s, b: s == 200).ok:
        raise RuntimeError("first push failed")
    image = f"paas/{source.app}:v1"
    rendered = render(source.path, pipeline.STACK)
    up: list[float] = []
    down: list[float] = []
    raw: list[float] = []
    note = ""
    for i in range(reps):
        wait_quiet(source.app)
        seen: set[str] = set()
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                try:
                    status, body = srv.get(source.app, timeout=2)
                    match = re.search(r"process=(web\.\d+)", body)
                    if status == 200 and match:
                        seen.add(match.group(1))
                        if len(seen) >= 10:
                            done.set()
                            return
                except OSError:
                    pass
                time.sleep(0.005)

        started = time.monotonic()
        threading.Thread(target=poll, daemon=True).start()
        result = srv.paas("ps:scale", source.app, "web=10", timeout=300)
        command = time.monotonic() - started
        if result.returncode != 0:
            done.set()
            raise RuntimeError(f"ps:scale web=10 failed: {result.stdout}\n{result.stderr}")
        done.wait(60)
        if len(seen) < 10:
            note = f"only {len(seen)} distinct containers seen"
        up.append(time.monotonic() - started)
        done.set()
        log(f"deploy: scale 1→10 #{i + 1}: all serving after {up[-1]:.2f}s (command {command:.2f}s)")
        down.append(_timed_paas(srv, "ps:scale", source.app, "web=1"))
        # Baseline: ten plain containers of the same image started in parallel to their first 200.
        started = time.monotonic()
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda _: start_to_200(image, rendered["web"], rendered["port"]), range(10)))
        raw.append(time.monotonic() - started)
    srv.destroy(source.app)
    return [
        Row(GROUP, "ps:scale web=10 from 1, until all 10 serve", up, "s",
            baseline="10 × docker run in parallel, to first 200", baseline_samples=raw, note=note),
        Row(GROUP, "  ps:scale web=1 from 10 (command returns)", down, "s"),
    ]


def _no_settle(srv, reps: int):
    """Warm redeploys with `checks:set APP wait 0`: what the default settle time costs."""
    source = Source.create(srv, EXAMPLES / "python", f"nosettle-{uuid.uuid4().hex[:4]}", srv.workdir)
    if not source.push(expect=lambda s, b: s == 200).ok:
        raise RuntimeError("first push failed")
    srv.paas("checks:set", source.app, "wait", "0", check=True)
    pushes = _redeploys(source, reps)
    srv.destroy(source.app)
    return pushes


def _installed_pushes(reps: int):
    """Warm redeploys on a production-shaped install (bench/installed.py): the SSH account is the
    paas user with /bin/sh, where the private dev server logs in as the bench's own user, whose
    login shell (bash) reads its ~/.bashrc on every SSH command."""
    with installed_server("deploy-installed") as srv:
        source = Source.create(srv, EXAMPLES / "python", f"inst-{uuid.uuid4().hex[:4]}", srv.workdir)
        if not source.push(expect=lambda s, b: s == 200).ok:
            raise RuntimeError("first push failed")
        default = _redeploys(source, reps)
        srv.paas("checks:set", source.app, "wait", "0", check=True)
        return default, _redeploys(source, reps)


def _redeploys(source: Source, reps: int):
    """`reps` one-line-change pushes of a deployed app, each timed until its new body is served."""
    pushes = []
    for _ in range(reps):
        _, served = change(source)
        wait_quiet(source.app)
        push = source.push(expect=served)
        if not push.ok:
            raise RuntimeError(push.output[-3000:])
        pushes.append(push)
    return pushes


def _timed_paas(srv, *args: str) -> float:
    started = time.monotonic()
    result = srv.paas(*args, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"paas {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
    return time.monotonic() - started


def measure(quick: bool) -> list[Row]:
    m = pipeline.warm("python", pipeline.warm_reps("python", quick))
    pushes = m.pushes
    rows = [
        Row(GROUP, "python: warm redeploy, push → new body served", [p.to_serving for p in pushes], "s",
            baseline=RAW, baseline_samples=m.raw_sums, target="<= 1.5x; < 4 s", note=m.error),
        Row(GROUP, "  git push returns", [p.wall for p in pushes], "s"),
        Row(GROUP, "  raw: Docker SDK build with cache", m.sdk_build, "s"),
        Row(GROUP, "  raw: container start to first 200", m.start, "s"),
        Row(GROUP, "  raw: nginx -t + reload, until the old workers exit", m.nginx, "s"),
        Row(GROUP, "  raw: nginx -t + SIGHUP sent (not in the sum)", m.nginx_signal, "s"),
    ]
    rows += _profile_rows(pushes)
    try:
        installed, installed_fast = _installed_pushes(len(m.raw_sums) or 1)
        rows.append(Row(GROUP, "python: warm redeploy on a server:install host", [p.to_serving for p in installed],
                        "s", baseline=RAW, baseline_samples=m.raw_sums, target="<= 1.5x; < 4 s",
                        note="SSH account: the paas user with /bin/sh, system sshd_config (PAM on); "
                             f"above, the dev server's account is {getpass.getuser()} with {_login_shell()}"))
        rows += _profile_rows(installed, "server:install host phase")
        rows.append(Row(GROUP, "python: warm redeploy on a server:install host, checks:set wait 0",
                        [p.to_serving for p in installed_fast], "s", baseline=RAW, baseline_samples=m.raw_sums,
                        target="<= 1.5x; < 4 s", note="without the settle time every new container must survive"))
    except Exception as exc:
        rows.append(_error_row("redeploy on a server:install host", exc))
    with private_server("deploy-extras") as srv:
        try:
            plain = pipeline.plain_pushes(srv, "python", max(1, len(m.raw_sums)))
            rows.append(Row(GROUP, "  raw: git push of such a change, plain sshd, no hook", plain, "s"))
            rows.append(Row(GROUP, "python: warm redeploy vs raw steps + plain git push", [p.to_serving for p in pushes],
                            "s", baseline="raw steps + git push over plain ssh",
                            baseline_samples=[r + g for r, g in zip(m.raw_sums, plain)],
                            note="the floor of push-to-deploy, transport included"))
        except Exception as exc:
            rows.append(_error_row("plain git push", exc))
        try:
            fast = _no_settle(srv, 2 if quick else 5)
            rows.append(Row(GROUP, "python: warm redeploy with checks:set wait 0", [p.to_serving for p in fast], "s",
                            baseline=RAW, baseline_samples=m.raw_sums, target="<= 1.5x; < 4 s",
                            note="its start + checks phase: "
                                 f"{_median([p.between('starting', 'checked') for p in fast]):.2f}s vs "
                                 f"{_median([p.between('starting', 'checked') for p in pushes]):.2f}s with the "
                                 "default settle time"))
        except Exception as exc:
            rows.append(_error_row("no-settle redeploy", exc))
        try:
            rows += _scale(srv, 1 if quick else 3)
        except Exception as exc:
            rows.append(_error_row("ps:scale web=10", exc))
    return rows

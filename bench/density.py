"""Group `density`: 50 Python apps on this host, each deployed with its own git push.

- deploy time (push → serving) of the last few apps vs the first few (target within 1.2x);
- `nginx -t` + reload (SIGHUP) of the paas-managed nginx with 50 vhosts vs 1, and the full
  `paas proxy` path (render, test, swap, reload, wait for old workers) measured inside pushes;
- memory used by paas itself between deploys: the deploy server (paas/deploy_server.py, one
  resident process that ends `git:set --global deploy-server-idle` seconds after the last SSH command),
  every other python process running paas (expect none once the background retire has
  finished), and the nginx master + workers (RSS) with 50 apps vs 1.

Every app is examples/python under its own name (so layers are shared, as for a host running
many copies of one stack). All apps are destroyed afterwards. Opt-in under --quick.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from bench.common import (
    EXAMPLES, Row, Source, cmdline, log, nginx_test_reload, nginx_workers, paas_processes, private_server, rss_kib,
    wait_quiet,
)

GROUP = "density"
APPS = 50
ENDS = 5  # apps measured at each end


def _nginx_rss(srv) -> float:
    """RSS of the nginx master and its current workers (old workers still draining excluded)."""
    master = int((srv.nginx_prefix / "nginx.pid").read_text().strip())
    current = [pid for pid in nginx_workers(master) if "shutting down" not in " ".join(cmdline(pid))]
    return sum(rss_kib(pid) for pid in {master, *current}) / 1024


def _reload(srv) -> float:
    """`nginx -t`, SIGHUP, until the new workers run (the new configuration is live)."""
    return nginx_test_reload(srv.nginx_prefix, wait_new_workers=True)


def _paas_rss(srv) -> tuple[int, float, int, float]:
    """(count, MiB) of the python processes running paas other than the deploy server, then of
    the deploy server."""
    pids = paas_processes(srv.root)
    server = [pid for pid in pids if "paas.deploy_server" in cmdline(pid)]
    others = [pid for pid in pids if pid not in server]
    return (len(others), sum(rss_kib(pid) for pid in others) / 1024,
            len(server), sum(rss_kib(pid) for pid in server) / 1024)


def measure(quick: bool) -> list[Row]:
    count = 10 if quick else APPS
    ends = min(ENDS, count // 2)
    reload_n = 10 if quick else 20
    rows: list[Row] = []
    with private_server("density") as srv:
        sources: list[Source] = []
        pushes = []
        reload_one: list[float] = []
        nginx_rss_one = 0.0
        between: list[tuple[int, float, int, float]] = []
        started = time.monotonic()
        try:
            for i in range(count):
                source = Source.create(srv, EXAMPLES / "python", f"d{i:02d}-{uuid.uuid4().hex[:4]}", srv.workdir,
                                       unique=False)  # one example reused: the same image for all
                sources.append(source)
                wait_quiet(root=srv.root)
                between.append(_paas_rss(srv))
                push = source.push(expect=lambda s, b: s == 200)
                if not push.ok:
                    raise RuntimeError(f"push {i + 1} failed:\n{push.output[-3000:]}")
                pushes.append(push)
                if i == 0:
                    wait_quiet(root=srv.root)
                    reload_one = [_reload(srv) for _ in range(reload_n)]
                    time.sleep(1)
                    nginx_rss_one = _nginx_rss(srv)
                if (i + 1) % 10 == 0:
                    log(f"density: {i + 1}/{count} apps deployed ({time.monotonic() - started:.0f}s), "
                        f"last push→serving {push.to_serving:.2f}s")
            wait_quiet(root=srv.root)
            after = _paas_rss(srv)
            between.append(after)
            reload_many = [_reload(srv) for _ in range(reload_n)]
            time.sleep(1)
            nginx_rss_many = _nginx_rss(srv)
            # every app still answers
            serving = sum(1 for s in sources if srv.get(s.app)[0] == 200)
            first = [p.to_serving for p in pushes[:ends]]
            last = [p.to_serving for p in pushes[-ends:]]
            switch_first = [p.between("checked", "live") for p in pushes[:ends] if p.between("checked", "live")]
            switch_last = [p.between("checked", "live") for p in pushes[-ends:] if p.between("checked", "live")]
            rows += [
                Row(GROUP, f"deploy of apps {count - ends + 1}–{count}, push → serving", last, "s",
                    baseline=f"apps 1–{ends}", baseline_samples=first, target="<= 1.2x",
                    note=f"{serving}/{count} apps answer 200 at the end; {count} pushes took "
                         f"{sum(p.wall for p in pushes):.0f}s"),
                Row(GROUP, f"  nginx switch inside the push, {count - ends + 1}–{count} apps", switch_last, "s",
                    baseline=f"apps 1–{ends}", baseline_samples=switch_first, target="<= 1.2x",
                    note="paas's render + nginx -t + reload + wait for old workers"),
                Row(GROUP, f"nginx -t + reload until new workers run, {count} apps", reload_many, "s",
                    baseline="with 1 app", baseline_samples=reload_one, target="<= 1.2x"),
                Row(GROUP, f"nginx master + workers RSS with {count} apps", [nginx_rss_many], "MiB",
                    baseline="with 1 app", baseline_samples=[nginx_rss_one]),
                Row(GROUP, "paas processes resident between deploys", [float(n) for n, *_ in between], "count",
                    target="= 0", note="python processes running paas (CLI, hook, entry, retire) once each "
                                       "deploy's background retire has finished; the deploy server aside"),
                Row(GROUP, "  their resident memory", [mib for _, mib, *_ in between], "MiB", target="= 0"),
                Row(GROUP, "deploy server between deploys", [float(n) for *_, n, _ in between], "count",
                    target="<= 1", note="started by the first push, ends 1800 s after the last one "
                                        "(git:set --global deploy-server-idle; 0: none)"),
                Row(GROUP, "  its resident memory", [mib for *_, mib in between], "MiB"),
            ]
        finally:
            log(f"density: destroying {len(sources)} apps")
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda s: srv.destroy(s.app), sources))
    return rows

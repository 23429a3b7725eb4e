"""dockerd restarted and nginx killed under a running app. These disturb every app on the
host, so they run alone, after the parallel suite (marker `serial`, see the Makefile)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.serial]


def _docker_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def _restart_dockerd() -> None:
    pids = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    assert pids, "dockerd is not running"
    for pid in pids:
        os.kill(int(pid), signal.SIGTERM)
    assert wait_for(lambda: not subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).stdout, timeout=60)
    with open("/var/log/paas-dockerd.log", "ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    assert wait_for(_docker_up, timeout=60)


def _addresses(server, app) -> dict[str, str]:
    report = json.loads(server.paas("ps:report", app, "--format", "json", check=True).stdout)
    return {r["process"]: r["address"] for r in report if r["serving"]}


def _container_ids(app) -> set[str]:
    return set(subprocess.run(["docker", "ps", "-q", "--filter", f"label=paas.app={app}"],
                              capture_output=True, text=True, check=True).stdout.split())


def _serves_own_greeting(server, app, greeting) -> bool:
    try:
        return all(server.get(app, timeout=2)[1].startswith(greeting) for _ in range(8))
    except OSError:
        return False


def test_dockerd_restart_apps_serve_again_by_themselves_then_ps_restore(server, make_app):
    # Two apps with two web containers each: after the restart, Docker brings the containers
    # back in its own order. Each must keep its address, or nginx would send one app's
    # requests to the other's containers.
    apps = {}
    for greeting in ("Apples", "Oranges"):
        source = make_app("python")
        source.push()
        server.paas("config:set", source.app, f"GREETING={greeting}", check=True)
        server.paas("ps:scale", source.app, "web=2", check=True)
        apps[source.app] = greeting
    before = {app: _addresses(server, app) for app in apps}
    assert all(len(addresses) == 2 for addresses in before.values())

    _restart_dockerd()
    for app, greeting in apps.items():
        assert wait_for(lambda: _serves_own_greeting(server, app, greeting), timeout=60), app
    assert {app: _addresses(server, app) for app in apps} == before

    ids_before = {app: _container_ids(app) for app in apps}
    restored = server.paas("ps:restore", "--all", check=True)
    for app, greeting in apps.items():
        assert f"Restoring {app}" in restored.stdout
        assert _serves_own_greeting(server, app, greeting)
        assert _addresses(server, app) == before[app]
        assert _container_ids(app) == ids_before[app]  # back by themselves: kept, not replaced
    assert restored.stdout.count("every container came back and answers") == len(apps)


def test_nginx_killed_then_proxy_start_brings_routing_back(server, make_app):
    source = make_app("python")
    source.push()
    pid = int((server.root / "nginx" / "nginx.pid").read_text())
    workers = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    for victim in [pid, *map(int, workers)]:
        os.kill(victim, signal.SIGKILL)
    time.sleep(0.3)
    with pytest.raises(OSError):
        server.get(source.app, timeout=2)
    server.paas("proxy:start", check=True)
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")

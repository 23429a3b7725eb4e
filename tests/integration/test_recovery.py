"""A deploy killed mid-way, and apps whose containers and router vanished, recover."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from tests.integration.conftest import PAAS, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("python")]


def _containers(app):
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=paas.app={app}"], capture_output=True, text=True)
    return out.stdout.split()


def test_kill_9_during_health_checks_then_redeploy(server, make_app):
    source = make_app("python")
    source.push()
    # The next release takes 4 s to boot, so the kill lands in the health-check step.
    source.write("Procfile", "web: sleep 4 && exec gunicorn --bind 0.0.0.0:$PORT app:app\n")
    source.commit("slow boot")
    source.git("push", "paas", "main:refs/heads/slow")
    process = subprocess.Popen([*PAAS, "deploy", source.app, "refs/heads/slow"], env=server.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in process.stdout:
        if "Starting" in line:
            break
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # The old release never stopped serving.
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    assert len(_containers(source.app)) == 2  # v1's and the orphan of v2

    redeploy = server.paas("deploy", source.app, "refs/heads/slow", check=True)
    assert f"{source.app} v3 is live" in redeploy.stdout
    history = {r["version"]: r for r in json.loads(server.paas("releases", source.app, "--format", "json").stdout)}
    assert history["v2"]["status"] == "failed" and history["v2"]["description"].endswith("(interrupted)")
    assert server.get(source.app)[1].startswith("Hello from paas! release=v3")
    assert wait_for(lambda: len(_containers(source.app)) == 1, timeout=40)


def test_restore_after_containers_and_router_vanish(server, make_app):
    source = make_app("python")
    source.push()
    server.paas("ps:scale", source.app, "web=2", check=True)
    subprocess.run(["docker", "rm", "-f", *_containers(source.app)], check=True, capture_output=True)
    restored = server.paas("ps:restore", source.app, check=True)
    assert f"Restoring {source.app}" in restored.stdout
    assert server.get(source.app)[0] == 200
    report = json.loads(server.paas("ps:report", source.app, "--format", "json").stdout)
    assert sorted(r["process"] for r in report if r["serving"]) == ["web.1", "web.2"]

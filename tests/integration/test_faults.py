"""Fault injection: kill -9 at every deploy step, hostile repos, a full disk, parallel deploys.

Each case proves the old release keeps serving, no state is lost, and the next command
recovers on its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import pytest

from tests.integration.conftest import PAAS, deploy_singleton_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("python")]


def _serving(server, app):
    report = json.loads(server.paas("ps:report", app, "--format", "json", check=True).stdout)
    return sorted((r["process"], r["release"]) for r in report if r["serving"])


def _containers(app):
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=paas.app={app}"], capture_output=True, text=True)
    return out.stdout.split()


@pytest.mark.parametrize("step", ["build", "release-phase", "start", "health-check", "route-switch"])
def test_kill_9_at_each_deploy_step_then_recover(server, make_app, step):
    source = make_app("python")
    source.push()
    _kill_deploy_at(server, source.app, step)
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    assert _serving(server, source.app) == [("web.1", "v1")]

    server.paas("deploy", source.app, check=True)
    history = {r["version"]: r["status"] for r in json.loads(server.paas("releases", source.app, "--format", "json").stdout)}
    assert history == {"v1": "retired", "v2": "failed", "v3": "live"}
    assert server.get(source.app)[1].startswith("Hello from paas! release=v3")
    assert wait_for(lambda: len(_containers(source.app)) == 1, timeout=40)


def test_a_deploy_interrupted_while_nginx_reloads_puts_the_old_route_back(server, make_app):
    # Ctrl-C after nginx took the new route, before the deploy saw its old workers stop: the
    # new containers go, so the route to them must go first, or the app answers 502.
    source = make_app("python")
    source.push()
    before = server.paas("nginx:show-config", source.app, check=True).stdout
    _kill_deploy_at(server, source.app, "reloading", signal_number=signal.SIGINT)
    assert server.paas("nginx:show-config", source.app, check=True).stdout == before
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    assert _serving(server, source.app) == [("web.1", "v1")]
    assert wait_for(lambda: len(_containers(source.app)) == 1, timeout=40)


def _kill_deploy_at(server, app, step, command="deploy", *more, signal_number=signal.SIGKILL):
    env = {**server.env, "PAAS_FAILPOINTS": step}
    # Python turns SIGINT into KeyboardInterrupt only if it was not ignored when it started
    # (a test run in the background inherits SIG_IGN).
    process = subprocess.Popen([*PAAS, command, app, *more], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in process.stdout:
        lines.append(line)
        if f"failpoint {step} reached" in line:
            break
    assert any(f"failpoint {step} reached" in line for line in lines), "".join(lines)
    if signal_number == signal.SIGKILL:
        os.killpg(process.pid, signal.SIGKILL)
    else:  # a Ctrl-C reaches the command itself; it must finish what it does about it
        os.kill(process.pid, signal_number)
        process.stdout.read()
    process.wait()


def test_recovery_from_a_deploy_killed_after_its_switch_drops_no_request(server, make_app):
    source = make_app("python")
    source.push()
    _kill_deploy_at(server, source.app, "switched")
    # nginx already routes to v2's container, a release that never went live.
    assert server.get(source.app)[1].startswith("Hello from paas! release=v2")
    failures, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            try:
                status, body = server.get(source.app, timeout=5)
                if status != 200:
                    failures.append(status)
            except OSError as exc:
                failures.append(repr(exc))
            stop.wait(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        # The next command recovers: back to v1's route first, then v2's container stops.
        server.paas("ps:restart", source.app, check=True)
    finally:
        stop.set()
        poller.join()
    assert failures == []
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    history = {r["version"]: r["status"] for r in json.loads(server.paas("releases", source.app, "--format", "json").stdout)}
    assert history == {"v1": "live", "v2": "failed"}


def test_a_killed_restart_never_leaves_a_stop_first_worker_running_twice(server, make_app):
    source = deploy_singleton_worker(server, make_app)
    # No retire pending (it would tidy up the leftovers below by chance).
    assert wait_for(lambda: not subprocess.run(["pgrep", "-f", f"paas.retire {source.app}"],
                                               capture_output=True).stdout, timeout=30)
    _kill_deploy_at(server, source.app, "health-check", command="ps:restart")  # its new worker runs on

    def running_workers():
        out = subprocess.run(["docker", "ps", "-q", "--filter", f"label=paas.app={source.app}",
                              "--filter", "label=paas.process=worker"], capture_output=True, text=True)
        return len(out.stdout.split())

    server.paas("ps:restart", source.app, check=True)
    assert running_workers() == 1  # checked before the background retire could tidy up


def _no_retire_pending(app):
    # A background retire would tidy up what the test checks by chance.
    assert wait_for(lambda: not subprocess.run(["pgrep", "-f", f"paas.retire {app}"],
                                               capture_output=True).stdout, timeout=30)


def _docker_ps(app, *filters, all_states=False):
    argv = ["docker", "ps", "-q", *(["-a"] if all_states else []), "--filter", f"label=paas.app={app}"]
    for f in filters:
        argv += ["--filter", f]
    return subprocess.run(argv, capture_output=True, text=True).stdout.split()


def test_a_restart_killed_before_it_let_the_old_containers_go_leaves_one_per_slot(server, make_app):
    source = make_app("python")
    source.push()
    _no_retire_pending(source.app)
    # Killed after the switch: the old and the new web.1 are both recorded as serving.
    _kill_deploy_at(server, source.app, "switched", command="ps:restart")
    assert len(_docker_ps(source.app)) == 2

    server.paas("ps:retire", source.app, check=True)  # the next command on the app puts it right
    assert [r["process"] for r in json.loads(server.paas("ps:report", source.app, "--format", "json").stdout)
            if r["serving"]] == ["web.1"]
    assert wait_for(lambda: len(_docker_ps(source.app)) == 1, timeout=40)
    assert server.get(source.app)[0] == 200


def test_a_deploy_killed_after_stopping_a_stop_first_worker_gets_it_back(server, make_app):
    source = deploy_singleton_worker(server, make_app)
    _no_retire_pending(source.app)
    _kill_deploy_at(server, source.app, "health-check")  # the old worker was stopped and removed

    server.paas("ps:retire", source.app, check=True)
    workers = _docker_ps(source.app, "label=paas.process=worker")
    assert len(workers) == 1  # one, never two
    release = subprocess.run(["docker", "inspect", "-f", '{{index .Config.Labels "paas.release"}}', workers[0]],
                             capture_output=True, text=True).stdout.strip()
    live = [r["version"] for r in json.loads(server.paas("releases", source.app, "--format", "json").stdout)
            if r["status"] == "live"]
    assert [f"v{release}"] == live


def test_a_release_phase_killed_with_its_deploy_is_stopped_by_the_next_command(server, make_app):
    source = make_app("python")
    source.push()
    source.write("Procfile", "web: gunicorn --bind 0.0.0.0:$PORT app:app\nrelease: echo migrating; exec sleep 600\n")
    source.commit("a long release phase")
    source.git("push", "paas", "HEAD:refs/heads/slow")  # stored, not deployed
    process = subprocess.Popen([*PAAS, "deploy", source.app, "slow"], env=server.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.strip() == "migrating":  # the container said it, not the step line
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # The migration runs on.
    assert len(_docker_ps(source.app, "label=paas.role=release")) == 1, "".join(lines)

    server.paas("ps:retire", source.app, check=True)
    assert _docker_ps(source.app, "label=paas.role=release", all_states=True) == []


@pytest.mark.parametrize("old_vhost", ["left", "already removed"])
def test_a_rename_killed_mid_way_serves_under_the_new_name_and_cleanup_retires_the_old(server, make_app, old_vhost):
    source = make_app("python")
    source.push()
    new = f"{source.app}-renamed"
    # Killed while its containers under the new name were being checked: the records have the
    # new name, the old name's containers and route are left.
    _kill_deploy_at(server, source.app, "health-check", "apps:rename", new)
    if old_vhost == "already removed":  # as by a kill while the old name was being retired
        (server.root / "nginx" / "apps" / f"{source.app}.conf").unlink()
    try:
        server.paas("ps:retire", new, check=True)  # the next command under the new name recovers
        assert server.get(new)[1].startswith("Hello from paas! release=v1")
        assert _docker_ps(source.app)  # nothing of the new name's can reach the old one's leftovers

        cleaned = server.paas("cleanup", "--retire", check=True)
        assert f"Removed the route and containers of {source.app}" in cleaned.stdout
        assert server.get(source.app)[0] == 404
        assert _docker_ps(source.app, all_states=True) == []
        assert server.get(new)[0] == 200
    finally:
        server.paas("apps:destroy", new, "--force")


def _formation(server, app):
    return server.paas("ps:scale", app, check=True).stdout.split()


def test_a_scale_up_killed_before_its_containers_serve_leaves_the_old_formation(server, make_app):
    source = make_app("python")
    source.push()
    _kill_deploy_at(server, source.app, "health-check", "ps:scale", "web=3")  # two new web containers run

    server.paas("ps:retire", source.app, check=True)  # the next command puts it right
    assert _formation(server, source.app) == ["web=1"], "a scale that never served is not recorded"
    assert _serving(server, source.app) == [("web.1", "v1")]
    assert wait_for(lambda: len(_docker_ps(source.app)) == 1, timeout=40)
    # The next deploy starts what the formation says: one.
    server.paas("ps:restart", source.app, check=True)
    assert _serving(server, source.app) == [("web.1", "v1")]


def test_a_scale_down_killed_after_its_route_change_lets_the_extra_containers_go(server, make_app):
    source = make_app("python")
    source.push()
    server.paas("ps:scale", source.app, "web=3", check=True)
    _no_retire_pending(source.app)
    _kill_deploy_at(server, source.app, "switched", "ps:scale", "web=1")  # nginx routes to web.1 only

    server.paas("ps:retire", source.app, check=True)
    assert _formation(server, source.app) == ["web=1"]
    assert _serving(server, source.app) == [("web.1", "v1")], "the next command must not route to web.2/3 again"
    assert wait_for(lambda: len(_docker_ps(source.app)) == 1, timeout=40)
    assert server.get(source.app)[0] == 200


def test_the_formation_of_a_release_that_never_went_live_is_not_applied(server, make_app):
    source = make_app("python")
    source.push()
    manifest = json.loads((source.path / "app.json").read_text())
    manifest["formation"] = {"web": {"quantity": 0}}
    source.write("app.json", json.dumps(manifest))
    source.commit("no web process")
    source.git("push", "paas", "HEAD:refs/heads/noweb")  # stored, not deployed
    _kill_deploy_at(server, source.app, "release-phase", "deploy", "noweb")

    server.paas("ps:retire", source.app, check=True)  # recovery after the killed deploy
    assert _formation(server, source.app) == ["web=1"]
    assert _serving(server, source.app) == [("web.1", "v1")]
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    server.paas("ps:restart", source.app, check=True)
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")


def test_a_stop_first_worker_scaled_down_and_up_again_never_runs_twice(server, make_app):
    source = deploy_singleton_worker(server, make_app)
    server.paas("ps:scale", source.app, "worker=0", check=True)  # its worker awaits the retire's drain
    server.paas("ps:scale", source.app, "worker=1", check=True)
    assert len(_docker_ps(source.app, "label=paas.process=worker")) == 1


def test_recovery_removes_a_vhost_a_killed_deploy_left_for_a_release_that_never_went_live(server, make_app):
    source = make_app("python")
    source.write("Procfile", "worker: sh -c 'exec sleep 600'\n")
    source.commit("a worker-only app")
    source.push()
    assert server.get(source.app)[0] == 404  # no web type, no vhost
    source.write("Procfile", "web: gunicorn --bind 0.0.0.0:$PORT app:app\nworker: sh -c 'exec sleep 600'\n")
    source.commit("add a web type")
    source.git("push", "paas", "HEAD:refs/heads/web")  # stored, not deployed
    _kill_deploy_at(server, source.app, "switched", "deploy", "web")
    assert server.get(source.app)[0] == 200  # the killed deploy's vhost routes to its web.1

    server.paas("ps:retire", source.app, check=True)  # recovery: that release never went live
    assert server.get(source.app)[0] == 404
    assert not (server.root / "nginx" / "apps" / f"{source.app}.conf").exists()


def test_a_ps_stop_killed_before_it_stopped_the_containers_is_finished_by_the_next_command(server, make_app):
    source = make_app("python")
    source.push()
    _kill_deploy_at(server, source.app, "stopping", "ps:stop")  # marked stopped, route 503, still running

    server.paas("ps:retire", source.app, check=True)
    assert server.get(source.app)[0] == 503
    assert _serving(server, source.app) == []
    assert wait_for(lambda: _docker_ps(source.app) == [], timeout=40)
    assert "stays so" in server.paas("ps:restore", source.app, check=True).stdout
    server.paas("ps:start", source.app, check=True)
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")


def test_kill_9_of_the_background_retire_is_reaped_by_ps_retire(server, make_app):
    source = make_app("python")
    source.push()
    env = {**server.env, "PAAS_FAILPOINTS": "retire"}
    subprocess.run([*PAAS, "ps:restart", source.app], env=env, check=True, capture_output=True)
    # The retire process waits at its failpoint: kill it.
    found = wait_for(lambda: subprocess.run(["pgrep", "-f", f"paas.retire {source.app}"], capture_output=True,
                                            text=True).stdout.split(), timeout=10)
    for pid in found:
        os.kill(int(pid), signal.SIGKILL)
    assert len(_containers(source.app)) == 2
    retired = server.paas("ps:retire", source.app, check=True)
    assert "Retired 1 container(s)" in retired.stdout
    assert len(_containers(source.app)) == 1 and server.get(source.app)[0] == 200


def test_hostile_repos_are_refused_with_clear_messages(server, make_app, tmp_path):
    source = make_app("python")
    source.push()
    cases = []
    os.symlink("/etc/passwd", source.path / "leak")
    cases.append(("symlink", "the symlink 'leak' points outside the repo"))
    source.commit("symlink out")
    result = source.push(check=False)
    assert result.returncode != 0 and cases[-1][1] in result.stderr
    (source.path / "leak").unlink()

    source.write("Procfile", "web: gunicorn app:app\n" * 10_000)
    source.commit("huge procfile")
    result = source.push(check=False)
    assert result.returncode != 0 and "Procfile has 10000 lines; at most 1000" in result.stderr
    source.git("checkout", "HEAD~2", "--", "Procfile")

    source.write("app.json", "{not json")
    source.commit("bad app.json")
    result = source.push(check=False)
    assert result.returncode != 0 and "app.json is not valid JSON" in result.stderr
    (source.path / "app.json").unlink()

    with open(source.path / "big.bin", "wb") as handle:
        handle.truncate(300 * 2**20)
    source.commit("a 300 MiB file")
    result = source.push(check=False)
    assert result.returncode != 0 and "big.bin is 300 MiB" in result.stderr

    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    statuses = [r["status"] for r in json.loads(server.paas("releases", source.app, "--format", "json").stdout)]
    assert statuses == ["failed", "failed", "failed", "failed", "live"]


def test_a_dockerfile_cannot_read_another_apps_image(server, make_app):
    victim = make_app("python")
    victim.push()
    thief = make_app("dockerfile")
    dockerfile = (thief.path / "Dockerfile").read_text()
    for line in (f"COPY --from=paas/{victim.app}:v1 /app /srv/stolen",
                 f"ARG BASE=paas/{victim.app}:v1\nFROM $BASE"):
        text = dockerfile.replace("USER app", f"{line}\nUSER app") if line.startswith("COPY") else \
            f"{line}\n" + dockerfile.split("\n", 3)[3]
        thief.write("Dockerfile", text)
        thief.commit("read the other app's image")
        result = thief.push(check=False)
        assert result.returncode != 0, text
        assert f"the Dockerfile reads paas/{victim.app}:v1, an image of another app" in result.stderr
    statuses = [r["status"] for r in json.loads(server.paas("releases", thief.app, "--format", "json").stdout)]
    assert statuses == ["failed", "failed"]


def test_a_full_build_disk_fails_cleanly(server, make_app):
    source = make_app("python")
    source.push()
    builds = server.root / "builds"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(builds)], check=True)
    try:
        with open(source.path / "data.bin", "wb") as handle:
            handle.write(os.urandom(3 * 2**20))
        source.commit("3 MiB of data")
        result = source.push(check=False)
    finally:
        subprocess.run(["umount", str(builds)], check=True)
    assert result.returncode != 0
    assert "no space left on the device" in result.stderr
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    statuses = [r["status"] for r in json.loads(server.paas("releases", source.app, "--format", "json").stdout)]
    assert statuses == ["failed", "live"]
    source.push()  # with space again, the same commit deploys
    assert server.get(source.app)[1].startswith("Hello from paas! release=v3")


def test_five_apps_deploy_at_once(server, make_app):
    sources = [make_app("python") for _ in range(5)]
    results = {}

    def push(source):
        results[source.app] = source.push(check=False)

    threads = [threading.Thread(target=push, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for source in sources:
        assert results[source.app].returncode == 0, results[source.app].stderr[-2000:]
        assert server.get(source.app)[1].startswith("Hello from paas! release=v1")


def test_a_run_whose_command_was_killed_is_removed_by_the_next_run_or_retire(server, make_app):
    source = make_app("python")
    source.push()

    def one_offs():
        out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=paas.app={source.app}",
                              "--filter", "label=paas.role=run"], capture_output=True, text=True)
        return out.stdout.split()

    def kill_a_run():
        running = subprocess.Popen([*PAAS, "run", source.app, "--", "sleep", "300"], env=server.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            assert wait_for(lambda: len(one_offs()) == 1, timeout=60)
        finally:
            os.killpg(running.pid, signal.SIGKILL)  # no `finally` of its own runs: the container stays
            running.wait()
        assert len(one_offs()) == 1

    kill_a_run()
    assert server.paas("run", source.app, "--", "true", check=True).returncode == 0
    assert one_offs() == []
    kill_a_run()
    server.paas("ps:retire", source.app, check=True)
    assert one_offs() == []
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")  # the app itself serves on


def test_a_config_set_killed_before_its_release_went_live_is_undone(server, make_app):
    source = make_app("python")
    source.push()
    server.paas("config:set", source.app, "FLAVOUR=mint", check=True)
    _kill_deploy_at(server, source.app, "health-check", "config:set", "FLAVOUR=crashes-the-app")
    assert server.get(source.app)[1].startswith("Hello from paas! release=v2")  # v2: mint
    # The next command on the app puts the value back before anything else: what runs next
    # is what last went live, never a value that did not pass its checks.
    server.paas("ps:restart", source.app, check=True)
    assert server.paas("config:get", source.app, "FLAVOUR", check=True).stdout.strip() == "mint"
    seen = server.paas("run", source.app, "--", "sh", "-c", 'echo "$FLAVOUR"', check=True)
    assert seen.stdout.strip() == "mint"

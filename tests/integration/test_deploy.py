"""Deploys through real git push over ssh, real dockerd and real nginx."""

from __future__ import annotations

import contextlib
import json

import pytest

from tests.integration.conftest import deploy_singleton_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("python")]


def releases(server, app):
    return json.loads(server.paas("releases", app, "--format", "json", check=True).stdout)


def test_push_builds_and_serves_then_config_scale_rollback(server, make_app):
    source = make_app("python")
    pushed = source.push()
    assert "python buildpack detected" in pushed.stderr
    assert f"{source.app} v1 is live" in pushed.stderr
    status, body = server.get(source.app)
    assert status == 200 and body.startswith("Hello from paas! release=v1 process=web.1")

    # A config change is a new release, visible in the app.
    server.paas("config:set", source.app, "GREETING=Bonjour tout le monde", check=True)
    status, body = server.get(source.app)
    assert body.startswith("Bonjour tout le monde! release=v2")

    # Code change: v3.
    source.write("app.py", (source.path / "app.py").read_text().replace("Hello from paas", "Hello again"))
    source.commit("new greeting default")
    server.paas("config:unset", source.app, "GREETING", check=True)  # v3
    source.push()  # v4
    assert server.get(source.app)[1].startswith("Hello again! release=v4")

    # Scale up: three containers answer; scale down again.
    server.paas("ps:scale", source.app, "web=3", check=True)
    seen = set()
    for _ in range(30):
        seen.add(server.get(source.app)[1].split("process=")[1].strip())
    assert seen == {"web.1", "web.2", "web.3"}
    report = json.loads(server.paas("ps:report", source.app, "--format", "json", check=True).stdout)
    assert sorted(r["process"] for r in report if r["serving"]) == ["web.1", "web.2", "web.3"]
    server.paas("ps:scale", source.app, "web=1", check=True)
    assert {server.get(source.app)[1].split("process=")[1].strip() for _ in range(10)} == {"web.1"}

    # Rollback to v2 restores the old code and the old config.
    server.paas("releases:rollback", source.app, "v2", check=True)
    status, body = server.get(source.app)
    assert body.startswith("Bonjour tout le monde! release=v5")
    history = releases(server, source.app)
    assert history[0]["version"] == "v5" and history[0]["status"] == "live"
    assert history[0]["description"] == "Rollback to v2"
    # The app's config is v2's again, so a restart keeps it.
    assert server.paas("config:get", source.app, "GREETING", check=True).stdout == "Bonjour tout le monde\n"
    server.paas("ps:restart", source.app, check=True)
    assert server.get(source.app)[1].startswith("Bonjour tout le monde! release=v5")


def test_failing_health_check_keeps_old_release_serving(server, make_app):
    source = make_app("python")
    source.push()
    source.write("app.py", (source.path / "app.py").read_text().replace('return "ok\\n"', 'return "broken\\n", 500'))
    source.commit("break health")
    result = source.push(check=False)
    assert result.returncode != 0
    assert "failed its checks" in result.stderr
    assert "answered 500" in result.stderr
    assert "[remote rejected]" in result.stderr
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    history = releases(server, source.app)
    assert [(r["version"], r["status"]) for r in history] == [("v2", "failed"), ("v1", "live")]
    # The rejected push did not move the ref: pushing again re-runs the deploy.
    assert source.git("ls-remote", "paas", "main").stdout.split()[0] != source.git("rev-parse", "HEAD").stdout.strip()


def test_crash_on_boot_and_failing_release_phase_change_nothing(server, make_app):
    source = make_app("python")
    source.push()
    source.write("Procfile", "web: python -c 'import sys; print(\"boom\"); sys.exit(3)'\n")
    source.commit("crash on boot")
    crashed = source.push(check=False)
    assert crashed.returncode != 0 and "boom" in crashed.stderr
    source.write("Procfile", "web: gunicorn --bind 0.0.0.0:$PORT app:app\nrelease: echo migrating && exit 4\n")
    source.commit("failing release phase")
    failed = source.push(check=False)
    assert failed.returncode != 0
    assert "migrating" in failed.stderr and "release command exited with 4" in failed.stderr
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    containers = json.loads(server.paas("ps:report", source.app, "--format", "json").stdout)
    assert [c["release"] for c in containers if c["serving"]] == ["v1"]

    # A config value that crashes the app is refused the same way, and not kept.
    bad = server.paas("config:set", source.app, "GREETING=kept", "GUNICORN_CMD_ARGS=--workers=many")
    assert bad.returncode != 0 and "failed its checks" in bad.stderr
    assert "the config change was undone" in bad.stdout
    assert json.loads(server.paas("config:show", source.app, "--format", "json", check=True).stdout) == {}
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")


def test_predeploy_and_postdeploy_run_once_per_release(server, make_app):
    source = make_app("python")
    manifest = json.loads((source.path / "app.json").read_text())
    manifest["scripts"] = {"dokku": {"predeploy": "echo pre-$PAAS_RELEASE", "postdeploy": "echo post-$PAAS_RELEASE"}}
    manifest["formation"] = {"wroker": {"quantity": 1}}  # a typo: no such type in the Procfile
    source.write("app.json", json.dumps(manifest))
    source.commit("deploy scripts")
    pushed = source.push()
    assert "pre-v1" in pushed.stderr and "post-v1" in pushed.stderr
    assert "app.json names process type 'wroker', which the Procfile does not have: ignored" in pushed.stderr
    assert pushed.stderr.index("pre-v1") < pushed.stderr.index("is live") < pushed.stderr.index("post-v1")
    restarted = server.paas("ps:restart", source.app, check=True)  # the same release: neither runs
    assert "Running predeploy" not in restarted.stdout and "Running postdeploy" not in restarted.stdout
    # A failing predeploy rejects the push before anything starts.
    manifest["scripts"]["dokku"]["predeploy"] = "echo no migrations today; exit 3"
    source.write("app.json", json.dumps(manifest))
    source.commit("failing predeploy")
    failed = source.push(check=False)
    assert failed.returncode != 0 and "predeploy command exited with 3" in failed.stderr
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")


def test_other_branches_are_stored_not_deployed_and_destroy_removes_everything(server, make_app):
    source = make_app("python")
    source.git("checkout", "-q", "-b", "feature")
    stored = source.push("feature")
    assert "not the deploy branch" in stored.stderr
    assert releases(server, source.app) == []
    source.push("feature:main")
    assert server.get(source.app)[0] == 200
    deleted = source.push(":feature")  # any other branch may go
    assert "not the deploy branch" in deleted.stderr
    refused = source.push(":main", check=False)  # the one ps:rebuild builds from may not
    assert refused.returncode != 0 and "is the deploy branch" in refused.stderr
    assert "refs/heads/main" in source.git("ls-remote", "paas").stdout
    destroyed = server.paas("apps:destroy", source.app, "--force", check=True)
    assert f"Destroyed {source.app}" in destroyed.stdout
    assert server.get(source.app)[0] == 404
    assert not (server.root / "repos" / f"{source.app}.git").exists()
    import subprocess

    left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=paas.app={source.app}"],
                          capture_output=True, text=True).stdout.split()
    images = subprocess.run(["docker", "images", "-q", f"paas/{source.app}"], capture_output=True, text=True).stdout.split()
    assert left == [] and images == []


def test_a_push_to_master_deploys_rebuilds_and_clones_from_master(server, make_app, tmp_path):
    # The deploy branch left at main: an app whose repo only has master deploys that.
    source = make_app("python")
    source.git("branch", "-m", "main", "master")
    pushed = source.push("master")
    assert f"{source.app} v1 is live" in pushed.stderr
    rebuilt = server.paas("ps:rebuild", source.app, check=True)
    assert f"{source.app} v2 is live" in rebuilt.stdout
    report = json.loads(server.paas("git:report", source.app, "--format", "json", check=True).stdout)
    assert report["branch_head"] == source.git("rev-parse", "HEAD").stdout.strip()
    clone = tmp_path / "clone"
    source.git("clone", "-q", source.git("remote", "get-url", "paas").stdout.strip(), str(clone))
    assert (clone / "app.py").exists()


HOLD_IMAGE_STORE = """
import time
from paas import locks
with locks.image_store(removing=False):
    print("held", flush=True)
    time.sleep(3600)
"""


def test_a_destroy_during_another_apps_build_leaves_its_images_to_the_next_cleanup(server, make_app):
    import subprocess
    import sys

    source = make_app("python")
    source.push()
    build = subprocess.Popen([sys.executable, "-c", HOLD_IMAGE_STORE], env=server.env, stdout=subprocess.PIPE,
                             text=True)  # a long build of another app
    try:
        assert build.stdout.readline().strip() == "held"
        # Returns while the build still holds the store (the bounded wait is 10 s).
        destroyed = server.paas("apps:destroy", source.app, "--force", check=True, timeout=120)
        assert "go at the next `paas cleanup`" in destroyed.stdout + destroyed.stderr
        assert server.paas("apps:report", source.app).returncode != 0  # everything else is gone
    finally:
        build.kill()
        build.wait()

    def image_tags():
        out = subprocess.run(["docker", "images", "--format", "{{.Tag}}", f"paas/{source.app}"],
                             capture_output=True, text=True, check=True)
        return out.stdout.split()

    assert image_tags() == ["v1"]
    cleaned = server.paas("cleanup", "--format", "json", check=True)
    assert json.loads(cleaned.stdout)["images"].get(source.app) == [f"paas/{source.app}:v1"]
    assert image_tags() == []


def test_an_app_named_stack_never_counts_the_stack_image_as_its_own(server):  # server: the stack exists
    from paas import names
    from paas.runtime import docker_api

    assert docker_api.image_exists(names.STACK_IMAGE)
    assert names.STACK_IMAGE not in [tag for tag, _ in docker_api.app_images("stack")]


def test_old_containers_are_retired_after_a_deploy(server, make_app):
    source = make_app("python")
    source.push()
    server.paas("checks:set", source.app, "wait-to-retire", "0", check=True)
    server.paas("ps:restart", source.app, check=True)

    def only_serving_left():
        report = json.loads(server.paas("ps:report", source.app, "--format", "json").stdout)
        return len(report) == 1 and report[0]["serving"]

    assert wait_for(only_serving_left, timeout=30)


def test_logs_merge_containers_and_follow_across_a_redeploy(server, make_app):
    import subprocess
    import time

    from tests.integration.conftest import PAAS

    source = make_app("python")
    source.push()
    server.paas("ps:scale", source.app, "web=2", check=True)
    for seq in range(8):  # round robin: the lines alternate between web.1 and web.2
        server.get(source.app, f"/?from-logs-test={seq}")
        # gunicorn logs a request after it has answered it: without a pause, the next request's
        # line (the other container) can reach Docker first, and the time order is really 6, 5.
        time.sleep(0.05)
    shown = server.paas("logs", source.app, "-n", "50", check=True).stdout
    assert "web.1 |" in shown and "web.2 |" in shown
    order = [int(line.split("from-logs-test=")[1].split()[0]) for line in shown.splitlines() if "from-logs-test=" in line]
    assert order == list(range(8)), "history is merged in time order across containers"
    last = server.paas("logs", source.app, "-n", "3", check=True).stdout.splitlines()
    assert len(last) == 3 and "from-logs-test=7" in last[-1], "-n counts lines of all containers together"

    follower = subprocess.Popen([*PAAS, "logs", source.app, "-t", "-n", "0"], env=server.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1)
        server.paas("ps:restart", source.app, check=True)  # new containers: the follower must pick them up
        time.sleep(2)
        for _ in range(6):
            server.get(source.app, "/?after-restart")
        time.sleep(2)
    finally:
        follower.terminate()
        output = follower.communicate(timeout=10)[0]
    assert "GET /?after-restart" in output


def test_a_failed_scale_keeps_the_live_release_live(server, make_app):
    source = make_app("python")
    # It dies half a second after starting: within a worker's default settle time (1 s).
    source.write("Procfile", "web: gunicorn --bind 0.0.0.0:$PORT app:app\n"
                             "worker: sh -c 'echo worker crashing; sleep 0.5; exit 1'\nrelease: echo migrated\n")
    source.commit("a worker that crashes")
    source.push()
    refused = server.paas("ps:scale", source.app, "release=1")
    assert refused.returncode == 2 and "runs once per deploy" in refused.stderr
    scaled = server.paas("ps:scale", source.app, "worker=1")
    assert scaled.returncode != 0 and "worker crashing" in scaled.stderr
    history = releases(server, source.app)
    assert [(r["version"], r["status"]) for r in history] == [("v1", "live")]
    assert server.get(source.app)[0] == 200
    # The failed scale was not recorded, so the next release does not repeat it.
    assert server.paas("ps:scale", source.app).stdout.strip() == "web=1 worker=0"
    server.paas("config:set", source.app, "A=1", check=True)
    assert releases(server, source.app)[0]["status"] == "live"


def test_force_push_of_an_older_commit_deploys_it_and_images_are_pruned(server, make_app):
    import subprocess

    from tests.integration.conftest import wait_for

    source = make_app("python")
    source.push()
    for greeting in ("Two", "Three"):
        source.write("app.py", (source.path / "app.py").read_text().replace("Hello from paas", greeting)
                     .replace("Two", greeting))
        source.commit(greeting)
        source.push()
    assert server.get(source.app)[1].startswith("Three! release=v3")
    source.git("push", "--force", "paas", "HEAD~2:main")
    assert server.get(source.app)[1].startswith("Hello from paas! release=v4")

    # PAAS_KEEP_RELEASES=2: after the next deploy's retire, only the newest two good images stay.
    server.paas("checks:set", source.app, "wait-to-retire", "0", check=True)
    env_keep = {**server.env, "PAAS_KEEP_RELEASES": "2"}
    from tests.integration.conftest import PAAS

    subprocess.run([*PAAS, "ps:restart", source.app], env=env_keep, check=True, capture_output=True)

    def tags():
        out = subprocess.run(["docker", "images", "--format", "{{.Tag}}", f"paas/{source.app}"], capture_output=True, text=True)
        return sorted(out.stdout.split())

    assert wait_for(lambda: tags() == ["v3", "v4"], timeout=30), tags()
    refused = server.paas("releases:rollback", source.app, "v1")
    assert refused.returncode != 0 and "was cleaned up" in refused.stderr


def test_deploy_an_existing_image_and_limit_resources(server, make_app):
    import subprocess

    source = make_app("python")
    source.push()
    other = f"{source.app}-img"
    server.paas("apps:create", other, check=True)
    server.paas("resource:limit", other, "--memory", "256m", "--cpus", "0.5", check=True)
    server.paas("deploy", other, "--image", f"paas/{source.app}:v1", check=True)
    try:
        assert server.get(other)[1].startswith("Hello from paas! release=v1")
        ids = subprocess.run(["docker", "ps", "-q", "--filter", f"label=paas.app={other}"], capture_output=True, text=True).stdout.split()
        limits = subprocess.run(["docker", "inspect", "--format", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", *ids],
                                capture_output=True, text=True).stdout.split()
        assert limits == [str(256 * 2**20), str(500_000_000)]
    finally:
        server.paas("apps:destroy", other, "--force")


def test_dockerignore_is_honoured_and_run_sees_the_release_config(server, make_app):
    source = make_app("python")
    source.write(".dockerignore", "secret.txt\n")
    source.write("secret.txt", "do not ship\n")
    source.commit("ignore a file")
    source.push()
    # DOCKER_HOST is the app's own business: it must not steer the docker client that runs it.
    server.paas("config:set", source.app, "GREETING=from run", "DOCKER_HOST=tcp://127.0.0.1:9", check=True)
    listing = server.paas("run", source.app, "--", "sh", "-c", "ls /app; echo \"$GREETING\"; id -un", check=True)
    files = listing.stdout.split()
    assert "app.py" in files and "secret.txt" not in files
    assert "from run" in listing.stdout and listing.stdout.strip().endswith("app")
    failed = server.paas("run", source.app, "--", "sh", "-c", "exit 9")
    assert failed.returncode == 9
    # -e after APP, as the help writes it, and before it; the command keeps its own options.
    both = server.paas("run", "-e", "A=1", source.app, "-e", "B=2", "--env=C=3", "--", "sh", "-c",
                       'echo "$A$B$C$GREETING"', check=True)
    assert both.stdout.strip() == "123from run"
    own = server.paas("run", source.app, "sh", "-c", "echo $0", "-e", check=True)
    assert own.stdout.strip() == "-e"
    # --no-restart: the running release keeps its config until ps:restart releases the change.
    server.paas("config:set", source.app, "--no-restart", "LATER=yes", check=True)
    assert server.paas("run", source.app, "--", "sh", "-c", 'echo "[$LATER]"', check=True).stdout.strip() == "[]"
    restarted = server.paas("ps:restart", source.app, check=True)
    assert "with the config changed since v" in restarted.stdout and ": LATER" in restarted.stdout
    assert server.paas("run", source.app, "--", "sh", "-c", 'echo "[$LATER]"', check=True).stdout.strip() == "[yes]"
    # The largest value paas takes still fits the kernel's 128 KiB for one environment string.
    from paas import names

    server.paas("config:set", source.app, "BIG=@-", input="x" * names.MAX_CONFIG_VALUE, check=True)
    length = server.paas("run", source.app, "--", "sh", "-c", 'echo "${#BIG}"', check=True)
    assert length.stdout.strip() == str(names.MAX_CONFIG_VALUE)


def serving_by_process(server, app):
    report = json.loads(server.paas("ps:report", app, "--format", "json", check=True).stdout)
    return {r["process"]: r for r in report if r["serving"]}


def test_workers_restart_enter_stop_start_and_a_failed_stop_first_deploy(server, make_app):
    source = deploy_singleton_worker(server, make_app)
    before = serving_by_process(server, source.app)
    assert sorted(before) == ["web.1", "worker.1"]
    assert before["web.1"]["health"] == "healthy" and before["worker.1"]["health"] == "healthy"

    # ps:restart replaces every container; ps:restart APP TYPE only that type's.
    server.paas("ps:restart", source.app, check=True)
    after = serving_by_process(server, source.app)
    assert sorted(after) == ["web.1", "worker.1"]
    assert {r["container"] for r in after.values()}.isdisjoint({r["container"] for r in before.values()})
    server.paas("ps:restart", source.app, "worker", check=True)
    again = serving_by_process(server, source.app)
    assert again["web.1"]["container"] == after["web.1"]["container"]
    assert again["worker.1"]["container"] != after["worker.1"]["container"]
    unknown = server.paas("ps:restart", source.app, "clock")
    assert unknown.returncode != 0 and "has no process type clock" in unknown.stderr

    entered = server.paas("enter", source.app, "web.1", "id", "-un", check=True)
    assert entered.stdout.strip() == "app"

    # A deploy whose stop-first worker crashes is rejected, and the old worker runs again.
    source.write("Procfile", "web: gunicorn --bind 0.0.0.0:$PORT app:app\nworker: sh -c 'exit 4'\n")
    source.commit("crashing worker")
    failed = source.push(check=False)
    assert failed.returncode != 0 and "worker.1" in failed.stderr
    back = serving_by_process(server, source.app)
    assert sorted(back) == ["web.1", "worker.1"]
    assert back["worker.1"]["release"] == "v1" and back["worker.1"]["state"] == "running"
    assert back["web.1"]["container"] == again["web.1"]["container"]
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")

    server.paas("ps:stop", source.app, check=True)
    assert server.get(source.app)[0] == 503
    # A stopped app stays stopped through ps:restore (what a reboot runs) until ps:start.
    restored = server.paas("ps:restore", source.app, check=True)
    assert "stopped with ps:stop and stays so" in restored.stdout
    assert server.get(source.app)[0] == 503 and serving_by_process(server, source.app) == {}
    # A scale while stopped is recorded for ps:start; restarting one type starts only that one.
    scaled = server.paas("ps:scale", source.app, "web=2", check=True)
    assert "the formation applies at ps:start" in scaled.stderr + scaled.stdout
    assert serving_by_process(server, source.app) == {}
    refused = server.paas("ps:restart", source.app, "worker")
    assert refused.returncode == 2 and "is stopped" in refused.stderr
    assert "stays so" in server.paas("ps:restore", source.app, check=True).stdout
    assert serving_by_process(server, source.app) == {} and server.get(source.app)[0] == 503
    server.paas("ps:start", source.app, check=True)
    assert server.get(source.app)[0] == 200
    server.paas("ps:restore", source.app, check=True)
    assert sorted(serving_by_process(server, source.app)) == ["web.1", "web.2", "worker.1"]


def test_web_zero_answers_503_until_scaled_back(server, make_app):
    source = make_app("python")
    source.push()
    server.paas("ps:scale", source.app, "web=0", check=True)
    # As on Heroku: the app's own 503 page, and its hostname stays routed to it.
    assert server.get(source.app)[0] == 503
    assert (server.root / "nginx" / "apps" / f"{source.app}.conf").exists()
    server.paas("ps:restart", source.app, check=True)  # a restart keeps web at zero
    assert server.get(source.app)[0] == 503
    server.paas("ps:scale", source.app, "web=1", check=True)
    assert server.get(source.app)[0] == 200


def test_custom_domains_up_to_the_longest_hostname_are_routed_and_removed(server, make_app):
    import http.client

    def get(host):
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
        conn.request("GET", "/", headers={"Host": host})
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        return response.status, body

    source = make_app("python")
    source.push()
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 56, "test"])  # 253 characters
    assert len(longest) == 253
    for host in (longest, "www.example.test"):
        server.paas("domains:add", source.app, host, check=True)
        status, body = get(host)
        assert status == 200 and body.startswith("Hello from paas!")
    server.paas("domains:remove", source.app, longest, check=True)
    assert get(longest)[0] == 404
    assert get("www.example.test")[0] == 200


def test_apps_built_from_the_same_tree_keep_their_own_images(server, make_app):
    import subprocess

    first, second = make_app("python"), make_app("python")
    first.push()
    second.push()  # the same tree: Docker gives both tags one image
    server.paas("apps:destroy", first.app, "--force", check=True)
    tags = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"paas/{second.app}"],
                          capture_output=True, text=True).stdout.split()
    assert tags == [f"paas/{second.app}:v1"]
    server.paas("ps:restart", second.app, check=True)
    assert server.get(second.app)[0] == 200


def test_builds_work_on_another_stack_image(server, make_app):
    import subprocess

    subprocess.run(["docker", "tag", "paas/stack:bookworm", "paas-test/other-stack:1"], check=True)
    server.paas("stack:set", "paas-test/other-stack:1", check=True)
    try:
        listed = json.loads(server.paas("stack:list", "--format", "json", check=True).stdout)
        assert {"image": "paas-test/other-stack:1", "present": True, "in_use": True} in listed
        source = make_app("python")
        source.push()
        assert server.get(source.app)[0] == 200
        refused = server.paas("stack:set", "paas-test/missing:1")
        assert refused.returncode == 3 and "paas-test/missing:1 is not on this host" in refused.stderr
        listed = json.loads(server.paas("stack:list", "--format", "json", check=True).stdout)
        assert {"image": "paas-test/other-stack:1", "present": True, "in_use": True} in listed
        # Removed after it was set: the next build says so, and the app keeps serving.
        subprocess.run(["docker", "rmi", "paas-test/other-stack:1"], check=True, capture_output=True)
        source.commit("again")
        missing = source.push(check=False)
        assert missing.returncode != 0 and "paas-test/other-stack:1 is not on this host" in missing.stderr
        assert server.get(source.app)[0] == 200
    finally:
        server.paas("stack:set", "--reset", check=True)
        subprocess.run(["docker", "rmi", "paas-test/other-stack:1"], capture_output=True)


def test_rename_a_running_app(server, make_app):
    source = make_app("python")
    source.push()
    new = f"{source.app}-renamed"
    server.paas("apps:rename", source.app, new, check=True)
    try:
        assert server.get(new)[1].startswith("Hello from paas! release=v1")
        assert server.get(source.app)[0] == 404
        assert releases(server, new)[0]["image"] == f"paas/{new}:v1"
    finally:
        server.paas("apps:destroy", new, "--force")


def test_a_rename_whose_start_fails_is_undone(server, make_app):
    import subprocess

    source = make_app("python")
    # This app's health check fails under any name ending in -broken.
    source.write("app.py", (source.path / "app.py").read_text().replace(
        'def health():\n    return "ok\\n"',
        'def health():\n    if os.environ["PAAS_APP"].endswith("-broken"):\n        return "no\\n", 500\n    return "ok\\n"'))
    source.commit("name-dependent health")
    source.push()
    before = releases(server, source.app)
    serving = {k: r["container"] for k, r in serving_by_process(server, source.app).items()}
    taken = f"{source.app}-taken"
    server.paas("apps:create", taken, check=True)
    try:
        refused = server.paas("apps:rename", source.app, taken)
        assert refused.returncode != 0 and f"app '{taken}' already exists" in refused.stderr
        after = {k: r["container"] for k, r in serving_by_process(server, source.app).items()}
        assert after == serving  # nothing was stopped or moved
    finally:
        server.paas("apps:destroy", taken, "--force", check=True)
    broken = f"{source.app}-broken"
    result = server.paas("apps:rename", source.app, broken)
    assert result.returncode != 0 and "failed its checks" in result.stderr
    assert "the rename was undone" in result.stdout
    assert server.get(source.app)[1].startswith("Hello from paas! release=v1")
    assert server.get(broken)[0] == 404
    assert releases(server, source.app) == before
    tags = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"paas/{broken}"],
                          capture_output=True, text=True).stdout.split()
    assert tags == []
    assert wait_for(lambda: not subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=paas.app={broken}"], capture_output=True, text=True).stdout.strip())
    source.commit("still pushable under the old name")
    assert source.push().returncode == 0


PROBE = """
import socket, sys
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return "open"
    except OSError as exc:
        return type(exc).__name__
own = socket.socket(); own.bind((socket.gethostbyname(socket.gethostname()), 0)); own.listen()
print("own", reach(own.getsockname()[0], own.getsockname()[1]))
print("other", reach(sys.argv[1], int(sys.argv[2])))
"""


def test_an_app_cannot_reach_another_apps_containers(server, make_app):
    first, second = make_app("python"), make_app("python")
    first.push()
    second.push()
    address, port = serving_by_process(server, second.app)["web.1"]["address"].split(":")
    assert server.get(second.app)[0] == 200  # nginx, on the host, reaches it
    probe = server.paas("run", first.app, "--", "python3", "-c", PROBE, address, port, check=True).stdout
    # The probe itself can see an open port (its own); the other app's port it cannot reach.
    assert "own open" in probe
    assert "other open" not in probe and "other " in probe


@pytest.mark.serial  # any retire running beside it would remove the empty network it just made
def test_the_shared_network_of_older_versions_goes_once_empty():
    from paas import names
    from paas.runtime import docker_api, network

    client = docker_api.client()

    def legacy_networks():  # the name filter also matches longer names such as paas-apps
        return [n for n in client.networks.list(names=[names.LEGACY_NETWORK]) if n.name == names.LEGACY_NETWORK]

    network.remove_legacy()  # left empty on this host by an older paas
    client.networks.create(names.LEGACY_NETWORK, labels={names.LABEL_ROLE: "network"}, check_duplicate=True)
    holder = client.containers.run(names.STACK_IMAGE, ["sleep", "60"], detach=True, init=True,
                                   network=names.LEGACY_NETWORK)
    try:
        holder.reload()
        assert docker_api._address(holder.attrs)  # an old container's address is still read
        assert network.remove_legacy() is False  # in use: kept
        holder.stop(timeout=0)
        assert network.remove_legacy() is False  # an exited container could never start again without it
        holder.remove(force=True)
        assert network.remove_legacy() is True
        assert legacy_networks() == []
    finally:
        with contextlib.suppress(Exception):
            holder.remove(force=True)
        for leftover in legacy_networks():
            leftover.remove()


def test_a_container_whose_address_was_just_taken_picks_another(monkeypatch):
    import secrets

    from paas import names
    from paas.runtime import docker_api, network

    def start(label):
        return docker_api.run_container(name=f"paas-test-address-{label}-{secrets.token_hex(3)}", image=names.STACK_IMAGE,
                                        command=["sleep", "60"], env={}, labels={"paas.test": "address"},
                                        restart_policy="no")

    holder = start("holder")
    started = []
    try:
        # As if another command had picked the same address a moment before: hand it out once.
        real, handed = network.pick_address, []

        def pick_taken_once(*args):
            if handed:
                return real(*args)
            handed.append(holder.address)
            return holder.address

        monkeypatch.setattr(network, "pick_address", pick_taken_once)
        started.append(start("second"))
        assert handed == [holder.address]
        assert started[0].address and started[0].address != holder.address
        assert not [c for c in docker_api.client().containers.list(all=True, filters={"label": "paas.test=address"})
                    if c.id not in {holder.id, started[0].id}]  # the refused container was removed
    finally:
        for container in [holder, *started]:
            with contextlib.suppress(Exception):
                docker_api.client().containers.get(container.id).remove(force=True)

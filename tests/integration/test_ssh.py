"""The SSH door for real: OpenSSH's sshd with forced commands, real `ssh` and `git push`, and the
laptop client (paramiko) against the same sshd, including exit codes, streaming, stdin,
Ctrl-C and an interactive `run` on a pty.

The python example is deployed three times in this module: once for a shared app (module
fixture `deployed`), twice by the simultaneous-push test.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.conftest import EXAMPLES, REPO, Source, free_port, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("ssh")]


# Helpers ---------------------------------------------------------------------------------


def keygen(path: Path, comment: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


def git(path: Path, server, *args: str, key: Path | None = None, check: bool = True, timeout: float = 300):
    env = {**os.environ, "GIT_SSH_COMMAND": server.ssh_command(key), "GIT_TERMINAL_PROMPT": "0"}
    result = subprocess.run(["git", *args], cwd=path, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def commit(path: Path, server, message: str) -> str:
    git(path, server, "add", "-A")
    git(path, server, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", message, "--allow-empty")
    return git(path, server, "rev-parse", "HEAD").stdout.strip()


def remote_ref(server, app: str, ref: str) -> str | None:
    """What the server's bare repo says, read directly (not through any key's access)."""
    repo = server.root / "repos" / f"{app}.git"
    result = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "--verify", "-q", ref],
                            capture_output=True, text=True)
    return result.stdout.strip() or None


def admin_key(server) -> Path:
    return server.root / "ssh" / "client_ed25519"


def laptop_env(server, laptop_root: Path, key: Path | None = None, known_hosts: Path | None = None,
               **extra: str) -> dict[str, str]:
    """A laptop: no PAAS_LOCAL, a PAAS_ROOT that is not the server's (proof the command went remote)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
    env.update(
        PAAS_ROOT=str(laptop_root), PAAS_SSH_KEY=str(key or admin_key(server)),
        PAAS_KNOWN_HOSTS=str(known_hosts or server.root / "ssh" / "known_hosts"),
        NO_COLOR="1", COLUMNS="80", PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def paas_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "paas", *args]


def run_containers(app: str) -> list[str]:
    result = subprocess.run(["docker", "ps", "-q", "--filter", f"label=paas.app={app}", "--filter", "label=paas.role=run"],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.split()


def remote_sessions(marker: str) -> list[int]:
    """Server-side processes of SSH sessions whose command contains marker (by their environment)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(b"SSH_ORIGINAL_COMMAND=") and marker.encode() in item:
                found.append(int(pid))
    return found


# Fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(server, tmp_path_factory) -> Source:
    """The python example, pushed once by the admin key and live; shared by this module."""
    name = f"ssh-{uuid.uuid4().hex[:6]}"
    path = tmp_path_factory.mktemp("deployed") / name
    shutil.copytree(EXAMPLES / "python", path)
    source = Source(path=path, server=server, app=name)
    source.git("init", "-q", "-b", "main")
    source.commit("initial")
    source.git("remote", "add", "paas", server.remote(name))
    pushed = source.push()
    assert f"{name} v1 is live" in pushed.stderr
    yield source
    server.paas("apps:destroy", name, "--force")


@pytest.fixture(scope="module")
def bob(server, tmp_path_factory) -> Path:
    """A second key with role user."""
    key = keygen(tmp_path_factory.mktemp("bob") / "id_ed25519", "bob@laptop")
    added = server.paas("ssh-keys:add", "bob", input=Path(f"{key}.pub").read_text(), check=True)
    assert "Added key bob (user)" in added.stdout
    yield key
    server.paas("ssh-keys:remove", "bob")


@pytest.fixture
def laptop(server, deployed, tmp_path):
    """A git working copy on a 'laptop' whose `paas` remote is the deployed app."""
    path = tmp_path / "laptop-repo"
    path.mkdir()
    git(path, server, "init", "-q", "-b", "main")
    git(path, server, "remote", "add", "paas", server.remote(deployed.app))
    return path


# Keys and access through real ssh and git --------------------------------------------------


def test_second_key_reaches_an_app_only_once_granted(server, deployed, bob, tmp_path):
    app = deployed.app

    # A stranger sees nothing of the admin's app, and cannot tell it exists.
    listed = server.ssh("apps:list --format json", key=bob)
    assert listed.returncode == 0, listed.stderr
    assert app not in [a["name"] for a in json.loads(listed.stdout)]
    for command in (f"apps:report {app}", f"config:show {app}", f"config:set {app} BOB=1", f"logs {app}",
                    f"run {app} -- true"):
        refused = server.ssh(command, key=bob)
        assert refused.returncode == 13, (command, refused.stdout, refused.stderr)
        assert f"you have no access to app '{app}'" in refused.stderr
    assert server.ssh("apps:report no-such-app-here", key=bob).stderr.replace("no-such-app-here", app) == \
        server.ssh(f"apps:report {app}", key=bob).stderr

    # git: neither fetch nor push.
    work = tmp_path / "bob-work"
    shutil.copytree(deployed.path, work)
    sha = commit(work, server, "bob's change")
    fetched = git(work, server, "ls-remote", "paas", key=bob, check=False)
    assert fetched.returncode != 0 and "no access" in fetched.stderr
    pushed = git(work, server, "push", "paas", "HEAD:refs/heads/bob-feature", key=bob, check=False)
    assert pushed.returncode != 0
    assert f"you have no access to app '{app}'" in pushed.stderr
    assert remote_ref(server, app, "refs/heads/bob-feature") is None
    forced = git(work, server, "push", "--force", "paas", "HEAD:main", key=bob, check=False)
    assert forced.returncode != 0
    assert remote_ref(server, app, "refs/heads/main") == deployed.git("rev-parse", "HEAD").stdout.strip()

    # Key commands are admin-only, whatever the app grants.
    keys_refused = server.ssh("ssh-keys:list", key=bob)
    assert keys_refused.returncode == 13 and "for admins only" in keys_refused.stderr
    keys_listed = server.ssh("ssh-keys:list --format json")
    assert keys_listed.returncode == 0, keys_listed.stderr
    roles = {k["name"]: k["role"] for k in json.loads(keys_listed.stdout)}
    assert roles["bob"] == "user" and roles["local-admin"] == "admin"

    # Granted: bob pushes (a side branch: stored, not deployed) and sets config.
    server.paas("acl:add", app, "bob", check=True)
    assert app in [a["name"] for a in json.loads(server.ssh("apps:list --format json", key=bob).stdout)]
    pushed = git(work, server, "push", "paas", "HEAD:refs/heads/bob-feature", key=bob, check=False)
    assert pushed.returncode == 0, pushed.stderr
    assert "not the deploy branch" in pushed.stderr
    assert remote_ref(server, app, "refs/heads/bob-feature") == sha
    assert git(work, server, "ls-remote", "paas", "bob-feature", key=bob).stdout.split()[0] == sha
    set_ = server.ssh(f"config:set {app} BOB_WAS_HERE=yes --no-restart", key=bob)
    assert set_.returncode == 0, set_.stderr
    assert server.paas("config:get", app, "BOB_WAS_HERE", check=True).stdout.strip() == "yes"
    assert server.ssh("ssh-keys:list", key=bob).returncode == 13
    assert server.ssh(f"acl:add {app} bob", key=bob).returncode == 13  # owner or admin only
    assert server.ssh("config:set --global BOB=1", key=bob).returncode == 13

    # Revoked: back to nothing.
    server.paas("acl:remove", app, "bob", check=True)
    assert server.ssh(f"apps:report {app}", key=bob).returncode == 13
    assert git(work, server, "push", "paas", "HEAD:refs/heads/bob-2", key=bob, check=False).returncode != 0
    assert remote_ref(server, app, "refs/heads/bob-2") is None


def test_unknown_key_cannot_log_in(server, tmp_path):
    key = keygen(tmp_path / "stranger", "nobody")
    result = server.ssh("apps:list", key=key)
    assert result.returncode == 255
    assert "Permission denied" in result.stderr


# Hostile commands through real sshd ----------------------------------------------------------


@pytest.mark.parametrize("command", [
    "git-receive-pack '../../etc'",
    "git-upload-pack '/etc/passwd'",
    "git-receive-pack 'x'; touch {canary}",
    "apps:list; touch {canary}",
    "apps:list | touch {canary}",
    "apps:list && touch {canary}",
    "$(touch {canary})",
    "`touch {canary}`",
    "apps:list\ntouch {canary}",
    "apps:list 'unbalanced",
    "bash -c 'touch {canary}'",
    "sh",
    "scp -t {canary}",
    "rsync --server . {canary}",
    " --help",  # (a leading space, or the local ssh would read it as its own option)
    "touch {canary} #" + "A" * 100_000,
])
def test_hostile_commands_are_refused_through_sshd(server, tmp_path, command):
    canary = tmp_path / "canary"
    command = command.replace("{canary}", str(canary))
    repos_before = sorted(p.name for p in (server.root / "repos").iterdir()) if (server.root / "repos").exists() else []
    result = server.ssh(command, timeout=30)
    assert result.returncode not in (0, 255), (result.returncode, result.stderr)
    assert result.stderr.startswith(" !     "), result.stderr
    assert not canary.exists()
    repos_after = sorted(p.name for p in (server.root / "repos").iterdir()) if (server.root / "repos").exists() else []
    assert repos_after == repos_before
    last = json.loads(server.paas("events", "--format", "json", "-n", "1", check=True).stdout)[-1]
    assert last["actor"] == "local-admin" and last["outcome"] != "ok"


def test_plain_ssh_prints_help(server):
    result = server.ssh("")
    assert result.returncode == 0, result.stderr
    assert "Usage: paas COMMAND" in result.stdout


def test_keys_cannot_forward_ports_or_get_a_shell(server):
    forward = subprocess.run(
        [*server.ssh_command().split(), "-p", str(server.ssh_port), "-o", "ExitOnForwardFailure=yes", "-N",
         "-R", f"{free_port()}:127.0.0.1:{server.ssh_port}", f"{server.user}@127.0.0.1"],
        capture_output=True, text=True, timeout=20,
    )
    assert forward.returncode != 0
    assert "forwarding failed" in forward.stderr
    shell = server.ssh("", input="touch /tmp/should-not-exist-paas\n")
    assert shell.returncode == 0 and "Usage: paas COMMAND" in shell.stdout
    assert not Path("/tmp/should-not-exist-paas").exists()


# The laptop client (paramiko) ------------------------------------------------------------------


def test_laptop_client_runs_config_set_on_the_server(server, deployed, laptop, tmp_path):
    laptop_root = tmp_path / "laptop-paas-root"
    env = laptop_env(server, laptop_root)
    result = subprocess.run(paas_argv("config:set", "FROM_LAPTOP=it works", "--no-restart"), cwd=laptop, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"Setting FROM_LAPTOP on {deployed.app}" in result.stdout
    assert server.paas("config:get", deployed.app, "FROM_LAPTOP", check=True).stdout == "it works\n"
    got = subprocess.run(paas_argv("config:get", "FROM_LAPTOP"), cwd=laptop, env=env, capture_output=True,
                         text=True, timeout=60)
    assert (got.returncode, got.stdout) == (0, "it works\n")
    assert not laptop_root.exists(), "the command ran locally, not on the server"


def test_laptop_client_follows_ssh_config_like_git_push(server, deployed, tmp_path):
    # The remote names only a Host alias; ~/.ssh/config has the address, port, user and key.
    config = tmp_path / "ssh_config"
    config.write_text(f"Host paas-box\n  HostName 127.0.0.1\n  Port {server.ssh_port}\n  User {server.user}\n"
                      f"  IdentityFile {admin_key(server)}\n  IdentitiesOnly yes\n"
                      f"  UserKnownHostsFile {server.root / 'ssh' / 'known_hosts'}\n")
    repo = tmp_path / "aliased"
    repo.mkdir()
    git(repo, server, "init", "-q", "-b", "main")
    git(repo, server, "remote", "add", "paas", f"paas-box:{deployed.app}")
    env = laptop_env(server, tmp_path / "laptop-root", PAAS_SSH_CONFIG=str(config))
    del env["PAAS_SSH_KEY"]
    fetched = subprocess.run(["git", "ls-remote", "paas"], cwd=repo, capture_output=True, text=True, timeout=60,
                             env={**env, "GIT_SSH_COMMAND": f"ssh -F {config}"})
    assert fetched.returncode == 0 and "refs/heads/main" in fetched.stdout, fetched.stderr  # OpenSSH agrees
    result = subprocess.run(paas_argv("apps:info"), cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert deployed.app in result.stdout


def test_laptop_client_exit_codes_and_output_propagate(server, deployed, laptop, tmp_path):
    env = laptop_env(server, tmp_path / "laptop-root")
    seven = subprocess.run(paas_argv("run", "-e", "OUT=out", "--", "sh", "-c", "echo $OUT; echo err >&2; exit 7"),
                           cwd=laptop, env=env, capture_output=True, text=True, timeout=120)
    assert seven.returncode == 7, seven.stderr
    assert seven.stdout == "out\n"
    assert "err" in seven.stderr
    missing = subprocess.run(paas_argv("config:get", "NO_SUCH_KEY_HERE"), cwd=laptop, env=env, capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 3 and "NO_SUCH_KEY_HERE" in missing.stderr


def test_laptop_client_streams_output_live(server, deployed, laptop, tmp_path):
    env = laptop_env(server, tmp_path / "laptop-root")
    started = time.monotonic()
    proc = subprocess.Popen(paas_argv("run", "--", "sh", "-c", "echo first; sleep 3; echo second"), cwd=laptop,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        first = proc.stdout.readline()
        first_at = time.monotonic() - started
        rest = proc.stdout.read()
        proc.wait(timeout=60)
        ended_at = time.monotonic() - started
    finally:
        proc.kill()
    assert first == b"first\n"
    assert rest == b"second\n"
    assert proc.returncode == 0
    assert ended_at - first_at >= 2.5, "the first line arrived only at the end: output is not streamed"


def test_laptop_client_pipes_stdin(server, deployed, laptop, tmp_path):
    env = laptop_env(server, tmp_path / "laptop-root")
    result = subprocess.run(paas_argv("run", "--", "cat"), cwd=laptop, env=env, input="hi\nthere\n",
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi\nthere\n"
    shell = subprocess.run(f"echo hi | {sys.executable} -m paas run -- cat", shell=True, cwd=laptop, env=env,
                           capture_output=True, text=True, timeout=120)
    assert (shell.returncode, shell.stdout) == (0, "hi\n"), shell.stderr


def _interrupt(server, laptop, tmp_path, argv, ready) -> tuple[int, float, str]:
    """Start the laptop client, wait until the remote side runs, then Ctrl-C (SIGINT) it."""
    env = laptop_env(server, tmp_path / "laptop-root")
    proc = subprocess.Popen(paas_argv(*argv), cwd=laptop, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(ready, timeout=60), "the remote command never started"
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=10)
        return proc.returncode, time.monotonic() - sent, stderr.decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_stops_a_remote_run(server, deployed, laptop, tmp_path):
    app = deployed.app
    code, took, stderr = _interrupt(server, laptop, tmp_path, ["run", "--", "sleep", "45"],
                                    lambda: run_containers(app))
    assert took < 5
    assert "Traceback" not in stderr, stderr
    assert code == 130, stderr
    # ...and the remote side stops too: no one-off container, no session left behind.
    assert wait_for(lambda: not run_containers(app), timeout=10), "the remote `run` kept going after Ctrl-C"
    assert wait_for(lambda: not remote_sessions(f"--app {app} run -- sleep 45"), timeout=10)


def test_ctrl_c_stops_logs_tail(server, deployed, laptop, tmp_path):
    app = deployed.app
    marker = f"--app {app} logs -t"  # what the laptop client sends
    code, took, stderr = _interrupt(server, laptop, tmp_path, ["logs", "-t"], lambda: remote_sessions(marker))
    assert took < 5
    assert "Traceback" not in stderr, stderr
    assert code == 130, stderr
    assert wait_for(lambda: not remote_sessions(marker), timeout=10), "the remote `logs -t` kept going after Ctrl-C"


def test_interactive_run_gets_a_pty(server, deployed, laptop, tmp_path):
    env = laptop_env(server, tmp_path / "laptop-root", TERM="xterm")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(paas_argv("run", "--", "sh", "-c", "tty && sleep 1 && stty size && echo hi"), cwd=laptop, env=env,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every holder of the pty's other end is gone
                    break
                if not chunk:
                    break
                output += chunk
            elif proc.poll() is not None:
                break
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = output.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    assert "/dev/pts/" in text
    assert "24 80" in text  # the window size came along (docker applies it just after start: the sleep)
    assert "hi\r\n" in text


def test_app_override_and_paas_host(server, deployed, laptop, tmp_path):
    other = f"ssh-other-{uuid.uuid4().hex[:6]}"
    server.paas("apps:create", other, check=True)
    try:
        server.paas("config:set", other, "WHO=other", check=True)
        env = laptop_env(server, tmp_path / "laptop-root")
        overridden = subprocess.run(paas_argv("config:get", "-a", other, "WHO"), cwd=laptop, env=env,
                                    capture_output=True, text=True, timeout=60)
        assert (overridden.returncode, overridden.stdout) == (0, "other\n"), overridden.stderr
        report = subprocess.run(paas_argv("apps:report", "--app", other, "--format", "json"), cwd=laptop, env=env,
                                capture_output=True, text=True, timeout=60)
        assert report.returncode == 0, report.stderr
        assert json.loads(report.stdout)["name"] == other

        # Outside any repo: PAAS_HOST and -a.
        outside = tmp_path / "not-a-repo"
        outside.mkdir()
        host_env = {**env, "PAAS_HOST": f"{server.user}@127.0.0.1:{server.ssh_port}"}
        remote = subprocess.run(paas_argv("config:get", "-a", other, "WHO"), cwd=outside, env=host_env,
                                capture_output=True, text=True, timeout=60)
        assert (remote.returncode, remote.stdout) == (0, "other\n"), remote.stderr
    finally:
        server.paas("apps:destroy", other, "--force")


def test_unknown_or_changed_host_key_is_refused(server, deployed, laptop, tmp_path):
    empty = tmp_path / "known_hosts_empty"
    empty.write_text("")
    env = laptop_env(server, tmp_path / "laptop-root", known_hosts=empty)
    unknown = subprocess.run(paas_argv("config:set", "NEVER=1"), cwd=laptop, env=env, capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 8
    assert f"the host key of 127.0.0.1:{server.ssh_port} is not in {empty}" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    other_key = keygen(tmp_path / "other_host_key", "impostor")
    wrong = tmp_path / "known_hosts_wrong"
    wrong.write_text(f"[127.0.0.1]:{server.ssh_port} {' '.join(Path(f'{other_key}.pub').read_text().split()[:2])}\n")
    changed = subprocess.run(paas_argv("config:set", "NEVER=1"), cwd=laptop, env=laptop_env(
        server, tmp_path / "laptop-root", known_hosts=wrong), capture_output=True, text=True, timeout=60)
    assert changed.returncode == 8
    assert "does not match" in changed.stderr
    assert "Traceback" not in changed.stderr
    assert server.paas("config:get", deployed.app, "NEVER").returncode != 0


def test_laptop_client_with_a_key_the_server_refuses(server, deployed, laptop, tmp_path, bob):
    env = laptop_env(server, tmp_path / "laptop-root", key=bob)
    refused = subprocess.run(paas_argv("ssh-keys:list"), cwd=laptop, env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 13
    assert "for admins only" in refused.stderr
    unknown = keygen(tmp_path / "nobody", "nobody")
    denied = subprocess.run(paas_argv("apps:list"), cwd=laptop, env=laptop_env(server, tmp_path / "r", key=unknown),
                            capture_output=True, text=True, timeout=60)
    assert denied.returncode == 13
    assert "refused every key" in denied.stderr


# Two pushes at once -------------------------------------------------------------------------


def test_two_simultaneous_pushes_are_serialised(server, tmp_path):
    app = f"ssh-race-{uuid.uuid4().hex[:6]}"
    server.paas("apps:create", app, check=True)
    try:
        copies, shas = [], {}
        for label in ("A", "B"):
            path = tmp_path / f"copy-{label}"
            shutil.copytree(EXAMPLES / "python", path)
            text = (path / "app.py").read_text()
            (path / "app.py").write_text(text.replace("Hello from paas", f"Hello from copy {label}"))
            git(path, server, "init", "-q", "-b", "main")
            shas[label] = commit(path, server, f"copy {label}")
            git(path, server, "remote", "add", "paas", server.remote(app))
            copies.append((label, path))

        results: dict[str, subprocess.CompletedProcess] = {}
        barrier = threading.Barrier(2)

        def push(label, path):
            barrier.wait()
            # --force: each developer insists on their commit; both must deploy, one after the other.
            results[label] = git(path, server, "push", "--force", "paas", "main", check=False, timeout=600)

        threads = [threading.Thread(target=push, args=copy) for copy in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert set(results) == {"A", "B"}, "a push never finished"
        for label, result in results.items():
            assert result.returncode == 0, f"push {label} failed:\n{result.stderr}"

        history = json.loads(server.paas("releases", app, "--format", "json", check=True).stdout)
        assert sorted(r["git_sha"] for r in history) == sorted(shas.values()), history
        assert [r["status"] for r in history].count("live") == 1, history
        assert sorted(r["status"] for r in history) == ["live", "retired"], history
        live = next(r for r in history if r["status"] == "live")
        assert live["version"] == "v2", "the second deploy must be the live one"
        assert {r["author"] for r in history} == {"local-admin"}, "a push's release names the pushing key"

        assert remote_ref(server, app, "refs/heads/main") == live["git_sha"], "the repo and the live release disagree"
        winner = next(label for label, sha in shas.items() if sha == live["git_sha"])
        status, body = server.get(app)
        assert status == 200 and body.startswith(f"Hello from copy {winner}! release=v2")
        fsck = subprocess.run(["git", "--git-dir", str(server.root / "repos" / f"{app}.git"), "fsck", "--strict"],
                              capture_output=True, text=True)
        assert fsck.returncode == 0, fsck.stderr
    finally:
        server.paas("apps:destroy", app, "--force")


def test_a_push_that_bypasses_the_ssh_entry_deploys_through_the_hook_alone(server, make_app):
    """An admin's `git push` into the repo on the server itself: no SSH entry to hand the
    deploy to, so the hook runs it in its own process."""
    source = make_app("python")
    source.push()
    text = (source.path / "app.py").read_text()
    (source.path / "app.py").write_text(text.replace("Hello from paas", "Hello from a local push"))
    source.commit("local push")
    repo = server.root / "repos" / f"{source.app}.git"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
    pushed = subprocess.run(["git", "push", str(repo), "main"], cwd=source.path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert pushed.returncode == 0, pushed.stderr
    assert f"{source.app} v2 is live" in pushed.stderr
    assert server.get(source.app)[1].startswith("Hello from a local push! release=v2")
    history = json.loads(server.paas("releases", source.app, "--format", "json", check=True).stdout)
    assert history[0]["author"].startswith("local:"), history[0]


# The audit trail ------------------------------------------------------------------------------


def test_events_show_who_did_what_with_values_redacted(server, deployed):
    app = deployed.app
    assert server.ssh(f"config:set {app} API_TOKEN=sup3rs3cret --no-restart").returncode == 0
    assert server.ssh("bash -c id").returncode != 0
    shown = server.ssh(f"events {app}")
    assert shown.returncode == 0, shown.stderr
    assert f"local-admin  {app}  config:set {app} API_TOKEN=*** --no-restart  -> ok" in shown.stdout
    assert "sup3rs3cret" not in shown.stdout
    everything = server.paas("events", "-n", "500", check=True).stdout
    assert "sup3rs3cret" not in everything
    assert "bash -c id  -> refused: command refused: 'bash' is not a paas command" in everything


def test_events_without_an_app_over_ssh(server, deployed, bob):
    """`events [APP]`: the app is optional, over SSH too (admin sees all, a user only their apps)."""
    admin = server.ssh("events -n 20")
    assert admin.returncode == 0, admin.stderr
    assert "local-admin" in admin.stdout
    user = server.ssh("events --format json", key=bob)
    assert user.returncode == 0, user.stderr
    assert all(e["app"] != deployed.app for e in json.loads(user.stdout))

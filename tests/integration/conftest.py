"""Integration fixtures: a real local server (dockerd, sshd, nginx) per test worker.

Each xdist worker brings up its own `paas server:up` under a temp PAAS_ROOT on free
ports; the stack image and Docker's layer cache are shared by all of them.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench import common as bench_common

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PAAS = [sys.executable, "-m", "paas"]

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    root: Path
    ssh_port: int
    http_port: int
    domain: str

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
        env.update(PAAS_ROOT=str(self.root), PAAS_LOCAL="1", NO_COLOR="1", COLUMNS="80")
        return env

    def paas(self, *args: str, input: str | None = None, check: bool = False, timeout: float = 600):
        result = subprocess.run([*PAAS, *args], env=self.env, capture_output=True, text=True, input=input,
                                timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"paas {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def ssh_command(self, key: Path | None = None) -> str:
        key = key or self.root / "ssh" / "client_ed25519"
        return (f"ssh -i {key} -o UserKnownHostsFile={self.root / 'ssh' / 'known_hosts'} "
                "-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o BatchMode=yes")

    def remote(self, app: str) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.ssh_port}/{app}"

    @property
    def user(self) -> str:
        import getpass

        return getpass.getuser()

    def ssh(self, command: str, key: Path | None = None, input: str | None = None, timeout: float = 600):
        argv = [*self.ssh_command(key).split(), "-p", str(self.ssh_port), f"{self.user}@127.0.0.1", command]
        return subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout)

    def get(self, app: str, path: str = "/", timeout: float = 10) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        conn.request("GET", path, headers={"Host": f"{app}.{self.domain}"})
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        conn.close()
        return response.status, body


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    if shutil.which("dockerd") is None or shutil.which("nginx") is None:
        pytest.fail("integration tests need docker.io and nginx: run scripts/bootstrap (make test does)")
    root = tmp_path_factory.mktemp("paas-root")
    srv = Server(root=root, ssh_port=free_port(), http_port=free_port(), domain="paas.localhost")
    srv.paas("server:up", "--ssh-port", str(srv.ssh_port), "--http-port", str(srv.http_port),
             "--domain", srv.domain, check=True)
    yield srv
    for name in _apps(srv):
        srv.paas("apps:destroy", name, "--force")
    srv.paas("server:down")


def _apps(srv: Server) -> list[str]:
    import json

    result = srv.paas("apps:list", "--format", "json")
    try:
        return [a["name"] for a in json.loads(result.stdout)]
    except ValueError:
        return []


@dataclass
class Source:
    """A git working copy of an example app, pushed to the server with real git over ssh."""

    path: Path
    server: Server
    app: str

    def git(self, *args: str, check: bool = True):
        env = {**os.environ, "GIT_SSH_COMMAND": self.server.ssh_command(), "GIT_TERMINAL_PROMPT": "0"}
        result = subprocess.run(["git", *args], cwd=self.path, env=env, capture_output=True, text=True, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", message, "--allow-empty")
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push(self, *extra: str, check: bool = True):
        return self.git("push", "paas", *extra or ("main",), check=check)

    def write(self, name: str, text: str) -> None:
        (self.path / name).write_text(text)


@pytest.fixture
def make_app(server, tmp_path):
    """make_app("python") -> a Source with a unique app name, committed, remote added."""
    created = []

    def factory(example: str, app: str | None = None) -> Source:
        name = app or f"{example.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        path = tmp_path / name
        shutil.copytree(EXAMPLES / example, path)
        source = Source(path=path, server=server, app=name)
        source.git("init", "-q", "-b", "main")
        source.commit("initial")
        source.git("remote", "add", "paas", server.remote(name))
        created.append(name)
        return source

    yield factory
    for name in created:
        server.paas("apps:destroy", name, "--force")


def wait_for(predicate, timeout: float = 30, interval: float = 0.2):
    """The bench's poll loop, with the slower defaults the tests were written for."""
    return bench_common.wait_for(predicate, timeout, interval)


def deploy_singleton_worker(server, make_app):
    """The python example plus a `worker` type run stop-first (never two at once), scaled to 1."""
    source = make_app("python")
    source.write("Procfile", "web: gunicorn --bind 0.0.0.0:$PORT app:app\nworker: sh -c 'echo worker up; exec sleep 600'\n")
    source.commit("a singleton worker")
    source.push()
    server.paas("ps:set", source.app, "worker.strategy", "stop-first", check=True)
    server.paas("ps:scale", source.app, "worker=1", check=True)
    return source

"""What every benchmark group shares: rows and statistics, a private paas server, app sources
pushed with real git over ssh, timed pushes, HTTP polling, and raw-step baselines.

Benchmarks print figures and never assert. Everything they start is torn down in `finally`.
"""

from __future__ import annotations

import contextlib
import getpass
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from paas import names

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
PYTHON = sys.executable
PAAS = [PYTHON, "-m", "paas"]
DOMAIN = "paas.localhost"
STACK = names.STACK_IMAGE
NETWORK = names.NETWORK  # raw baselines run where paas runs apps
BENCH_LABEL = "paas.bench"  # every image/container the bench makes itself carries it


# Output ---------------------------------------------------------------------------------

_T0 = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr; the table is the only thing on stdout."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# Rows -----------------------------------------------------------------------------------


@dataclass
class Row:
    group: str
    name: str
    samples: list[float]
    unit: str
    baseline: str = ""  # what it is compared with, measured in the same run
    baseline_samples: list[float] = field(default_factory=list)
    target: str = ""  # e.g. "<= 1.5x", "< 250 ms", "= 0"
    note: str = ""
    higher_is_better: bool = False

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def spread(self) -> tuple[float, float] | None:
        return (min(self.samples), max(self.samples)) if self.samples else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_samples) if self.baseline_samples else None

    @property
    def ratio(self) -> float | None:
        if self.median is None or not self.baseline_median:
            return None
        return self.median / self.baseline_median

    @property
    def met(self) -> str:
        """'yes'/'NO' against every target ("<= 1.5x; < 4 s"), '' when there is none."""
        if not self.target or self.median is None:
            return ""
        verdicts = []
        for target in self.target.split(";"):
            match = re.fullmatch(r"\s*(<=|>=|<|>|=)\s*([0-9.]+)\s*(x|ms|s|%|MiB|)\s*", target)
            if not match:
                continue
            op, number, unit = match.group(1), float(match.group(2)), match.group(3)
            value = self.ratio if unit == "x" else self.median
            if unit in ("s", "ms") and self.unit in ("s", "ms") and unit != self.unit:
                value = value * 1000 if unit == "ms" else value / 1000
            if value is None:
                continue
            verdicts.append({"<=": value <= number, ">=": value >= number, "<": value < number,
                             ">": value > number, "=": value == number}[op])
        if not verdicts:
            return ""
        return "yes" if all(verdicts) else "NO"

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(median=self.median, min=self.spread[0] if self.spread else None,
                    max=self.spread[1] if self.spread else None, n=len(self.samples),
                    baseline_median=self.baseline_median, ratio=self.ratio, met=self.met)
        return data


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    if unit == "count" or (float(value).is_integer() and abs(value) >= 100):
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 or value == 0 else f"{value:.3f}"


# Processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(argv: list[str], *, env: dict | None = None, cwd: Path | str | None = None, timeout: float = 600,
        input: str | None = None, check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n{result.stdout[-2000:]}\n"
                           f"{result.stderr[-3000:]}")
    return result


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def wait_for(predicate: Callable[[], object], timeout: float = 60, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def http_get(host: str, port: int, path: str = "/", host_header: str | None = None,
             timeout: float = 5) -> tuple[int, str]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host_header or host})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def poll_http(host: str, port: int, want: Callable[[int, str], bool], *, host_header: str | None = None,
              path: str = "/", timeout: float = 120, interval: float = 0.01) -> float | None:
    """Poll until want(status, body); returns the monotonic time it first held, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = http_get(host, port, path, host_header, timeout=2)
            if want(status, body):
                return time.monotonic()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(interval)
    return None


# Machine --------------------------------------------------------------------------------


def machine() -> dict:
    mem_kib = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    docker_version = run(["docker", "version", "--format", "{{.Server.Version}}"], timeout=20).stdout.strip()
    nginx_version = run(["nginx", "-v"], timeout=10).stderr.strip().split("/")[-1]
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": os.uname().release, "python": sys.version.split()[0], "docker": docker_version,
        "nginx": nginx_version, "ssh": run(["ssh", "-V"], timeout=10).stderr.strip(),
        "load_at_start": os.getloadavg(),
    }


# Docker ---------------------------------------------------------------------------------

_docker = None


def docker_client():
    global _docker
    if _docker is None:
        import docker

        _docker = docker.from_env(timeout=900)
    return _docker


def nonce_stack() -> str:
    """A stack image with a fresh id (the stack plus one LABEL): nothing is cached on top of it.

    Builds FROM it are cold in every layer, through the real paas pipeline, without touching the
    layer cache other people on this host rely on. Remove it with remove_image().
    """
    import io

    tag = f"paas-bench/stack:{uuid.uuid4().hex[:10]}"
    dockerfile = f"FROM {STACK}\nLABEL {BENCH_LABEL}.nonce={tag.split(':')[1]}\n"
    client = docker_client()
    client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, labels={BENCH_LABEL: "stack"})
    return tag


RUNTIME_REPO = "paas-runtime/"  # paas pins each language's runtime layer under this name


def _runtime_tags() -> dict[str, str]:
    tags = {}
    for image in docker_client().images.list():
        for tag in image.tags:
            if tag.startswith(RUNTIME_REPO):
                tags[tag] = image.id
    return tags


def _descends_from(image_id: str, ancestor_id: str, depth: int = 64) -> bool:
    api = docker_client().api
    current = image_id
    for _ in range(depth):
        if not current:
            return False
        if current == ancestor_id:
            return True
        try:
            current = api.inspect_image(current).get("Parent") or ""
        except Exception:
            return False
    return False


@contextlib.contextmanager
def nonce_stack_scope():
    """A nonce stack for cold builds, removed afterwards; paas's `paas-runtime/<lang>` pins that
    our cold builds moved onto it are put back where they were, so the host's runtime layers
    stay pinned for everybody else."""
    before = _runtime_tags()
    stack = nonce_stack()
    stack_id = docker_client().images.get(stack).id
    try:
        yield stack
    finally:
        with contextlib.suppress(Exception):
            for tag, image_id in _runtime_tags().items():
                if image_id != before.get(tag) and _descends_from(image_id, stack_id):
                    repository, _, name = tag.rpartition(":")
                    if tag in before:
                        docker_client().images.get(before[tag]).tag(repository, name)
                    else:
                        docker_client().images.remove(tag)
        remove_image(stack)


def remove_image(tag: str) -> None:
    with contextlib.suppress(Exception):
        docker_client().images.remove(tag, force=True, noprune=False)


def export_tree(source: Path, dest: Path) -> Path:
    """The committed tree of a git working copy, extracted as paas's gitrepo.export does it
    (`git archive`, Python's tarfile with the "data" filter: group/other write bits cleared), so
    file modes match and the Docker layer cache sees the same context paas sends."""
    import io
    import tarfile

    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=source, capture_output=True,
                             check=True, timeout=60)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:
            tar.extractall(dest)
    return dest


def render(tree: Path, stack: str) -> dict:
    """What paas would build for this tree: buildpack, Dockerfile text, port and web command."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from paas import procfile
    from paas.build import buildpacks, dockerfile

    pack = buildpacks.detect(tree)
    if pack.name == "dockerfile":
        text = (tree / "Dockerfile").read_text()
        port = dockerfile.dockerfile_metadata(text).get("port") or 5000
    else:
        text = dockerfile.render(pack, tree, stack)
        port = pack.port
    processes = {}
    if (tree / "Procfile").is_file():
        processes = procfile.parse((tree / "Procfile").read_text())
    processes = processes or dict(pack.processes)
    return {"buildpack": pack.name, "dockerfile": text, "port": port, "web": processes.get("web") or ""}


def sdk_build(tree: Path, dockerfile_text: str | None, tag: str, nocache: bool = False,
              timeout: float = 1800) -> float:
    """A plain Docker SDK build (classic builder) of a tree and Dockerfile; returns seconds.

    The Dockerfile is written beside the tree, outside the context, as paas does.
    """
    api = docker_client().api
    if dockerfile_text is None:
        dockerfile_path = "Dockerfile"
    else:
        dockerfile_path = str(tree.parent / f"{tree.name}.Dockerfile.bench")
        Path(dockerfile_path).write_text(dockerfile_text)
    started = time.perf_counter()
    error = None
    for chunk in api.build(path=str(tree), dockerfile=dockerfile_path, tag=tag, rm=True, forcerm=True,
                           decode=True, nocache=nocache, labels={BENCH_LABEL: "build"}, timeout=timeout):
        if "error" in chunk:
            error = chunk["error"]
    elapsed = time.perf_counter() - started
    if error:
        raise RuntimeError(f"SDK build of {tree} failed: {error}")
    return elapsed


def container_address(container) -> str | None:
    return ((container.attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(NETWORK, {}).get("IPAddress")


def start_to_200(image: str, command: str, port: int, path: str = "/", env: dict | None = None,
                 timeout: float = 60) -> float:
    """docker run of an image on the paas network (PORT env, init) until its IP answers 200."""
    client = docker_client()
    started = time.perf_counter()
    container = client.containers.run(
        image, command=["/bin/sh", "-c", command] if command else None, detach=True, init=True,
        environment={"PORT": str(port), **(env or {})}, network=NETWORK, labels={BENCH_LABEL: "start"},
        name=f"bench-start-{uuid.uuid4().hex[:8]}",
    )
    try:
        address = None
        deadline = time.monotonic() + timeout
        while address is None and time.monotonic() < deadline:
            container.reload()
            address = container_address(container)
            if address is None:
                time.sleep(0.01)
        if address is None or poll_http(address, port, lambda s, b: s == 200, path=path,
                                         timeout=max(1.0, deadline - time.monotonic())) is None:
            raise RuntimeError(f"{image} did not answer 200 on {path} within {timeout}s")
        return time.perf_counter() - started
    finally:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def cleanup_bench_docker() -> None:
    """Remove every container and image the bench labelled (left by a crash, too)."""
    client = docker_client()
    for container in client.containers.list(all=True, filters={"label": BENCH_LABEL}):
        with contextlib.suppress(Exception):
            container.remove(force=True)
    for image in client.images.list(filters={"label": BENCH_LABEL}):
        for tag in image.tags:
            if tag.startswith(("paas-bench/", "bench-")):
                remove_image(tag)
    for image in client.images.list(filters={"label": BENCH_LABEL, "dangling": True}):
        remove_image(image.id)


# nginx ------------------------------------------------------------------------------------


def nginx_workers(master: int) -> set[int]:
    from paas import procs  # the same /proc scan paas uses to wait for old workers

    return procs.children(master)


def nginx_test_reload(prefix: Path, wait_new_workers: bool = False, wait_old_workers: bool = False) -> float:
    """`nginx -t` of the paas-managed config, then a reload (SIGHUP to its master).

    `wait_old_workers` times the reload to its end: every worker of the old configuration has
    exited (nginx itself pauses 100 ms before it tells them to stop accepting). paas calls a
    release live a little earlier, once those workers stop accepting."""
    started = time.perf_counter()
    run(["nginx", "-t", "-q", "-p", str(prefix), "-c", str(prefix / "nginx.conf")], check=True, timeout=60)
    master = int((prefix / "nginx.pid").read_text().strip())
    before = nginx_workers(master) if (wait_new_workers or wait_old_workers) else set()
    os.kill(master, signal.SIGHUP)
    if wait_new_workers:
        wait_for(lambda: nginx_workers(master) - before, timeout=10, interval=0.005)
    if wait_old_workers:
        wait_for(lambda: not (nginx_workers(master) & before), timeout=30, interval=0.005)
    return time.perf_counter() - started


# A private server -------------------------------------------------------------------------


@dataclass
class Server:
    root: Path
    ssh_port: int
    http_port: int
    domain: str = DOMAIN

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
        env.update(PAAS_ROOT=str(self.root), PAAS_LOCAL="1", NO_COLOR="1", COLUMNS="80")
        return env

    @property
    def user(self) -> str:
        return getpass.getuser()

    @property
    def nginx_prefix(self) -> Path:
        return self.root / "nginx"

    def paas(self, *args: str, check: bool = False, timeout: float = 600, input: str | None = None):
        return run([*PAAS, *args], env=self.env, timeout=timeout, check=check, input=input)

    @property
    def client_key(self) -> Path:
        return self.root / "ssh" / "client_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.root / "ssh" / "known_hosts"

    def ssh_argv(self, key: Path | None = None, known_hosts: Path | None = None, port: int | None = None) -> list[str]:
        return ["ssh", "-i", str(key or self.client_key), "-o", f"UserKnownHostsFile={known_hosts or self.known_hosts}",
                "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
                "-p", str(port or self.ssh_port), f"{self.user}@127.0.0.1"]

    def git_ssh_command(self) -> str:
        return (f"ssh -i {self.client_key} -o UserKnownHostsFile={self.known_hosts} -o IdentitiesOnly=yes "
                "-o StrictHostKeyChecking=yes -o BatchMode=yes")

    def remote(self, app: str) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.ssh_port}/{app}"

    def host(self, app: str) -> str:
        return f"{app}.{self.domain}"

    def get(self, app: str, path: str = "/", timeout: float = 5) -> tuple[int, str]:
        return http_get("127.0.0.1", self.http_port, path, self.host(app), timeout)

    def apps(self) -> list[str]:
        result = self.paas("apps:list", "--format", "json", timeout=120)
        try:
            return [a["name"] for a in json.loads(result.stdout)]
        except ValueError:
            return []

    def destroy(self, app: str) -> None:
        with contextlib.suppress(Exception):
            self.paas("apps:destroy", app, "--force", timeout=300)

    def serving(self, app: str) -> list[dict]:
        result = self.paas("ps:report", app, "--format", "json", timeout=120)
        try:
            return json.loads(result.stdout)
        except ValueError:
            return []


@contextlib.contextmanager
def private_server(label: str, stack: str | None = None):
    """`paas server:up` under a temp PAAS_ROOT on free ports; every app destroyed, then server:down."""
    root = Path(tempfile.mkdtemp(prefix=f"paas-bench-{label}-"))
    srv = Server(root=root / "root", ssh_port=free_port(), http_port=free_port())
    log(f"{label}: server:up (root {srv.root}, ssh {srv.ssh_port}, http {srv.http_port})")
    try:
        srv.paas("server:up", "--ssh-port", str(srv.ssh_port), "--http-port", str(srv.http_port),
                 "--domain", srv.domain, check=True, timeout=180)
        if stack:
            srv.paas("stack:set", stack, check=True, timeout=60)
        srv.workdir = root  # type: ignore[attr-defined]
        yield srv
    finally:
        log(f"{label}: tearing down")
        try:
            for app in srv.apps():
                srv.destroy(app)
        finally:
            with contextlib.suppress(Exception):
                srv.paas("server:down", timeout=120)
            # A stray retire process may still hold the app lock for a moment; ignore its leftovers.
            shutil.rmtree(root, ignore_errors=True)


# App sources pushed with git --------------------------------------------------------------


@dataclass
class Push:
    ok: bool
    started: float  # monotonic
    ended: float
    marks: dict[str, float]  # phase name -> monotonic time the line arrived
    output: str
    served: float | None = None  # monotonic time the new body was first served

    @property
    def wall(self) -> float:
        return self.ended - self.started

    @property
    def to_serving(self) -> float:
        """Push start to the new release's body served through nginx (push wall time if unknown)."""
        return self.wall if self.served is None else self.served - self.started

    def between(self, a: str, b: str) -> float | None:
        if a in self.marks and b in self.marks:
            return self.marks[b] - self.marks[a]
        return None

    @property
    def build(self) -> float | None:
        """paas's build phase: export, detect, render and docker build (the pusher's clock)."""
        return self.between("building", "built")

    def phases(self) -> dict[str, float | None]:
        start = {"start": self.started, **self.marks, "end": self.ended}
        order = ["start", "building", "detected", "built", "starting", "checked", "live", "end"]
        names = {
            "building": "ssh + receive-pack + hook start",
            "detected": "export + detect",
            "built": "docker build",
            "starting": "release bookkeeping",
            "checked": "container start + health checks + settle",
            "live": "nginx -t + reload + wait old workers",
            "end": "after live (retire spawn, ref update, ssh exit)",
        }
        out = {}
        for a, b in zip(order, order[1:]):
            out[names[b]] = (start[b] - start[a]) if a in start and b in start else None
        return out


# Lines the deploy prints (paas/console.py via the hook's sideband); the first match wins.
MARKS = [
    ("building", re.compile(r"-----> Building ")),
    ("detected", re.compile(r"-----> \S+ buildpack detected")),
    ("built", re.compile(r"-----> Built ")),
    ("starting", re.compile(r"-----> Starting ")),
    ("checked", re.compile(r"passed their checks")),
    ("live", re.compile(r"-----> \S+ v\d+ is live")),
]


@dataclass
class Source:
    """A git working copy of an example app with a `paas` remote on a private server."""

    path: Path
    server: Server
    app: str

    @classmethod
    def create(cls, server: Server, example: str | Path, app: str, workdir: Path, unique: bool = True) -> "Source":
        """A copy of the example, committed, with a `paas` remote. `unique` gives it its own greeting
        marker from the first commit, so its image is its own: two apps built from an identical
        tree share one image id on the host's dockerd (other people's test apps included)."""
        src = example if isinstance(example, Path) else EXAMPLES / example
        path = workdir / app
        shutil.copytree(src, path)
        if unique:
            edit_marker(path, new_marker())
        source = cls(path=path, server=server, app=app)
        source.git("init", "-q", "-b", "main")
        source.commit("initial")
        source.git("remote", "add", "paas", server.remote(app))
        return source

    @property
    def git_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
        env.update(GIT_SSH_COMMAND=self.server.git_ssh_command(), GIT_TERMINAL_PROMPT="0")
        return env

    def git(self, *args: str, check: bool = True, timeout: float = 900):
        return run(["git", *args], cwd=self.path, env=self.git_env, timeout=timeout, check=check)

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "commit", "-qm", message,
                 "--allow-empty")
        return self.git("rev-parse", "HEAD").stdout.strip()

    def push(self, *, force: bool = False, expect: Callable[[int, str], bool] | None = None,
             timeout: float = 1800) -> Push:
        """git push paas main; timestamps each remote line; optionally polls until `expect` is served."""
        argv = ["git", "push", *(["--force"] if force else []), "paas", "main"]
        marks: dict[str, float] = {}
        lines: list[str] = []
        served: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                try:
                    status, body = self.server.get(self.app, timeout=2)
                    if expect(status, body):
                        served.append(time.monotonic())
                        return
                except (OSError, http.client.HTTPException):
                    pass
                stop.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True) if expect else None
        started = time.monotonic()
        process = subprocess.Popen(argv, cwd=self.path, env=self.git_env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if poller:
            poller.start()
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            buffer = b""
            while True:
                chunk = process.stdout.read1(65536)
                if not chunk:
                    break
                now = time.monotonic()
                buffer += chunk
                *complete, buffer = re.split(rb"[\r\n]", buffer)
                for raw in complete:
                    line = raw.decode("utf-8", "replace")
                    lines.append(line)
                    for name, pattern in MARKS:
                        if name not in marks and pattern.search(line):
                            marks[name] = now
                            break
            code = process.wait()
        finally:
            timer.cancel()
        ended = time.monotonic()
        if poller:
            poller.join(timeout=30 if code == 0 else 0)
            stop.set()
        return Push(ok=code == 0, started=started, ended=ended, marks=marks, output="\n".join(lines),
                    served=served[0] if served else None)


MARKER_RE = re.compile(r"Hello from \w+|bench-[0-9a-f]{12}")
MARKER_SUFFIXES = (".py", ".js", ".go", ".html", ".rb", ".txt")


def new_marker() -> str:
    return f"bench-{uuid.uuid4().hex[:12]}"


def edit_marker(tree: Path, marker: str) -> bool:
    """A one-line change that shows in the app's body: its greeting ("Hello from X", or the last
    marker) becomes `marker`. Returns False (and adds a file) when no greeting was found."""
    for candidate in sorted(tree.rglob("*")):
        if (not candidate.is_file() or candidate.suffix not in MARKER_SUFFIXES
                or {".git", "node_modules", "vendor"} & set(candidate.relative_to(tree).parts)):
            continue
        text = candidate.read_text(errors="replace")
        match = MARKER_RE.search(text)
        if match:
            candidate.write_text(text[:match.start()] + marker + text[match.end():])
            return True
    (tree / "BENCH_MARKER").write_text(marker + "\n")
    return False


def change(source: "Source") -> tuple[str, Callable[[int, str], bool] | None]:
    """Commit a one-line change; returns (marker, predicate telling when it is served, or None
    when the change cannot show in the body: then the push's own wall time stands in)."""
    marker = new_marker()
    shows = edit_marker(source.path, marker)
    source.commit(f"change {marker}")
    if shows:
        return marker, lambda status, body: status == 200 and marker in body
    return marker, None


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def environ_root(pid: int) -> str | None:
    try:
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if item.startswith(b"PAAS_ROOT="):
                return item[len(b"PAAS_ROOT="):].decode("utf-8", "replace")
    except OSError:
        pass
    return None


def paas_processes(root: Path | None = None) -> list[int]:
    """Pids of python processes running paas (CLI, hook, SSH entry, retire), of one PAAS_ROOT if given."""
    found = []
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        argv = cmdline(int(entry.name))
        if not argv or "python" not in Path(argv[0]).name:
            continue
        rest = argv[1:]
        if any(a.startswith("paas") and i > 0 and rest[i - 1] == "-m" for i, a in enumerate(rest)) \
                or any(Path(a).name == "paas" for a in rest[:1]):
            if root is None or environ_root(int(entry.name)) == str(root):
                found.append(int(entry.name))
    return found


def wait_quiet(app: str | None = None, root: Path | None = None, timeout: float = 60) -> float:
    """Wait until no background paas process (the retire after a deploy) of `app` / `root` runs."""
    started = time.monotonic()

    def busy() -> bool:
        for pid in paas_processes(root):
            argv = cmdline(pid)
            if "paas.retire" in argv and (app is None or app in argv):
                return True
        return False

    wait_for(lambda: not busy(), timeout=timeout, interval=0.05)
    return time.monotonic() - started

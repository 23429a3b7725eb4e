"""Per-example cold and warm measurements, shared by the `build` and `examples` groups.

Each example is measured once per run (memoised here), so running both groups costs one set of
cold builds. A measurement pairs what paas does (a real `git push` to a private server) with the
raw steps it is made of, measured in the same run on the same tree:

- the Docker SDK build of the same rendered Dockerfile and context (nocache for cold, with the
  layer cache for warm),
- container start to first HTTP 200 (docker run of that image on the paas network, PORT set),
- `nginx -t` plus a reload of the server's paas-managed nginx, timed until the old workers have
  exited (the reload's end, as paas waits for it); the time to just send SIGHUP is kept beside it.

"Cold" means nothing is cached: the server builds FROM a stack image with a fresh id (the stack
plus one LABEL, see common.nonce_stack), so every layer is built from scratch through the real
paas pipeline, without wiping the layer cache other people on this host depend on.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    EXAMPLES, STACK, Push, Source, change, edit_marker, export_tree, log, new_marker, nginx_test_reload, nonce_stack_scope,
    private_server, remove_image, render, run, sdk_build, start_to_200, wait_quiet,
)
from bench.ssh import plain_sshd

ORDER = ["python", "node", "go", "static", "dockerfile"]


def examples() -> list[str]:
    """Example folders that exist (others may appear while people work), python first."""
    found = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [e for e in ORDER if e in found] + [e for e in found if e not in ORDER]


def warm_reps(example: str, quick: bool) -> int:
    """Warm pushes per example: python is the reference app and gets the most."""
    if quick:
        return 3 if example == "python" else 1
    return 10 if example == "python" else 4


@dataclass
class Measured:
    example: str
    buildpack: str = ""
    pushes: list[Push] = field(default_factory=list)
    sdk_build: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    nginx: list[float] = field(default_factory=list)
    nginx_signal: list[float] = field(default_factory=list)
    plain_push: list[float] = field(default_factory=list)  # warm only: the transport floor
    error: str = ""

    @property
    def raw_sums(self) -> list[float]:
        return [b + s + n for b, s, n in zip(self.sdk_build, self.start, self.nginx)]


_cold: dict[str, Measured] = {}
_warm: dict[tuple[str, int], Measured] = {}


def _copy_example(example: str, dest: Path, stack: str | None) -> Path:
    """A copy of examples/NAME; a Dockerfile app's FROM line points at the (nonce) stack for cold runs."""
    shutil.copytree(EXAMPLES / example, dest)
    dockerfile = dest / "Dockerfile"
    if stack and dockerfile.is_file():
        text = dockerfile.read_text().replace(f"FROM {STACK}", f"FROM {stack}")
        dockerfile.write_text(text)
    return dest


def _raw_steps(measured: Measured, source: Source, stack: str, nocache: bool, workdir: Path) -> None:
    """The raw steps for one more (never-built) change of the source's current tree.

    Measured once the push's background retire (drain, stop, prune) has finished, as the next
    push is, so neither side pays for the other's housekeeping.
    """
    wait_quiet(source.app)
    tree = export_tree(source.path, workdir / f"tree-{uuid.uuid4().hex[:6]}")
    try:
        if not nocache:
            edit_marker(tree, new_marker())  # a change nobody built yet: the COPY layer is new
        rendered = render(tree, stack)
        measured.buildpack = rendered["buildpack"]
        tag = f"bench-{measured.example}/raw:{uuid.uuid4().hex[:8]}"
        text = None if rendered["buildpack"] == "dockerfile" else rendered["dockerfile"]
        try:
            measured.sdk_build.append(sdk_build(tree, text, tag, nocache=nocache))
            measured.start.append(start_to_200(tag, rendered["web"], rendered["port"]))
        finally:
            remove_image(tag)
        measured.nginx_signal.append(nginx_test_reload(source.server.nginx_prefix))
        measured.nginx.append(nginx_test_reload(source.server.nginx_prefix, wait_old_workers=True))
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def cold(example: str) -> Measured:
    """First push of the example on a fresh stack id (every layer built), plus its raw steps."""
    if example in _cold:
        return _cold[example]
    measured = Measured(example)
    workdir = Path(tempfile.mkdtemp(prefix=f"paas-bench-cold-{example}-"))
    try:
        with nonce_stack_scope() as stack, private_server(f"cold-{example}", stack=stack) as srv:
            path = _copy_example(example, workdir / "src", stack)
            app = f"cold-{example}-{uuid.uuid4().hex[:4]}"
            source = Source.create(srv, path, app, srv.workdir)  # type: ignore[attr-defined]
            log(f"cold {example}: git push (nothing cached)")
            push = source.push(expect=lambda status, body: status == 200)
            if not push.ok:
                raise RuntimeError(f"cold push of {example} failed:\n{push.output[-3000:]}")
            measured.pushes.append(push)
            log(f"cold {example}: {push.to_serving:.1f}s to serving; SDK build with nocache")
            _raw_steps(measured, source, stack, nocache=True, workdir=workdir)
    except Exception as exc:  # reported in the table, never aborts the other examples
        measured.error = f"{exc.__class__.__name__}: {str(exc)[-500:]}"
        log(f"cold {example}: {measured.error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _cold[example] = measured
    return measured


def warm(example: str, reps: int) -> Measured:
    """`reps` one-line-change pushes of an already deployed example, each followed by its raw steps."""
    key = (example, reps)
    for (name, n), found in _warm.items():
        if name == example and n >= reps:
            return found
    measured = Measured(example)
    workdir = Path(tempfile.mkdtemp(prefix=f"paas-bench-warm-{example}-"))
    try:
        with private_server(f"warm-{example}") as srv:
            app = f"warm-{example}-{uuid.uuid4().hex[:4]}"
            source = Source.create(srv, EXAMPLES / example, app, srv.workdir)  # type: ignore[attr-defined]
            first = source.push(expect=lambda status, body: status == 200)
            if not first.ok:
                raise RuntimeError(f"first push of {example} failed:\n{first.output[-3000:]}")
            for i in range(reps):
                _, served = change(source)
                wait_quiet(source.app)
                push = source.push(expect=served)
                if not push.ok:
                    raise RuntimeError(f"warm push of {example} failed:\n{push.output[-3000:]}")
                measured.pushes.append(push)
                _raw_steps(measured, source, STACK, nocache=False, workdir=workdir)
                log(f"warm {example} {i + 1}/{reps}: push→serving {push.to_serving:.2f}s, "
                    f"raw sum {measured.raw_sums[-1]:.2f}s")
            measured.plain_push = plain_pushes(srv, example, reps)
    except Exception as exc:
        measured.error = f"{exc.__class__.__name__}: {str(exc)[-500:]}"
        log(f"warm {example}: {measured.error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _warm[key] = measured
    return measured


def plain_pushes(srv, example: str, n: int) -> list[float]:
    """git push of a one-line change of the example to a bare repo without hooks, over a plain
    sshd with the server's sshd_config (the transport floor of any push-to-deploy)."""
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-plainpush-"))
    times: list[float] = []
    try:
        with plain_sshd(srv, workdir) as (port, known):
            bare = workdir / "plain.git"
            run(["git", "init", "-q", "--bare", str(bare)], check=True)
            source = Source.create(srv, EXAMPLES / example, "plain", workdir)
            env = {**source.git_env, "GIT_SSH_COMMAND": " ".join(srv.ssh_argv(known_hosts=known, port=port)[:-3])}
            source.git("remote", "set-url", "paas", f"ssh://{srv.user}@127.0.0.1:{port}{bare}")
            run(["git", "push", "-q", "paas", "main"], cwd=source.path, env=env, check=True, timeout=120)
            for _ in range(n):
                edit_marker(source.path, new_marker())
                source.commit("change")
                started = time.monotonic()
                run(["git", "push", "-q", "paas", "main"], cwd=source.path, env=env, check=True, timeout=120)
                times.append(time.monotonic() - started)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return times

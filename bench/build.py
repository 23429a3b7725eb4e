"""Group `build`: cold and warm builds of each example, and runtime-layer reuse across apps.

- cold build (full runs only): paas's build phase of the first push on a fresh stack id (nothing
  cached; see bench/pipeline.py) vs a plain Docker SDK build with nocache of the same Dockerfile.
- warm rebuild: paas's build phase of a one-line code change pushed with git (export, detect,
  render, docker build with the layer cache) vs a plain Docker SDK build (`api.build`, with
  cache) of the same rendered Dockerfile and context carrying another one-line change.
- a second, different Python app's cold build on the stack the first app warmed: it reuses the
  runtime layer (apt python3) and builds only its own dependency layer; the baseline is the
  same app built with nocache. The difference is the time saved.

The build phase is timed on the pusher's clock, from the `-----> Building` line to the
`-----> Built` line of the push output (paas flushes each line as it happens).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from pathlib import Path

from bench import pipeline
from bench.common import (
    EXAMPLES, Row, Source, export_tree, log, nonce_stack_scope, private_server, remove_image, render, sdk_build,
    wait_quiet,
)

GROUP = "build"

SECOND_APP = {
    "app.py": (
        '"""A second Python app: different dependencies, same runtime layer as the first."""\n'
        "import os\n\nfrom bottle import Bottle\n\napp = Bottle()\n\n\n"
        '@app.get("/")\ndef index():\n    return "Hello from bottle! release=%s\\n" % os.environ.get("PAAS_RELEASE", "?")\n\n\n'
        '@app.get("/health")\ndef health():\n    return "ok\\n"\n'
    ),
    "Procfile": "web: gunicorn --bind 0.0.0.0:$PORT --workers 2 app:app\n",
    "app.json": '{"healthchecks": {"web": [{"type": "startup", "path": "/health", "content": "ok", '
                '"attempts": 100, "wait": 0.1}]}}\n',
}


def _second_app(workdir: Path) -> Path:
    """A Python app with other requirements; a nonce comment makes its dependency layer uncached."""
    path = workdir / "second"
    path.mkdir()
    for name, text in SECOND_APP.items():
        (path / name).write_text(text)
    (path / "requirements.txt").write_text(f"# bench {uuid.uuid4().hex}\nbottle==0.13.*\ngunicorn==23.*\n")
    return path


def second_app_rows(quick: bool) -> list[Row]:
    """Push examples/python (warms the runtime layer on a fresh stack), then a second Python app."""
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-second-"))
    rows: list[Row] = []
    try:
        with contextlib.ExitStack() as scope:
            # quick: the host's own cache holds the runtime layer already (its pip layer is still new)
            stack = None if quick else scope.enter_context(nonce_stack_scope())
            srv = scope.enter_context(private_server("second-app", stack=stack))
            first = Source.create(srv, EXAMPLES / "python", f"first-{uuid.uuid4().hex[:4]}", srv.workdir)
            log("build: first python app (warms the runtime layer)")
            push = first.push(expect=lambda s, b: s == 200)
            if not push.ok:
                raise RuntimeError(push.output[-3000:])
            second = Source.create(srv, _second_app(workdir), f"second-{uuid.uuid4().hex[:4]}", srv.workdir,
                                   unique=False)  # its requirements nonce makes it unique already
            log("build: second python app (runtime layer cached, its dependencies not)")
            wait_quiet(first.app)
            push2 = second.push(expect=lambda s, b: s == 200 and "bottle" in b)
            if not push2.ok:
                raise RuntimeError(push2.output[-3000:])
            tree = export_tree(second.path, workdir / "tree")
            rendered = render(tree, stack or pipeline.STACK)
            tag = f"bench-second/nocache:{uuid.uuid4().hex[:8]}"
            log("build: second python app with nocache (the baseline)")
            wait_quiet(second.app)
            try:
                nocache = sdk_build(tree, rendered["dockerfile"], tag, nocache=True)
            finally:
                remove_image(tag)
            saved = nocache - (push2.build or 0)
            rows.append(Row(GROUP, "second python app: cold build reusing runtime layers (paas, in push)",
                            [push2.build or 0], "s", baseline="same app, SDK build with nocache",
                            baseline_samples=[nocache],
                            note=f"time saved {saved:.1f}s ({saved / nocache:.0%}); first app's build "
                                 f"{push.build or 0:.1f}s" + (" (cold)" if stack else " (host cache warm)")))
    except Exception as exc:
        rows.append(Row(GROUP, "second python app", [], "s", note=f"ERROR {exc.__class__.__name__}: "
                                                                  f"{str(exc)[-300:]}"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def measure(quick: bool) -> list[Row]:
    rows: list[Row] = []
    names = pipeline.examples()
    if not quick:
        for example in names:
            m = pipeline.cold(example)
            push = m.pushes[0] if m.pushes else None
            rows.append(Row(
                GROUP, f"{example}: cold build, nothing cached (paas, in push)",
                [push.build] if push and push.build else [], "s",
                baseline="SDK build, nocache", baseline_samples=m.sdk_build,
                note=m.error or f"buildpack {m.buildpack}; n=1 (network-bound: apt, pip/npm)",
            ))
    for example in names:
        m = pipeline.warm(example, pipeline.warm_reps(example, quick))
        rows.append(Row(
            GROUP, f"{example}: warm rebuild, one-line change (paas, in push)",
            [p.build for p in m.pushes if p.build is not None], "s",
            baseline="SDK build with cache, same Dockerfile", baseline_samples=m.sdk_build, target="<= 1.5x",
            note=m.error or f"buildpack {m.buildpack}",
        ))
    if not quick:  # a cold dependency build plus a nocache baseline: too slow for a smoke run
        rows += second_app_rows(quick)
    return rows

"""Group `cli`: wall time of `paas --help` and `paas apps:list`, run as a user would.

The `paas` console script of the project's venv, server side (PAAS_LOCAL=1) against a
PAAS_ROOT holding a few apps. The baseline is the same interpreter doing nothing
(`python -c pass`, site and venv included): what is left is paas's own start-up.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench.common import PYTHON, Row, log, run, timed

GROUP = "cli"


def _paas_argv() -> list[str]:
    script = Path(PYTHON).parent / "paas"
    return [str(script)] if script.exists() else [PYTHON, "-m", "paas"]


def measure(quick: bool) -> list[Row]:
    n = 10 if quick else 30
    root = Path(tempfile.mkdtemp(prefix="paas-bench-cli-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAAS_")}
    env.update(PAAS_ROOT=str(root / "root"), PAAS_LOCAL="1", NO_COLOR="1", COLUMNS="80")
    paas = _paas_argv()
    try:
        for name in ("alpha", "beta", "gamma"):
            run([*paas, "apps:create", name], env=env, check=True, timeout=60)
        commands = {
            "paas --help": [*paas, "--help"],
            "paas apps:list": [*paas, "apps:list"],
            "python -c pass": [PYTHON, "-c", "pass"],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm the page cache and __pycache__
            run(argv, env=env, check=True, timeout=60)
        log(f"cli: {n} runs of each, interleaved")
        for _ in range(n):
            for name, argv in commands.items():
                samples[name].append(1000 * timed(lambda argv=argv: run(argv, env=env, check=True, timeout=60)))
        base = samples["python -c pass"]
        return [
            Row(GROUP, "paas --help", samples["paas --help"], "ms", baseline="python -c pass (bare interpreter)",
                baseline_samples=base, target="< 250 ms"),
            Row(GROUP, "paas apps:list (3 apps)", samples["paas apps:list"], "ms",
                baseline="python -c pass (bare interpreter)", baseline_samples=base, target="< 250 ms"),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)

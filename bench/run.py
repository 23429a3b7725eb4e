"""Run paas's benchmarks and print one table (also bench/results/latest.json and latest.md).

    .venv/bin/python bench/run.py                 # every group (about 15 minutes on 2 cores)
    .venv/bin/python bench/run.py --quick         # fewer repetitions, no cold builds, no density (about 3 minutes)
    .venv/bin/python bench/run.py --only ssh,cli  # selected groups (density runs when named)

Benchmarks print figures, never assert: a missed target shows as `NO` in the table.
Progress goes to stderr; the table to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Row, cleanup_bench_docker, fmt, log, machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"

# name -> (module, in --quick, description)
GROUPS = {
    "cli": ("bench.cli", True, "paas --help / apps:list wall time"),
    "ssh": ("bench.ssh", True, "ssh and laptop-client round trips vs bare ssh true"),
    "build": ("bench.build", True, "cold/warm builds vs plain Docker SDK builds"),
    "deploy": ("bench.deploy", True, "warm redeploy vs its raw steps, where the time goes, ps:scale web=10"),
    "load": ("bench.load", True, "200 req/s through redeploys, config:set, scale, rollback; wrk throughput"),
    "examples": ("bench.examples", True, "cold deploy and warm redeploy of every example vs raw steps"),
    "density": ("bench.density", False, "50 apps on one host: deploy and nginx reload time, memory"),
}

COLUMNS = ["group", "benchmark", "median", "spread (min–max)", "unit", "n", "baseline (same run)",
           "baseline median", "ratio", "target", "met"]


def cells(row: Row) -> list[str]:
    spread = row.spread
    return [
        row.group, row.name, fmt(row.median, row.unit),
        f"{fmt(spread[0], row.unit)}–{fmt(spread[1], row.unit)}" if spread else "—",
        row.unit, str(len(row.samples)), row.baseline or "—", fmt(row.baseline_median, row.unit),
        f"{row.ratio:.2f}x" if row.ratio is not None else "—", row.target or "—", row.met or "—",
    ]


def text_table(rows: list[Row]) -> str:
    table = [COLUMNS] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in table]
    out.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {r.group}/{r.name}: {r.note}" for r in rows if r.note]
    return "\n".join(out + (["", "notes:"] + notes if notes else []))


def markdown_table(rows: list[Row]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(COLUMNS + ["note"]) + " |", "|" + "---|" * (len(COLUMNS) + 1)]
    for row in rows:
        lines.append("| " + " | ".join(esc(c) for c in cells(row) + [row.note or ""]) + " |")
    return "\n".join(lines)


def machine_line(info: dict) -> str:
    load = ", ".join(f"{x:.2f}" for x in info.get("load_at_start", ()))
    end = ", ".join(f"{x:.2f}" for x in info.get("load_at_end", ()))
    return (f"{info['nproc']} cores ({info['cpu']}), {info['memory_gib']} GiB RAM, Linux {info['kernel']}, "
            f"Docker {info['docker']}, nginx {info['nginx']}, {info['ssh'].split(',')[0]}, Python {info['python']}; "
            f"load average {load} at start" + (f", {end} at end" if end else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions; skips cold builds and density")
    parser.add_argument("--only", help="comma-separated groups: " + ", ".join(GROUPS))
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--output", default=str(RESULTS), help="folder for latest.json / latest.md")
    args = parser.parse_args(argv)
    if args.list:
        for name, (_, in_quick, text) in GROUPS.items():
            print(f"{name:10} {text}{'' if in_quick else ' (not in --quick unless named)'}")
        return 0
    if args.only:
        selected = [g.strip() for g in args.only.split(",") if g.strip()]
        unknown = [g for g in selected if g not in GROUPS]
        if unknown:
            parser.error(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    else:
        selected = [g for g, (_, in_quick, _) in GROUPS.items() if in_quick or not args.quick]

    info = machine()
    head = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=RESULTS.parent.parent, capture_output=True,
                          text=True)
    info["commit"] = head.stdout.strip() if head.returncode == 0 else "unknown"
    started = time.monotonic()
    started_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    log(f"bench: {', '.join(selected)}{' (quick)' if args.quick else ''} on {machine_line(info)}")
    rows: list[Row] = []
    durations: dict[str, float] = {}
    cleanup_bench_docker()
    try:
        for name in selected:
            group_started = time.monotonic()
            log(f"== {name}")
            try:
                module = importlib.import_module(GROUPS[name][0])
                rows += module.measure(args.quick)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # one group's failure never hides the others' figures
                traceback.print_exc()
                rows.append(Row(name, "group failed", [], "", note=f"ERROR {exc.__class__.__name__}: {str(exc)[-400:]}"))
            durations[name] = round(time.monotonic() - group_started, 1)
            log(f"== {name} done in {durations[name]:.0f}s")
    finally:
        cleanup_bench_docker()
        total = time.monotonic() - started
        info["load_at_end"] = os.getloadavg()
        report = text_table(rows)
        print(report)
        print(f"\n{machine_line(info)}; {'quick' if args.quick else 'full'} run of {', '.join(selected)} "
              f"in {total / 60:.1f} min")
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        data = {"started_at": started_at, "quick": args.quick, "groups": selected, "group_seconds": durations,
                "total_seconds": round(total, 1), "machine": info, "rows": [r.to_json() for r in rows]}
        (out / "latest.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        (out / "latest.md").write_text(
            f"# paas benchmarks\n\n{'Quick' if args.quick else 'Full'} run of {', '.join(selected)}, {started_at}, "
            f"{total / 60:.1f} min, commit {info['commit']}.\n\nMachine: {machine_line(info)}.\n\n"
            f"{markdown_table(rows)}\n")
        log(f"saved {out / 'latest.json'} and {out / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

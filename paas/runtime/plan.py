"""Pure planning: which containers a release and formation need, and what to start or stop."""

from __future__ import annotations

from paas.models import ContainerSpec, Plan, Release, RunningContainer

ONE_OFF_TYPES = ("release",)  # Procfile types that never run as long-lived processes


def base_env(app: str, release: Release, port: int) -> dict[str, str]:
    env = dict(release.config)
    env.update(PORT=str(port), PAAS_APP=app, PAAS_RELEASE=release.tag)
    return env


def specs_for(
    app: str, release: Release, formation: dict[str, int], port: int, limits: dict[str, dict]
) -> list[ContainerSpec]:
    """Every container the formation wants for this release (types the release lacks are skipped)."""
    env = base_env(app, release, port)
    specs = []
    for process in sorted(release.processes):
        if process in ONE_OFF_TYPES:
            continue
        quantity = formation.get(process, 1 if process == "web" else 0)
        for index in range(1, quantity + 1):
            specs.append(spec(app, release, process, index, env, port, limits.get(process, {})))
    return specs


def spec(app, release, process, index, env, port, limit) -> ContainerSpec:
    return ContainerSpec(
        app=app, process=process, index=index, release=release.version, image=release.image or "",
        command=release.processes.get(process) or None,
        env={**env, "PAAS_PROCESS": f"{process}.{index}"},
        port=port if process == "web" else None,
        memory=limit.get("memory") or None,
        cpus=float(limit["cpus"]) if limit.get("cpus") else None,
    )


def plan_scale(
    app: str, release: Release, formation: dict[str, int], running: list[RunningContainer], port: int,
    limits: dict[str, dict],
) -> Plan:
    """Only changed types move: start missing indices, stop indices above the new count."""
    env = base_env(app, release, port)
    start, stop, keep = [], [], []
    by_type: dict[str, list[RunningContainer]] = {}
    for container in running:
        by_type.setdefault(container.process, []).append(container)
    for process in sorted(set(release.processes) | set(by_type)):
        if process in ONE_OFF_TYPES:
            continue
        want = formation.get(process, 1 if process == "web" else 0) if process in release.processes else 0
        have = sorted(by_type.get(process, []), key=lambda c: c.index)
        present = {c.index for c in have}
        for container in have:
            (keep if container.index <= want else stop).append(container)
        for index in range(1, want + 1):
            if index not in present:
                start.append(spec(app, release, process, index, env, port, limits.get(process, {})))
    return Plan(start=tuple(start), stop=tuple(stop), keep=tuple(keep))

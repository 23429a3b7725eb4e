"""RunningContainer.created_key: Docker's creation times in time order."""

from __future__ import annotations

from paas.models import RunningContainer


def at(created: str | None) -> RunningContainer:
    return RunningContainer(id="c", name="n", app="a", process="web", index=1, release=1, role="process",
                            state="running", created=created)


def test_creation_times_sort_in_time_order_though_docker_trims_trailing_zeros():
    times = ["2026-11-29T03:45:01.5Z", "2026-11-29T03:45:01.51Z", "2026-11-29T03:45:01.123456789Z",
             "2026-11-29T03:45:02Z", "2026-11-29T03:44:59.999999999Z"]
    ordered = sorted(times, key=lambda t: at(t).created_key)
    assert ordered == ["2026-11-29T03:44:59.999999999Z", "2026-11-29T03:45:01.123456789Z",
                       "2026-11-29T03:45:01.5Z", "2026-11-29T03:45:01.51Z", "2026-11-29T03:45:02Z"]
    assert sorted(times) != ordered  # as plain text they would not be


def test_an_unknown_creation_time_sorts_first():
    assert at(None).created_key < at("2026-01-01T00:00:00Z").created_key

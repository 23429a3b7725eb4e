"""procs.py: telling a process from a later one that got its pid."""

from __future__ import annotations

import subprocess
import sys

from paas import procs


def test_an_identity_names_one_process_even_after_its_pid_is_reused():
    assert not procs.gone(procs.identity())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        named = procs.identity(child.pid)
        assert not procs.gone(named)
        pid, _, start = named.partition(".")
        assert procs.gone(f"{pid}.{int(start) + 1}")  # the same pid, started at another time
    finally:
        child.kill()
        child.wait()
    assert procs.gone(named)
    assert not procs.gone("not-an-identity")  # a label someone else wrote: not ours to judge

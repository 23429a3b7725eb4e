"""router.reload against a stand-in nginx master: a reload nginx refuses is an error.

The stand-in is a real process named like nginx, with two worker children; it ignores
SIGHUP, as a master does that refuses a new config (a failed bind, no memory to fork).
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from paas import router

STAND_IN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGHUP, signal.SIG_IGN if sys.argv[1].startswith("refuse") else
              lambda *a: [subprocess.Popen(["bash", "-c", "exec -a 'nginx: worker process is shutting down' sleep 60"]),
                          [os.kill(w.pid, signal.SIGKILL) for w in workers]])
workers = [subprocess.Popen(["bash", "-c", "exec -a 'nginx: worker process' sleep 60"]) for _ in range(2)]
if sys.argv[1] == "refuse-while-draining":  # a worker of an earlier reload still finishing requests
    subprocess.Popen(["bash", "-c", "exec -a 'nginx: worker process is shutting down' sleep 60"])
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def master(paas_root):
    started = []

    def start(behaviour: str) -> int:
        proc = subprocess.Popen(["bash", "-c", f'exec -a "nginx: master process" {sys.executable} -c "$0" "$1"',
                                 STAND_IN, behaviour], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        started.append(proc)
        router.prefix().mkdir(parents=True, exist_ok=True)
        (router.prefix() / "nginx.pid").write_text(str(proc.pid))
        assert router.master_pid() == proc.pid
        return proc.pid

    yield start
    for proc in started:
        subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)])
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("behaviour", ["refuse", "refuse-while-draining"])
def test_a_reload_the_master_refuses_is_an_error(master, monkeypatch, behaviour):
    monkeypatch.setattr(router, "RELOAD_TAKEN_WAIT", 0.5)
    master(behaviour)
    began = time.monotonic()
    with pytest.raises(router.NginxKeptOldConfig, match="kept its old configuration"):
        router.reload(drain=False)
    assert time.monotonic() - began < 5


def test_a_reload_the_master_takes_returns_once_the_old_workers_stop_accepting(master, monkeypatch):
    monkeypatch.setattr(router, "RELOAD_TAKEN_WAIT", 0.5)
    master("take")
    began = time.monotonic()
    router.reload(drain=False)  # its old workers are gone: no error, no waiting out the limit
    assert time.monotonic() - began < 0.5

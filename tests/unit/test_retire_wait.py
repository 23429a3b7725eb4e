"""The background retire outwaits a build that holds the app lock longer than a command would."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time

import paas
from paas import apps, cleanup, locks, paths, retire
from paas.runtime import network


def test_the_background_retire_waits_past_the_command_lock_timeout(paas_root, monkeypatch):
    apps.create("web")
    paths.locks()  # made before the holder process looks for it
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from paas import locks\n"
        "with locks.hold('app-web', 'app web'):\n"
        "    print('held', flush=True); time.sleep(1.0)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(locks, "DEFAULT_WAIT", 0.2)  # a command gives up after 0.2 s
        monkeypatch.setattr(retire, "LOCK_WAIT", 30.0)
        deploy = importlib.import_module("paas.deploy")  # the real one: the lock is what this tests
        if not hasattr(deploy, "retire"):  # the conftest's stand-in
            monkeypatch.delitem(sys.modules, "paas.deploy")
            deploy = importlib.import_module("paas.deploy")
            monkeypatch.setattr(paas, "deploy", deploy)
        retired = []
        monkeypatch.setattr(deploy, "_stale", lambda app: [])
        monkeypatch.setattr(deploy, "orphaned_one_offs", lambda app: [])  # no Docker here
        monkeypatch.setattr(deploy, "_stop_after_drain", lambda app, stale: retired.append(app))
        monkeypatch.setattr(cleanup, "prune_app", lambda app: None)
        monkeypatch.setattr(network, "remove_legacy", lambda: None)
        monkeypatch.setattr(sys, "argv", ["paas.retire", "web", "0"])
        started = time.monotonic()
        retire.main()
        assert retired == ["web"] and time.monotonic() - started > 0.5  # it waited for the holder
    finally:
        holder.kill()
        holder.wait()

"""Per-app locks: a second process waits and then fails clearly; the holder may nest."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import pytest

from paas import locks, paths
from paas.errors import LockTimeout

TRY_LOCK = """
import sys
from paas import locks, paths
from paas.errors import LockTimeout
try:
    with locks.hold("app-demo", "app demo", wait=0.2):
        print("got it")
except LockTimeout as exc:
    print(exc.message)
"""


def other_process_tries(root) -> str:
    result = subprocess.run([sys.executable, "-c", TRY_LOCK], capture_output=True, text=True,
                            env={"PAAS_ROOT": str(root), "PATH": "/usr/bin:/bin"}, timeout=30)
    return result.stdout.strip()


def test_another_process_waits_then_fails_with_the_holder_named(paas_root):
    with locks.hold("app-demo", "app demo"):
        message = other_process_tries(paas_root)
    assert message.startswith("app demo is busy: pid ") and "has held it for over 0s" in message
    assert other_process_tries(paas_root) == "got it"


def test_the_holder_may_take_its_lock_again_and_keeps_it_until_the_outer_exit(paas_root):
    with locks.app_lock("demo"):
        with locks.app_lock("demo"):  # config:set holds it around the release it makes
            pass
        assert other_process_tries(paas_root).startswith("app demo is busy")
    assert other_process_tries(paas_root) == "got it"


@contextlib.contextmanager
def demo_lock_held_by_another_process(paas_root):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom paas import locks\n"
         "with locks.hold('app-demo', 'app demo'):\n    print('held', flush=True)\n    time.sleep(30)"],
        env={"PAAS_ROOT": str(paas_root), "PATH": "/usr/bin:/bin"}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_another_process_holds_times_out_here(paas_root):
    with demo_lock_held_by_another_process(paas_root):
        with pytest.raises(LockTimeout):
            with locks.app_lock("demo", wait=0.2):
                pass


HOLD_IMAGES = """
import sys, time
from paas import locks
with locks.image_store(removing=sys.argv[1] == "remove"):
    print("held", flush=True)
    time.sleep(30)
"""


def test_builds_share_the_image_store_and_removals_wait_for_them(paas_root):
    env = {"PAAS_ROOT": str(paas_root), "PATH": "/usr/bin:/bin"}
    build = subprocess.Popen([sys.executable, "-c", HOLD_IMAGES, "build"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert build.stdout.readline().strip() == "held"
        with locks.hold("images", "the image store", wait=0.2, shared=True):
            pass  # a second build goes ahead
        with pytest.raises(LockTimeout):
            with locks.hold("images", "the image store", wait=0.2):  # a removal waits
                pass
    finally:
        build.kill()
        build.wait()
    with locks.image_store(removing=True):
        pass


def test_renaming_an_app_not_yet_live_waits_for_its_lock(paas_root, monkeypatch):
    # A first push holds the app's lock while it builds; a rename must not move the app away.
    from paas import apps, lifecycle

    apps.create("demo", owner="root")
    monkeypatch.setattr(locks, "DEFAULT_WAIT", 0.2)
    with demo_lock_held_by_another_process(paas_root):
        with pytest.raises(LockTimeout):
            lifecycle.rename_app("demo", "renamed")
        assert apps.find("demo") is not None and apps.find("renamed") is None


def _waiter_message_during_a_build(env) -> str:
    """What a removal that gives up while a build holds the image store says."""
    build = subprocess.Popen([sys.executable, "-c", HOLD_IMAGES, "build"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert build.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout) as waited:
            with locks.image_store(removing=True, wait=0.2):
                pass
        return waited.value.message
    finally:
        build.kill()
        build.wait()


def test_a_waiter_names_no_holder_that_has_let_go_or_died(paas_root):
    # An exclusive holder's note goes with it; a killed one's note names a pid no longer running.
    env = {"PAAS_ROOT": str(paas_root), "PATH": "/usr/bin:/bin"}
    with locks.image_store(removing=True):
        pass
    assert _waiter_message_during_a_build(env) == "the image store is busy: another command has held it for over 0s"
    killed = subprocess.Popen([sys.executable, "-c", HOLD_IMAGES, "remove"], env=env, stdout=subprocess.PIPE, text=True)
    assert killed.stdout.readline().strip() == "held"
    killed.kill()
    killed.wait()
    assert (paths.locks() / "images.lock").read_text().startswith("pid ")  # left behind by the kill
    assert _waiter_message_during_a_build(env) == "the image store is busy: another command has held it for over 0s"


def test_the_next_holder_learns_that_the_last_one_died_holding_the_lock(paas_root):
    """A command killed mid-way leaves its note; one that let go cleared it (app_lock then
    runs deploy.recover)."""
    with locks.hold("app-demo", "app demo") as died_holding:
        assert died_holding is False  # never held before
    with locks.hold("app-demo", "app demo") as died_holding:
        assert died_holding is False  # its last holder let go
    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal\nfrom paas import locks\n"
         "with locks.hold('app-demo', 'app demo'):\n    os.kill(os.getpid(), signal.SIGKILL)\n"],
        env={"PAAS_ROOT": str(paas_root), "PATH": "/usr/bin:/bin"}, timeout=30)
    assert killed.returncode == -9
    with locks.hold("app-demo", "app demo") as died_holding:
        assert died_holding is True
    with locks.hold("app-demo", "app demo") as died_holding:
        assert died_holding is False  # told once


def test_a_holder_that_cannot_write_its_own_note_leaves_the_dead_ones_for_the_next(paas_root, monkeypatch):
    # The last holder died holding the lock; the next one fails (a full disk, or killed) as it
    # writes its note: the one after it must still learn that a clean-up is due.
    with locks.hold("app-demo", "app demo"):
        pass
    (paths.locks() / "app-demo.lock").write_text("pid 999999")  # died holding it
    real_pwrite = locks.os.pwrite

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(locks.os, "pwrite", disk_full)
    with pytest.raises(OSError):
        with locks.hold("app-demo", "app demo"):
            pass
    monkeypatch.setattr(locks.os, "pwrite", real_pwrite)
    with locks.hold("app-demo", "app demo") as died_holding:
        assert died_holding is True


def test_shared_holders_and_nested_holds_report_no_dead_holder(paas_root):
    """Only an exclusive holder leaves a note, and only the outer hold is told about it."""
    paths.locks().mkdir(parents=True, exist_ok=True)
    for name in ("images", "app-demo"):  # as a holder killed mid-way left them
        (paths.locks() / f"{name}.lock").write_text("pid 999999999")
    with locks.hold("images", "the image store", shared=True) as died_holding:
        assert died_holding is False
    with locks.hold("app-demo", "app demo") as outer, locks.hold("app-demo", "app demo") as nested:
        assert (outer, nested) == (True, False)


def _left_by_a_killed_holder(recover_failure, monkeypatch):
    """App demo whose lock a killed holder left; deploy.recover fails once with `recover_failure`.
    Returns the list of apps recover was called for."""
    import paas
    from paas import apps

    apps.create("demo")
    paths.locks().mkdir(parents=True, exist_ok=True)
    (paths.locks() / "app-demo.lock").write_text("pid 999999999")
    recoveries = []

    def recover(app, revive=True):
        recoveries.append(app)
        if len(recoveries) == 1:
            raise recover_failure

    monkeypatch.setattr(paas.deploy, "recover", recover, raising=False)
    with pytest.raises(type(recover_failure)):
        with locks.app_lock("demo"):
            pytest.fail("the command must not run on what a dead holder left")
    for _ in range(2):
        with locks.app_lock("demo"):
            pass
    return recoveries


def test_a_recovery_dockerd_was_down_for_is_tried_again_by_the_next_holder(paas_root, monkeypatch):
    from paas.errors import ServiceUnavailable

    recoveries = _left_by_a_killed_holder(ServiceUnavailable("Docker is not answering"), monkeypatch)
    assert recoveries == ["demo", "demo"]  # tried again once, then done


def test_a_recovery_that_fails_for_good_does_not_block_every_later_command(paas_root, monkeypatch):
    from paas.errors import DeployFailed

    recoveries = _left_by_a_killed_holder(DeployFailed("nginx -t refused the app's template"), monkeypatch)
    assert recoveries == ["demo"]  # the next commands (a push of the fix) run


def test_a_command_that_could_not_undo_its_route_change_leaves_the_recovery_to_the_next(paas_root, monkeypatch):
    import paas
    from paas import apps

    apps.create("demo")
    recoveries = []
    monkeypatch.setattr(paas.deploy, "recover", lambda app, revive=True: recoveries.append(app), raising=False)
    with pytest.raises(RuntimeError):
        with locks.app_lock("demo"):
            locks.recover_later("demo")  # as deploy._route_put_back does when nginx cannot be put back
            raise RuntimeError("the deploy failed")
    with locks.app_lock("demo"):
        pass
    with locks.app_lock("demo"):
        pass
    assert recoveries == ["demo"]

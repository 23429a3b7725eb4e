"""handoff.py: a hook's deploy handed to the process that ran receive-pack, with real processes.

The "receive-pack" here is `sh`, running a stand-in hook that calls `handoff.hand_over()`
with its stdin, stdout and stderr on files; the work it hands over runs in this process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from paas import handoff

HOOK = "import sys; from paas import handoff; code = handoff.hand_over(); sys.exit(99 if code is None else code)"


def _fake_receive_pack(tmp_path: Path, extra_env: str = "") -> list[str]:
    (tmp_path / "in").write_text("old new refs/heads/main\n")
    hook_dir = tmp_path / "repo"
    hook_dir.mkdir()
    script = (f"cd {hook_dir} && {extra_env} {sys.executable} -c '{HOOK}' <../in >../out 2>../err; "
              "echo $? >../code")
    return ["sh", "-c", script]


def _stdio_identity():
    return [(os.fstat(n).st_dev, os.fstat(n).st_ino) for n in (0, 1, 2)]


def test_the_hooks_work_runs_here_on_its_stdio_cwd_and_env_and_its_code_comes_back(tmp_path):
    seen = {}

    def run_hook() -> int:
        seen["stdin"] = os.read(0, 1000).decode()
        seen["cwd"] = os.getcwd()
        seen["env"] = os.environ.get("GIT_QUARANTINE_PATH")
        seen["fd_left"] = handoff.ENV in os.environ
        os.write(1, b"to stdout\n")
        os.write(2, b"to stderr\n")
        return 7

    before = (_stdio_identity(), os.getcwd(), dict(os.environ))
    codes = handoff.run_receive_pack(_fake_receive_pack(tmp_path, "GIT_QUARANTINE_PATH=/q"), run_hook)

    assert codes == (0, 7)  # sh's own, and the hook's
    assert (tmp_path / "code").read_text().strip() == "7"
    assert seen == {"stdin": "old new refs/heads/main\n", "cwd": str(tmp_path / "repo"), "env": "/q",
                    "fd_left": False}
    assert (tmp_path / "out").read_text() == "to stdout\n"
    assert (tmp_path / "err").read_text() == "to stderr\n"
    assert (_stdio_identity(), os.getcwd(), dict(os.environ)) == before  # all put back


def test_a_crash_in_the_handed_over_work_fails_the_push_and_puts_everything_back(tmp_path):
    # The taking side runs in a process of its own too: its sys.stderr is a real one there.
    taker = f"""
import json, os, sys
from paas import handoff
def run_hook():
    os.chdir("/")
    raise RuntimeError("boom")
before = (os.getcwd(), dict(os.environ), [os.fstat(n).st_ino for n in (0, 1, 2)])
handoff.run_receive_pack({_fake_receive_pack(tmp_path)!r}, run_hook)
after = (os.getcwd(), dict(os.environ), [os.fstat(n).st_ino for n in (0, 1, 2)])
print(json.dumps(before == after))
"""
    result = subprocess.run([sys.executable, "-c", taker], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "true", result.stderr
    assert (tmp_path / "code").read_text().strip() == "1"
    assert "internal error: RuntimeError: boom" in (tmp_path / "err").read_text()


def test_receive_pack_that_never_runs_the_hook_is_just_waited_for(tmp_path):
    ran = []
    codes = handoff.run_receive_pack(["sh", "-c", "exit 3"], lambda: ran.append(1) or 0)
    assert (codes, ran) == ((3, None), [])


def test_a_hook_without_the_socket_deploys_by_itself(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != handoff.ENV}
    for value in (None, "x", "0"):  # none, garbage, an fd that is no socket (stdin: /dev/null)
        run_env = env if value is None else {**env, handoff.ENV: value}
        result = subprocess.run([sys.executable, "-c", HOOK], env=run_env, stdin=subprocess.DEVNULL)
        assert result.returncode == 99, value


def test_a_hook_whose_taker_dies_without_answering_fails(tmp_path):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours:
        hook = subprocess.Popen([sys.executable, "-c", HOOK], pass_fds=(theirs.fileno(),),
                                env={**os.environ, handoff.ENV: str(theirs.fileno())},
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        theirs.close()
        _, fds, _, _ = socket.recv_fds(ours, 1 << 20, 3)  # taken, then dropped unanswered
        for fd in fds:
            os.close(fd)
    _, err = hook.communicate(timeout=30)
    assert hook.returncode == 1
    assert "the deploy stopped before it said how it ended" in err


@pytest.mark.parametrize("cut_short", [False, True])
def test_a_request_that_cannot_be_acted_on_is_answered_with_a_failure_and_a_reason(tmp_path, monkeypatch,
                                                                                     cut_short):
    # Its repo (the hook's cwd) went away meanwhile, or the kernel cut the request short (an
    # environment larger than the entry reads): the hook gets 1 and the reason on its stderr,
    # nothing runs, and the SSH entry goes on to wait for receive-pack.
    if cut_short:
        monkeypatch.setattr(handoff, "_MAX_REQUEST", 64)
        request, reason = handoff.encode_request(str(tmp_path), {b"BIG": b"x" * 200}), "larger than"
    else:
        request, reason = handoff.encode_request(str(tmp_path / "gone"), {}), "paas could not run the deploy"
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ran = []
    with ours, theirs:
        socket.send_fds(theirs, [request], [stdin_r, out_w, err_w])
        for fd in (stdin_r, out_w, err_w):
            os.close(fd)
        assert handoff._serve(ours, lambda: ran.append(1) or 0) == 1
        assert theirs.recv(16) == b"1"
    for fd in (stdin_w, out_r):
        os.close(fd)
    with os.fdopen(err_r) as err:
        assert reason in err.read()
    assert ran == []


def test_the_hooks_cwd_and_environment_cross_byte_for_byte():
    env = {b"GIT_DIR": b".", b"EMPTY": b"", b"EQUALS": b"a=b=c", b"LATIN": b"caf\xe9", b"NEWLINE": b"1\n2"}
    cwd, decoded = handoff.decode_request(handoff.encode_request("/srv/repos/caf\udce9.git", env))
    assert cwd == "/srv/repos/caf\udce9.git"
    assert {os.fsencode(k): os.fsencode(v) for k, v in decoded.items()} == env


@pytest.mark.parametrize("message", [b"/cwd\0NOEQUALS", b"/cwd\0=value"])
def test_a_malformed_request_is_refused(message):
    with pytest.raises(ValueError):
        handoff.decode_request(message)


def test_the_hooks_side_loads_only_what_it_needs():
    # The hook starts on every push while the pusher waits: these would add ~15 ms.
    code = ("import sys; import paas.hook, paas.handoff; "
            "print(' '.join(m for m in ('json', 'subprocess', 'typing', 'contextlib', 'paas.console') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""

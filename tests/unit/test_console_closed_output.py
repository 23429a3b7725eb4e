"""A reader that leaves (a pusher's Ctrl-C) must not turn the next output line into an error."""

from __future__ import annotations

import io
import os
import sys

import pytest

from paas import console


@pytest.fixture
def closed_pipe():
    """A text stream whose reader is gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = io.TextIOWrapper(os.fdopen(write_end, "wb"), encoding="utf-8")
    yield stream
    os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())  # so that closing it cannot fail
    stream.close()


def test_by_default_a_closed_pipe_ends_the_command(closed_pipe, monkeypatch):
    # (sys.stdout is set here, in the test: pytest puts its own back between fixture and test)
    monkeypatch.setattr(sys, "stdout", closed_pipe)
    monkeypatch.setattr(console, "_survive_closed_output", False)
    with pytest.raises(BrokenPipeError):
        console.step("Building")


def test_a_deploy_keeps_going_when_its_pusher_left(closed_pipe, monkeypatch):
    monkeypatch.setattr(sys, "stdout", closed_pipe)
    monkeypatch.setattr(console, "_survive_closed_output", False)
    console.survive_closed_output()
    console.step("Building")
    console.detail("more\nlines")
    console.step("web v2 is live")
    closed_pipe.flush()  # later writes and the final flush go to /dev/null


def test_program_output_is_shown_without_colours_or_controls():
    from paas import console

    assert console.plain("\x1b[91mnpm ERR!\x1b[0m code\x1b[2K\x1b[?25l\x07 x\r\tat y") == "npm ERR! code\\x07 x\\x0d    at y"

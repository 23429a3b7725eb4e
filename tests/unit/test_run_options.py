"""`paas run APP -e K=V -- CMD`: options after APP, then the command with its own options."""

from __future__ import annotations

import pytest

from paas.cli.runtime import _split_env_options
from paas.errors import InvalidInput


@pytest.mark.parametrize("words,expected", [
    (["-e", "A=1", "--", "ls", "-l"], (["A=1"], ["ls", "-l"])),
    (["--env", "A=1", "-e", "B=2", "ls"], (["A=1", "B=2"], ["ls"])),
    (["--env=A=1", "--", "--", "x"], (["A=1"], ["--", "x"])),
    (["-eA=1", "-e", "B=2", "ls"], (["A=1", "B=2"], ["ls"])),
    (["ls", "-e", "A=1"], ([], ["ls", "-e", "A=1"])),  # after the command: the command's own
    (["--", "-e", "A=1"], ([], ["-e", "A=1"])),
    ([], ([], [])),
])
def test_env_options_before_the_command(words, expected):
    assert _split_env_options(words) == expected


def test_an_env_option_without_its_value_is_refused():
    with pytest.raises(InvalidInput, match="-e needs KEY=VALUE"):
        _split_env_options(["-e"])

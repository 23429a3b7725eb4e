"""Choosing container addresses on the app network (pure part of paas/runtime/network.py)."""

from __future__ import annotations

import ipaddress
import random

import pytest

from paas.errors import PaasError
from paas.runtime.network import pick_address


def test_an_address_is_a_host_of_the_subnet_and_never_the_gateway_or_a_taken_one():
    rng = random.Random(7)
    taken = {f"172.30.0.{i}" for i in range(2, 200)}
    for _ in range(500):
        address = pick_address("172.30.0.0/24", "172.30.0.1", taken, rng)
        assert ipaddress.ip_address(address) in ipaddress.ip_network("172.30.0.0/24")
        assert address not in taken | {"172.30.0.0", "172.30.0.1", "172.30.0.255"}


def test_a_nearly_full_subnet_still_finds_its_last_free_address():
    taken = {f"10.9.0.{i}" for i in range(2, 255) if i != 77}
    assert pick_address("10.9.0.0/24", "10.9.0.1", taken, random.Random(1)) == "10.9.0.77"


def test_a_full_subnet_is_a_clear_error():
    taken = {f"10.9.0.{i}" for i in range(2, 255)}
    with pytest.raises(PaasError, match="no free address"):
        pick_address("10.9.0.0/24", "10.9.0.1", taken, random.Random(1))


def test_without_a_known_gateway_the_first_host_is_left_to_docker():
    rng = random.Random(3)
    picks = {pick_address("10.9.0.0/29", None, set(), rng) for _ in range(200)}
    assert picks == {"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}

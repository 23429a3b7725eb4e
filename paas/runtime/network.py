"""The Docker network app containers run on, and the address paas chooses for each container.

nginx's upstreams name container addresses. After a dockerd restart, Docker brings containers
back (restart policy) but hands dynamic addresses out again in whatever order they come up,
so one app's vhost would send its requests to another app's container until `ps:restore`.
A chosen address is kept across restarts, so paas chooses every address itself. Docker only
accepts a chosen address on a network whose subnet was given at creation: paas lets Docker
pick a free subnet once (a probe network), then creates its network with that subnet.
"""

from __future__ import annotations

import ipaddress
import random
import secrets
import threading
from dataclasses import dataclass

from paas import names
from paas.errors import PaasError

FIXED_LABEL = "paas.addresses"  # "chosen": the network was made with a fixed subnet
ADDRESS_IN_USE = "Address already in use"  # dockerd's answer when another container has it


@dataclass(frozen=True)
class Network:
    subnet: str | None  # None: a network made without a fixed subnet; Docker picks addresses
    gateway: str | None


def pick_address(subnet: str, gateway: str | None, taken: set[str], rng=random) -> str:
    """A free host address of the subnet, at random so that commands running beside each
    other rarely pick the same one (dockerd refuses the second, which then picks again)."""
    network = ipaddress.ip_network(subnet)
    unusable = taken | {gateway or str(network.network_address + 1)}
    first, last = int(network.network_address) + 1, int(network.broadcast_address) - 1
    for _ in range(64):
        candidate = str(ipaddress.ip_address(rng.randint(first, last)))
        if candidate not in unusable:
            return candidate
    for host in network.hosts():  # nearly full: look at every address
        if str(host) not in unusable:
            return str(host)
    raise PaasError(f"the Docker network {names.NETWORK} ({subnet}) has no free address left")


_reserved: set[str] = set()  # picked by this process, maybe not yet visible in Docker's list
_reserving = threading.Lock()


def endpoint(api) -> dict:
    """kwargs for `containers.create/run`: the network and, on a fixed subnet, an address."""
    network = ensure()
    if network.subnet is None:
        return {"network": names.NETWORK}
    with _reserving:
        address = pick_address(network.subnet, network.gateway, _taken(api) | _reserved)
        _reserved.add(address)
    return {"network": names.NETWORK,
            "networking_config": {names.NETWORK: api.create_endpoint_config(ipv4_address=address)}}


def _taken(api) -> set[str]:
    """Addresses held or configured by any container on the network, stopped ones included
    (a stopped container takes its configured address back when it starts)."""
    taken = set()
    for summary in _users(api, names.NETWORK):
        settings = ((summary.get("NetworkSettings") or {}).get("Networks") or {}).get(names.NETWORK) or {}
        for address in (settings.get("IPAddress"), (settings.get("IPAMConfig") or {}).get("IPv4Address")):
            if address:
                taken.add(address)
    return taken


def _users(api, network: str) -> list:
    """Every container on the network, stopped or crash-looping ones included: Docker lets a
    network go while an exited container still names it, and that container never starts again."""
    return api.containers(all=True, filters={"network": network})


_ensuring = threading.Lock()  # start_all's threads all ask at once on a fresh host
_known: Network | None = None


def ensure() -> Network:
    """The app network, made if missing (once per process: every container start asks)."""
    global _known
    with _ensuring:
        if _known is None:
            _known = _ensure()
        return _known


def _ensure() -> Network:
    from paas.runtime import docker_api

    errors = docker_api._errors()
    client = docker_api.client()
    try:
        existing = client.networks.get(names.NETWORK)
    except errors.NotFound:
        existing = None
    if existing is not None and not _is_fixed(existing.attrs) and not _users(client.api, names.NETWORK):
        # Made by an earlier paas without a fixed subnet, and unused: make it again, fixed.
        try:
            existing.remove()
            existing = None
        except errors.NotFound:  # another command removed it first
            existing = None
        except errors.APIError:  # a container joined it meanwhile: keep it as it is
            pass
    if existing is None:
        _create(client, errors)
        existing = client.networks.get(names.NETWORK)
    return _describe(existing.attrs)


def _is_fixed(attrs: dict) -> bool:
    return (attrs.get("Labels") or {}).get(FIXED_LABEL) == "chosen"


def _describe(attrs: dict) -> Network:
    config = ((attrs.get("IPAM") or {}).get("Config") or [{}])[0]
    if not _is_fixed(attrs) or not config.get("Subnet"):
        return Network(None, None)
    return Network(config["Subnet"], config.get("Gateway"))


PROBE_PREFIX = f"{names.NETWORK}-probe-"
NO_POOL_HINT = ("remove networks nothing uses (docker network prune), or give dockerd more address pools "
                "(default-address-pools in /etc/docker/daemon.json)")


def _create(client, errors) -> None:
    _remove_leftover_probes(client, errors)
    for _ in range(3):
        try:
            probe = client.networks.create(f"{PROBE_PREFIX}{secrets.token_hex(3)}", driver="bridge",
                                           labels={names.LABEL_ROLE: "probe"})
        except errors.APIError as exc:
            raise PaasError(f"creating the Docker network {names.NETWORK} failed: {exc.explanation or exc}",
                            hint=NO_POOL_HINT) from None
        try:
            config = ((probe.attrs.get("IPAM") or {}).get("Config") or [{}])[0]
        finally:
            probe.remove()
        ipam = {"Driver": "default", "Config": [{"Subnet": config["Subnet"], "Gateway": config["Gateway"]}]}
        try:
            client.networks.create(names.NETWORK, driver="bridge", ipam=ipam, options=names.NETWORK_OPTIONS,
                                   labels={names.LABEL_ROLE: "network", FIXED_LABEL: "chosen"},
                                   check_duplicate=True)
            return
        except errors.APIError as exc:
            if exc.status_code == 409:  # a command running beside this one made it first
                return
            if "overlap" not in str(exc):  # anything but "another network took that subnet meanwhile"
                raise PaasError(f"creating the Docker network {names.NETWORK} failed: {exc.explanation or exc}") from None
    raise PaasError(f"creating the Docker network {names.NETWORK} failed: no free subnet stayed free")


def _remove_leftover_probes(client, errors) -> None:
    """A command killed between making and removing its probe left it holding an address pool."""
    for network in client.networks.list(names=[PROBE_PREFIX]):
        if network.name.startswith(PROBE_PREFIX) and (network.attrs.get("Labels") or {}).get(names.LABEL_ROLE) == "probe":
            try:
                network.remove()
            except errors.APIError:  # another command's probe, in use this very moment
                pass


def remove_legacy() -> bool:
    """Remove the shared network of older versions once no container uses it (True if removed)."""
    from paas.runtime import docker_api

    errors = docker_api._errors()
    try:
        network = docker_api.client().networks.get(names.LEGACY_NETWORK)
    except errors.NotFound:
        return False
    if (network.attrs.get("Labels") or {}).get(names.LABEL_ROLE) != "network" or _users(
            docker_api.api(), names.LEGACY_NETWORK):
        return False
    try:
        network.remove()
    except errors.APIError:  # a container joined it meanwhile, or another command removed it
        return False
    return True

"""Network filters for preflight checks, on the standard library alone.

``ansible.utils.ipaddr`` would need the netaddr package on every controller;
these questions need nothing beyond ``ipaddress``.
"""

from __future__ import annotations

import ipaddress
from itertools import combinations


def _network(name: str, cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(cidr), strict=True)
    except ValueError as error:
        raise ValueError(f"{name}: {cidr!r} is not a network in CIDR notation ({error})") from None


def cidr_overlaps(named_cidrs: dict[str, str]) -> list[str]:
    """One sentence per overlapping pair, e.g. ``a (10.0.0.0/8) overlaps b (10.1.0.0/16)``."""
    networks = {name: _network(name, cidr) for name, cidr in named_cidrs.items() if cidr}
    return [
        f"{name_a} ({net_a}) overlaps {name_b} ({net_b})"
        for (name_a, net_a), (name_b, net_b) in combinations(networks.items(), 2)
        if net_a.version == net_b.version and net_a.overlaps(net_b)
    ]


def cidr_invalid(named_cidrs: dict[str, str]) -> list[str]:
    """Return a message per value that is not a network in CIDR notation."""
    problems = []
    for name, cidr in named_cidrs.items():
        if not cidr:
            continue
        try:
            _network(name, cidr)
        except ValueError as error:
            problems.append(str(error))
    return problems


def address_in_cidrs(address: str, named_cidrs: dict[str, str]) -> list[str]:
    """Names of the networks that contain ``address`` (empty when it is a hostname)."""
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return []
    return [
        name
        for name, cidr in named_cidrs.items()
        if cidr and ip.version == _network(name, cidr).version and ip in _network(name, cidr)
    ]


class FilterModule:
    def filters(self):
        return {
            "cidr_overlaps": cidr_overlaps,
            "cidr_invalid": cidr_invalid,
            "address_in_cidrs": address_in_cidrs,
        }

"""The CIDR filters preflight uses (plugins/filter/cidr.py)."""

from __future__ import annotations

from ansible_collections.titanium.platform.plugins.filter.cidr import (
    address_in_cidrs,
    cidr_invalid,
    cidr_overlaps,
)


def test_cidr_overlaps_names_each_overlapping_pair():
    found = cidr_overlaps(
        {"pods": "10.42.0.0/16", "services": "10.42.128.0/17", "nodes": "192.168.1.0/24", "x": ""}
    )
    assert found == ["pods (10.42.0.0/16) overlaps services (10.42.128.0/17)"]
    assert cidr_overlaps({"pods": "10.42.0.0/16", "services": "10.43.0.0/16"}) == []
    # Different address families never overlap.
    assert cidr_overlaps({"v4": "10.0.0.0/8", "v6": "fd00::/8"}) == []


def test_cidr_invalid_explains_what_is_wrong():
    problems = cidr_invalid({"a": "10.42.0.0/16", "b": "10.42.0.1/16", "c": "ten", "d": ""})
    assert len(problems) == 2
    assert problems[0].startswith("b: '10.42.0.1/16' is not a network")
    assert problems[1].startswith("c: 'ten' is not a network")


def test_address_in_cidrs_ignores_hostnames():
    cidrs = {"pods": "10.42.0.0/16", "services": "10.43.0.0/16"}
    assert address_in_cidrs("10.43.0.7", cidrs) == ["services"]
    assert address_in_cidrs("192.0.2.1", cidrs) == []
    assert address_in_cidrs("server-1.example", cidrs) == []

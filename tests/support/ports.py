"""Ports for the servers the tests and the rehearsal start, chosen where nothing
but another bind can take them.

`bind(("127.0.0.1", 0))` hands out a port from the kernel's ephemeral range,
and any outgoing connection may take that port before the server binds it
(fresh-clone runs lost argocd-server and Prometheus starts to "address already
in use" that way). Ports below that range are taken only by an explicit bind.
30000-32767 is left out too: the real node's kube-proxy redirects its NodePorts.
Each pytest-xdist worker draws from its own share, so two workers never pick
the same port; within a process, no port is handed out twice.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

LOWEST = 20000
NODE_PORTS_START = 30000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
ATTEMPTS = 200

_handed_out: set[int] = set()


def _candidates() -> range:
    highest = NODE_PORTS_START
    if EPHEMERAL_RANGE.exists():
        highest = min(highest, int(EPHEMERAL_RANGE.read_text().split()[0]))
    if highest - LOWEST < 1000:
        raise RuntimeError(
            f"the ephemeral port range starts at {highest}, leaving too few ports above "
            f"{LOWEST} for the tests' servers: raise its start "
            f"(sysctl net.ipv4.ip_local_port_range, {EPHEMERAL_RANGE})"
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker) if worker.isdigit() else 0
    return range(LOWEST + index % workers, highest, max(workers, 1))


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on, outside the ephemeral range."""
    candidates = _candidates()
    # Drawn without repeats: where few are left, each is tried once, not left to chance.
    for port in random.sample(candidates, min(ATTEMPTS, len(candidates))):
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(
        f"no free port among {min(ATTEMPTS, len(candidates))} of {len(candidates)} tried: "
        "is something holding them?"
    )

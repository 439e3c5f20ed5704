"""The tests' port picker: outside the ephemeral and NodePort ranges, one share
per xdist worker, never a port something holds."""

import socket

import pytest

from tests.support import ports


def ephemeral_start() -> int:
    return int(ports.EPHEMERAL_RANGE.read_text().split()[0])


def test_ports_are_outside_the_ephemeral_and_node_port_ranges():
    picked = [ports.free_port() for _ in range(300)]
    assert all(
        ports.LOWEST <= port < min(ephemeral_start(), ports.NODE_PORTS_START) for port in picked
    )
    assert len(set(picked)) == len(picked), "a port was handed out twice"


def test_two_workers_never_draw_the_same_port(monkeypatch):
    shares = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
        monkeypatch.setattr(ports, "_handed_out", set())  # each worker is its own process
        shares.append({ports.free_port() for _ in range(200)})
    assert not shares[0] & shares[1]


def test_a_port_something_listens_on_is_never_handed_out(monkeypatch):
    held = []
    for port in range(ports.LOWEST, ports.LOWEST + 40):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        sock.listen()
        held.append(sock)
    monkeypatch.setattr(ports, "_candidates", lambda: range(ports.LOWEST, ports.LOWEST + 41))
    # This process may have handed out the one free port to an earlier test.
    monkeypatch.setattr(ports, "_handed_out", set())
    try:
        assert ports.free_port() == ports.LOWEST + 40
    finally:
        for sock in held:
            sock.close()


def test_too_small_a_range_says_what_to_change(monkeypatch, tmp_path):
    narrow = tmp_path / "ip_local_port_range"
    narrow.write_text(f"{ports.LOWEST + 10}\t60999\n")
    monkeypatch.setattr(ports, "EPHEMERAL_RANGE", narrow)
    with pytest.raises(RuntimeError, match="ip_local_port_range"):
        ports.free_port()

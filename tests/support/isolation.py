"""Keeps the unit tier honest: a unit test runs in the pytest process alone.

Python's audit hooks see every process start (subprocess, os.system, exec,
spawn, fork) and every socket bound or connected to a network address. While a
guarded test runs, each of them raises `IsolationError` where it happens and
fails the test, even when the code under test swallows the error: what starts
ansible-playbook, a server or any other process belongs in tests/integration.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
    }
)
NETWORK_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class IsolationError(RuntimeError):
    """A guarded test started a process, or bound or reached a network socket."""


_violations: list[str] | None = None
# Threads already running when the guard went on (another tier's servers still
# up in the same session): theirs is not the test's doing.
_bystanders: frozenset[int] = frozenset()


def _describe(event: str, args: tuple) -> str | None:
    if event in PROCESS_EVENTS:
        shown = " ".join(str(part) for part in args[1]) if event == "subprocess.Popen" else args
        return f"started a process ({event}: {shown})"
    if event in ("socket.bind", "socket.connect"):
        sock, address = args
        if event == "socket.bind" or sock.family in NETWORK_FAMILIES:
            verb = "opened a socket on" if event == "socket.bind" else "connected to"
            return f"{verb} {address!r}"
    return None


def _audit(event: str, args: tuple) -> None:
    if _violations is None or threading.get_ident() in _bystanders:
        return
    problem = _describe(event, args)
    if problem is not None:
        _violations.append(problem)
        raise IsolationError(f"the unit tier runs no process and no server: this test {problem}")


sys.addaudithook(_audit)


@contextmanager
def isolated() -> Iterator[list[str]]:
    """Within the block, starting a process or using a network socket raises
    IsolationError, in this thread and in any thread started within; the list
    yielded holds what was attempted."""
    global _violations, _bystanders  # the audit hook is process-wide; so is its switch
    outer = _violations, _bystanders
    _bystanders = frozenset(t.ident for t in threading.enumerate()) - {threading.get_ident()}
    _violations = []
    try:
        yield _violations
    finally:
        _violations, _bystanders = outer

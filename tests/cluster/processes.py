"""Detached processes the tests start, and the proof that none outlives its stop.

The simulated cluster, the real node, Argo CD, Gitea and the rehearsal start
programs that outlive one call and are often stopped from another process
(their state saved as JSON): a recorded pid must be told apart from a recycled
one, and a stop must wait for the whole process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from subprocess import STDOUT, Popen

LOG_TAIL_LINES = 40


@dataclass
class Component:
    name: str
    pid: int
    log: str
    exe: str


def start_component(name: str, argv: list[str], logs: Path) -> Component:
    log_path = logs / f"{name}.log"
    with log_path.open("ab") as log:
        # A session of its own: stop_components() signals the whole process
        # group, and a Ctrl-C in the caller's terminal does not reach it half-way.
        proc = Popen(argv, stdout=log, stderr=STDOUT, stdin=None, start_new_session=True)
    return Component(name, proc.pid, str(log_path), argv[0])


def alive(component: Component) -> bool:
    """True while the recorded pid is still the process we started, not a
    recycled pid running something else."""
    proc = Path(f"/proc/{component.pid}")
    try:
        stat = (proc / "stat").read_text()
        argv = (proc / "cmdline").read_bytes().split(b"\0")
        exe = os.readlink(proc / "exe").removesuffix(" (deleted)")
    except OSError:
        return False
    if stat.rsplit(")", 1)[1].split()[0] == "Z":
        return False
    # Right after exec the command line can still read empty; a script run
    # through its #! line shows as "sh SCRIPT ...".
    return exe == component.exe or argv == [b""] or component.exe.encode() in argv[:2]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _group_alive(pgid: int) -> bool:
    """True while any live (non-zombie) process is in the group. Scans /proc
    rather than signalling: a zombie nobody reaps still answers kill(0)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def stop_components(components: list[Component], grace: float = 5.0) -> list[str]:
    """Stop each component's process group, last started first, waiting for
    each: the API server shuts down in a second while etcd is there, but hangs
    retrying once etcd is gone. SIGKILL what outlives the grace period.
    Returns the names still running."""
    for component in reversed(components):
        if alive(component):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(component.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            _reap(component.pid)
            if not _group_alive(component.pid):
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(component.pid, signal.SIGKILL)
            time.sleep(0.2)
            _reap(component.pid)
    return [c.name for c in components if _group_alive(c.pid)]


def tail(path: str | Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text[-lines:])

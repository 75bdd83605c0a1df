"""Child processes: started so they die with their parent, stopped with SIGTERM then SIGKILL, supervised.

Every process the service, the benchmark and the tests start goes through here, so one rule holds
everywhere: a child never outlives its parent (Linux PR_SET_PDEATHSIG), and stopping is SIGTERM to all
at once, a shared grace period, then SIGKILL for what is left, and a wait for each, so no zombie or
orphan stays behind and stopping N children takes one grace period, not N.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

# Seconds a child gets between SIGTERM and SIGKILL. A worker gives itself less (workers.WORKER_GRACE)
# so it usually exits on its own, unregistered, before this runs out.
GRACE = 7.0

# Any: bytes or text, as the caller asked.
Proc = subprocess.Popen[Any]


def die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM when the parent dies, however it dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(args: Sequence[str], env: dict[str, str] | None = None, cwd: str | Path | None = None,
          stdout: IO[Any] | int | None = None, stderr: IO[Any] | int | None = None,
          stdin: IO[Any] | int | None = None, own_session: bool = False, text: bool = False) -> Proc:
    """Start a child that dies with this process. `own_session`: Ctrl-C at the terminal reaches only the
    parent, which then stops its children in order."""
    return subprocess.Popen(list(args), env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
                            start_new_session=own_session, text=text,
                            preexec_fn=die_with_parent if os.name == "posix" else None)


def python(module: str, *args: str, **kwargs: Any) -> Proc:
    """`python -m module args` with this interpreter."""
    return spawn([sys.executable, "-m", module, *args], **kwargs)


def stop(procs: Proc | Iterable[Proc | None] | None, grace: float = GRACE) -> None:
    """SIGTERM every live one, wait up to `grace` seconds for all, SIGKILL the rest, reap them all."""
    many = [procs] if procs is None or isinstance(procs, subprocess.Popen) else procs
    live = [p for p in many if p is not None and p.poll() is None]
    for proc in live:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in live:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()


class Children:
    """Processes stopped together when the `with` block ends, also on an error or Ctrl-C."""

    def __init__(self, grace: float = GRACE) -> None:
        self.grace = grace
        self.procs: list[Proc] = []

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        stop(self.procs, self.grace)
        self.procs.clear()

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Supervised:
    """A child restarted when it dies: `check()` from the supervisor's loop."""

    def __init__(self, name: str, start: Callable[[], Proc]) -> None:
        self.name = name
        self._start = start
        self.process: Proc | None = None
        self.restarts = 0

    @classmethod
    def command(cls, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Supervised:
        return cls(name, lambda: spawn(args, env=env))

    def start(self) -> None:
        self.process = self._start()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self, report: Callable[[str], None] = print) -> int | None:
        """Start it again if it died; returns the dead process's pid (None while it runs)."""
        if self.process is None or self.process.poll() is None:
            return None
        dead = self.process.pid
        self.restarts += 1
        report(f"{self.name} exited with {self.process.returncode}; restarting")
        self.start()
        return dead

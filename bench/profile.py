"""Where a worker's time goes: py-spy sampling one worker during the end-to-end ingest (optional)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Bench, spawn

_LINE = re.compile(r":\d+\)$")


@dataclass
class Spy:
    proc: subprocess.Popen[bytes]
    out: Path


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(bench: Bench, pid: int, out: Path, seconds: int = 60) -> Spy | None:
    exe = py_spy()
    if exe is None:
        print("warning: py-spy not installed (pip install py-spy); no profile", file=sys.stderr)
        return None
    args = [exe, "record", "-o", str(out), "--format", "raw", "-d", str(seconds), "--pid", str(pid)]
    return Spy(spawn(bench, args, "py-spy.log"), out)


def finish(spy: Spy) -> None:
    # py-spy writes its file on SIGINT, as on Ctrl-C; stop sampling once the ingest is over.
    if spy.proc.poll() is None:
        spy.proc.send_signal(signal.SIGINT)
    spy.proc.wait(timeout=30)


def _library(frame: str) -> str:
    """'service', 'redis', 'datasketch', ... from 'func (path/to/file.py)'."""
    path = frame.rpartition("(")[2]
    top_dir = path.split("/")[0]
    return top_dir if top_dir.isidentifier() and "/" in path else "python"


def top(raw: Path, limit: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Shares of samples: 'self' (function on top of the stack), 'library' (its package), and 'service'
    (service/ functions anywhere in the stack, the entry points left out)."""
    own: Counter[str] = Counter()
    library: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        n = int(count)
        if any(f.startswith("PubSubWorkerThread.") for f in frames):
            # RQ's command listener thread waits in recv, which py-spy counts as busy: not work.
            continue
        samples += n
        if frames:
            own[frames[-1]] += n
            library[_library(frames[-1])] += n
        for frame in set(frames):
            if "(service/" in frame and "(service/cli/" not in frame:
                total[frame] += n
    kinds = (("self", own), ("library", library), ("service", total))
    return {name: [(f, 100 * c / max(samples, 1)) for f, c in counter.most_common(limit)] for name, counter in kinds}

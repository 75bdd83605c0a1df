"""Which `headlines up` owns a data folder: one at a time, and the others can find out who and where.

The running instance holds an exclusive lock (flock) on `data_dir/up.lock`, which says its pid and its
Redis URL. The kernel drops the lock when the process ends however it ends, so a crash leaves no stale
claim, and a second `up` learns at once that the folder is in use, before it has touched anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from headline_dedup.errors import HeadlineError

LOCK_FILE = "up.lock"


def shown(url: str) -> str:
    """A Redis URL as it may be printed: a password in it is masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{parts.hostname or ''}{port}"))


class InUseError(HeadlineError):
    """Another `headlines up` owns the data folder."""


@dataclass(frozen=True)
class Running:
    pid: int
    url: str
    data_dir: Path


def _read(path: Path) -> Running | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return Running(int(info["pid"]), str(info["url"]), path.parent)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running(data_dir: str | Path) -> Running | None:
    """The `headlines up` that owns `data_dir`, if one does (its lock is held)."""
    path = Path(data_dir).resolve() / LOCK_FILE
    try:
        f = path.open("rb")
    except OSError:
        return None
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(path)
        fcntl.flock(f, fcntl.LOCK_UN)
    return None  # a file left by an instance that has ended


class Claim:
    """This process's ownership of a data folder, until release() or exit."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir).resolve() / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> Claim:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Opened without truncating: while we do not hold the lock, the file is the owner's to read.
        f = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            owner = _read(self.path)
            who = f"pid {owner.pid}, Redis {shown(owner.url)}" if owner else "its details unreadable"
            raise InUseError(f"{self.path.parent} is in use by another `headlines up` ({who}); stop it, "
                             "or give this one another data_dir (HEADLINES_DATA_DIR)") from None
        self._file = f
        return self

    def record(self, url: str) -> None:
        """Say who owns the folder, and which Redis it serves."""
        if self._file is None:
            raise RuntimeError("record() before acquire()")
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps({"pid": os.getpid(), "url": url}))
        self._file.flush()

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.truncate(0)
        self._file.close()  # closing drops the lock
        self._file = None

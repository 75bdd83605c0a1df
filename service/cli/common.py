"""What every command shares: the --redis-url option, and settings, client and engine built from it."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Annotated, Any

import redis
import typer
from rich.console import Console

from headline_dedup.config import Settings, build_settings
from headline_dedup.embedded import Located, connect, locate, shown
from headline_dedup.engine import Engine, engine_for
from headline_dedup.errors import RedisUnavailableError

# Messages and errors stay one line each, whatever the terminal width: logs get grepped.
console = Console(stderr=True, soft_wrap=True)
# Piped output is not squeezed to 80 columns (titles cut to a few characters); a terminal gets its width.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 100_000)

RedisUrl = Annotated[
    str | None,
    typer.Option("--redis-url", help="Redis to use (default: REDIS_URL, then redis_url in config.yaml, "
                                     "then the one a running `headlines up` uses with this data_dir).",
                 show_default=False),
]


def count(n: int, noun: str) -> str:
    """"1 headline", "2 headlines": messages read as written."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class Context:
    settings: Settings
    redis: redis.Redis
    engine: Engine
    located: Located

    def print_json(self, payload: Any, key: str = "result") -> None:
        """JSON on stdout that also says which Redis it came from: an object gains "redis", a list is
        wrapped as {"redis": ..., key: [...]}."""
        body = {**payload, "redis": shown(self.located.url)} if isinstance(payload, dict) else \
            {"redis": shown(self.located.url), key: payload}
        out.print_json(json.dumps(body))


def open_context(redis_url: str | None, **overrides: object) -> Context:
    """Settings, client and engine; says on stderr which Redis, and fails naming it when it does not answer."""
    settings = build_settings({"redis_url": redis_url, **overrides})
    located = locate(settings, redis_url)
    client = connect(located.url, settings.redis_cluster)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise RedisUnavailableError(f"Redis {located.describe()} does not answer: {exc}") from exc
    console.print(f"[dim]Redis: {located.describe()}[/]")
    return Context(settings, client, engine_for(settings), located)

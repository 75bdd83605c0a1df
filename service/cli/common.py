"""What every command shares: the --redis-url option, and settings, client and engine built from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import redis
import typer
from rich.console import Console

from headline_dedup.config import Settings, build_settings
from headline_dedup.embedded import connect, resolve_url
from headline_dedup.engine import Engine, engine_for

# Messages and errors stay one line each, whatever the terminal width: logs get grepped.
console = Console(stderr=True, soft_wrap=True)
out = Console()

RedisUrl = Annotated[
    str | None,
    typer.Option("--redis-url", help="Redis to use (default: REDIS_URL, then config.yaml, then the one "
                                     "`headlines up` started, then redis://127.0.0.1:6379/0).",
                 show_default=False),
]


@dataclass
class Context:
    settings: Settings
    redis: redis.Redis
    engine: Engine


def open_context(redis_url: str | None, **overrides: object) -> Context:
    settings = build_settings({"redis_url": redis_url, **overrides})
    client = connect(resolve_url(settings))
    client.ping()
    return Context(settings, client, engine_for(settings))

"""headline-dedup: news headlines in, stories out. `from headline_dedup import Client` for the HTTP API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from headline_dedup.client import AsyncClient, Client


def __getattr__(name: str) -> Any:
    # On use: the workers and the CLI import this package too, and need not load httpx and the client.
    if name in ("Client", "AsyncClient"):
        from headline_dedup import client

        return getattr(client, name)
    raise AttributeError(f"module 'headline_dedup' has no attribute {name!r}")


__all__ = ["AsyncClient", "Client", "__version__"]

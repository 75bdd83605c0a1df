"""What the sync and the async client share: each call as (method, path, params, body) and each answer
parsed, so the two differ only in how they send. (`events()` streams; its parsing is in sse.py.)"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from headline_dedup.client.models import Headline, as_body

# The longest the API holds GET /headlines/{id}?wait= open (api/headlines.py MAX_WAIT); longer waits are
# several such requests in a row.
MAX_WAIT = 30.0
# Headlines per POST: under the service's default max_batch (10,000), small enough to send quickly.
BATCH = 1000


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    extra_time: float = 0.0  # seconds the server may take on purpose (a wait), added to the timeout


def headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def batches(headlines: Iterable[Headline | dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    bodies = [as_body(h) for h in headlines]
    return [bodies[i : i + size] for i in range(0, len(bodies), size)]


def submit(batch: list[dict[str, Any]]) -> Call:
    return Call("POST", "/headlines", body={"headlines": batch})


def get(hid: str, wait: float = 0.0) -> Call:
    params = {"wait": f"{min(wait, MAX_WAIT):.3f}"} if wait > 0 else {}
    return Call("GET", f"/headlines/{quote(hid, safe='')}", params, extra_time=min(wait, MAX_WAIT))


def lookup(title: str, published_at: str | None) -> Call:
    params = {"title": title, **({"published_at": published_at} if published_at else {})}
    return Call("GET", "/lookup", params)


def cluster(cid: str, limit: int, offset: int) -> Call:
    return Call("GET", f"/clusters/{quote(cid, safe='')}", {"limit": limit, "offset": offset})


def clusters(order: str, since: str | None, limit: int, offset: int) -> Call:
    params: dict[str, Any] = {"order": order, "limit": limit, "offset": offset}
    if since is not None:
        params["since"] = since
    return Call("GET", "/clusters", params)


def stats() -> Call:
    return Call("GET", "/stats")

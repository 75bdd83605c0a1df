"""AsyncClient: Client's calls for asyncio (httpx.AsyncClient); wait() waits for many ids at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any

import httpx

from headline_dedup.client import _calls as calls
from headline_dedup.client import sse
from headline_dedup.client.errors import RejectedError, raise_for, unreachable
from headline_dedup.client.models import Cluster, ClusterPage, Event, Headline, Lookup, Result

# Requests wait() keeps open at once: each holds a connection while the server waits.
WAITERS = 16


class AsyncClient:
    """`async with AsyncClient(base_url, token=...) as client:`; the same methods as Client, awaited."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.AsyncClient(base_url=self.base_url, headers=calls.headers(token), timeout=timeout)

    async def _send(self, call: calls.Call, items: list[dict[str, Any]] | None = None, offset: int = 0) -> Any:
        try:
            response = await self._http.request(call.method, call.path, params=call.params, json=call.body,
                                                timeout=self.timeout + call.extra_time)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from exc
        raise_for(response, items, offset)
        return response.json()

    async def submit(self, headlines: Iterable[Headline | dict[str, Any]], batch: int = calls.BATCH) -> list[str]:
        """As Client.submit: ids in order; a bad item raises RejectedError naming it."""
        ids: list[str] = []
        for chunk in calls.batches(headlines, batch):
            try:
                ids += (await self._send(calls.submit(chunk), chunk, len(ids)))["ids"]
            except RejectedError as exc:
                exc.submitted = ids
                raise
        return ids

    async def get(self, hid: str, wait: float = 0.0) -> Result:
        return Result.model_validate(await self._send(calls.get(hid, wait)))

    async def wait(self, ids: Iterable[str], timeout: float = 30.0) -> dict[str, Result]:
        """As Client.wait, with up to WAITERS ids waited for at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        gate = asyncio.Semaphore(WAITERS)

        async def one(hid: str) -> Result:
            async with gate:
                result = await self.get(hid, wait=max(0.0, deadline - loop.time()))
                while not result.placed and deadline - loop.time() > 0:
                    result = await self.get(hid, wait=deadline - loop.time())
                return result

        order = list(ids)
        return dict(zip(order, await asyncio.gather(*(one(hid) for hid in order)), strict=True))

    async def lookup(self, title: str, published_at: str | None = None) -> Lookup:
        return Lookup.model_validate(await self._send(calls.lookup(title, published_at)))

    async def cluster(self, cid: str, limit: int = 100, offset: int = 0) -> Cluster:
        return Cluster.model_validate(await self._send(calls.cluster(cid, limit, offset)))

    async def clusters(self, order: str = "recent", since: str | None = None, limit: int = 20,
                       offset: int = 0) -> ClusterPage:
        return ClusterPage.model_validate(await self._send(calls.clusters(order, since, limit, offset)))

    async def stats(self) -> dict[str, Any]:
        return dict(await self._send(calls.stats()))

    async def events(self, last_event_id: str | None = None) -> AsyncIterator[Event]:
        """As Client.events: `async for event in client.events():`."""
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, sse.READ_TIMEOUT))
        try:
            async with self._http.stream("GET", "/events", headers=sse.headers(last_event_id),
                                         timeout=timeout) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise_for(response)
                async for event in sse.aparse(response.aiter_lines()):
                    yield event
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from exc

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

"""Client: the headline-dedup HTTP API from Python, blocking (httpx.Client)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

import httpx

from headline_dedup.client import _calls as calls
from headline_dedup.client import sse
from headline_dedup.client.errors import RejectedError, raise_for, unreachable
from headline_dedup.client.models import Cluster, ClusterPage, Event, Headline, Lookup, Result


class Client:
    """`Client("http://127.0.0.1:8000", token=...)`; errors are the classes of headline_dedup.client.errors
    (all under headline_dedup.errors.HeadlineError). Use it as a context manager, or call close()."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, headers=calls.headers(token), timeout=timeout)

    def _send(self, call: calls.Call, items: list[dict[str, Any]] | None = None, offset: int = 0) -> Any:
        try:
            response = self._http.request(call.method, call.path, params=call.params, json=call.body,
                                          timeout=self.timeout + call.extra_time)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from exc
        raise_for(response, items, offset)
        return response.json()

    def submit(self, headlines: Iterable[Headline | dict[str, Any]], batch: int = calls.BATCH) -> list[str]:
        """Store headlines for placing; returns their ids in order (made up where none was given). Sent
        `batch` at a time: a bad item rejects its batch (RejectedError naming it, with `submitted`: the
        ids of the batches before, which were stored)."""
        ids: list[str] = []
        for chunk in calls.batches(headlines, batch):
            try:
                ids += self._send(calls.submit(chunk), chunk, len(ids))["ids"]
            except RejectedError as exc:
                exc.submitted = ids
                raise
        return ids

    def get(self, hid: str, wait: float = 0.0) -> Result:
        """A headline; with `wait`, up to that many seconds (at most 30) for it to be placed."""
        return Result.model_validate(self._send(calls.get(hid, wait)))

    def wait(self, ids: Iterable[str], timeout: float = 30.0) -> dict[str, Result]:
        """Every id's result once placed (or failed), or as it is when `timeout` seconds have passed:
        check `status` (or `.placed`). The server holds each request until its headline is placed."""
        deadline = time.monotonic() + timeout
        results: dict[str, Result] = {}
        for hid in ids:
            result = self.get(hid, wait=max(0.0, deadline - time.monotonic()))
            while not result.placed and deadline - time.monotonic() > 0:  # a wait longer than one request
                result = self.get(hid, wait=deadline - time.monotonic())
            results[hid] = result
        return results

    def lookup(self, title: str, published_at: str | None = None) -> Lookup:
        """Which story `title` would join (at `published_at`, ISO 8601; default now). Stores nothing."""
        return Lookup.model_validate(self._send(calls.lookup(title, published_at)))

    def cluster(self, cid: str, limit: int = 100, offset: int = 0) -> Cluster:
        return Cluster.model_validate(self._send(calls.cluster(cid, limit, offset)))

    def clusters(self, order: str = "recent", since: str | None = None, limit: int = 20,
                 offset: int = 0) -> ClusterPage:
        """A page of stories: `order` "recent" (last seen first) or "size" (largest first)."""
        return ClusterPage.model_validate(self._send(calls.clusters(order, since, limit, offset)))

    def stats(self) -> dict[str, Any]:
        """The figures of `headlines stats`."""
        return dict(self._send(calls.stats()))

    def events(self, last_event_id: str | None = None) -> Iterator[Event]:
        """Change events as they happen (GET /events): new ones only, or every one kept after
        `last_event_id` first ("0": from the oldest kept). Blocks between events; ends when the server
        closes the stream: call again with the last event's id to go on where it stopped."""
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, sse.READ_TIMEOUT))
        try:
            with self._http.stream("GET", "/events", headers=sse.headers(last_event_id), timeout=timeout) as response:
                if response.status_code != 200:
                    response.read()
                    raise_for(response)
                yield from sse.parse(response.iter_lines())
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from exc

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


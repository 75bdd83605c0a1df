"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for the concurrent load.

httpx.AsyncClient spends more CPU per request than the API does (on 2 cores it capped 16 clients at
~200 requests/s while the API could serve ~1,000), so it would measure itself. This does the least a
client can: one connection per client, write a request, read the status, headers and body.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, method: str, path: str, body: object = None) -> bytes:
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(payload)}\r\n"
        if payload:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw.split(b" ", 2)[1])
        body_bytes = await self.reader.readexactly(_content_length(raw))
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: {status} {body_bytes[:200]!r}")
        return body_bytes


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise RuntimeError("response without Content-Length")


async def run(port: int, requests: list[tuple[str, str, object]], clients: int) -> float:
    """Send every (method, path, body) from `clients` connections at once; returns seconds."""
    todo: Iterator[tuple[str, str, object]] = iter(requests)

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        conn = Conn(reader, writer)
        for method, path, body in todo:
            await conn.request(method, path, body)
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - start

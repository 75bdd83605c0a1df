"""The change events stream (Keys.events): how an event is stored, and how readers read it.

Each entry has two fields: `k`, the kind (placed, merged, split, labelled), and `d`, its data as JSON:

    placed    {"id", "cluster_id", "duplicate_of" (null when not a copy), "partition"}
    merged    {"target", "sources"}                     (the sources' headlines now belong to target)
    split     {"cluster_id", "new_cluster_id", "ids"}   (ids moved from cluster_id to new_cluster_id)
    labelled  {"cluster_id", "label"}                   (label "" when an undo removed it)

Writers never XADD here themselves: an event goes into the same write as what it describes, through
outbox.Remote.event (one atomic script on one Redis; after the rest of the outbox entry on a cluster).
The entry id (`<ms>-<seq>`, Redis' clock at the write) is the event's id, which GET /events sends and a
client resumes from (Last-Event-ID).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

import redis.asyncio

from headline_dedup.state.keys import Keys

PLACED, MERGED, SPLIT, LABELLED = "placed", "merged", "split", "labelled"
KIND, DATA = "k", "d"
# A stream entry id: milliseconds, optionally "-" and a sequence number.
ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")


@dataclass(frozen=True)
class Event:
    id: str
    kind: str
    data: dict[str, Any]


def fields(kind: str, data: dict[str, Any]) -> list[str]:
    """The entry's field-value list for XADD."""
    return [KIND, kind, DATA, json.dumps(data, separators=(",", ":"))]


def xadd_args(keys: Keys) -> list[Any]:
    """What goes between the key and the fields of XADD: the cap and an id made by Redis."""
    return ["MAXLEN", "~", keys.events_max, "*"]


def placed(hid: str, cluster_id: str, duplicate_of: str | None, partition: str) -> list[str]:
    # One per placed headline, so built from json's own string encoder rather than json.dumps of a dict
    # (a sixth of a batch's write): the same text, as a test checks.
    dup = _quote(duplicate_of) if duplicate_of else "null"
    data = (f'{{"id":{_quote(hid)},"cluster_id":{_quote(cluster_id)},"duplicate_of":{dup},'
            f'"partition":{_quote(partition)}}}')
    return [KIND, PLACED, DATA, data]


def merged(target: str, sources: list[str]) -> list[str]:
    return fields(MERGED, {"target": target, "sources": sources})


def split(cluster_id: str, new_cluster_id: str, ids: list[str]) -> list[str]:
    return fields(SPLIT, {"cluster_id": cluster_id, "new_cluster_id": new_cluster_id, "ids": ids})


def labelled(cluster_id: str, label: str) -> list[str]:
    return fields(LABELLED, {"cluster_id": cluster_id, "label": label})


def decode(entry_id: bytes | str, raw: dict[bytes, bytes]) -> Event:
    eid = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    data = json.loads(raw.get(DATA.encode(), b"{}"))
    return Event(eid, raw.get(KIND.encode(), b"").decode(), data if isinstance(data, dict) else {})


def valid_id(text: str) -> bool:
    return bool(ID.match(text))


async def last_id(r: redis.asyncio.Redis, keys: Keys) -> str:
    """The newest entry's id ("0-0" when there is none): where a reader that wants only new events starts."""
    newest = await r.xrevrange(keys.events, count=1)
    return str(newest[0][0].decode()) if newest else "0-0"


async def read(r: redis.asyncio.Redis, keys: Keys, after: str, block_ms: int, count: int = 500) -> list[Event]:
    """Events after id `after`, oldest first; waits up to `block_ms` for the first one (XREAD BLOCK)."""
    reply = await r.xread({keys.events: after}, count=count, block=block_ms)
    if not reply:
        return []
    return [decode(eid, raw) for _, entries in reply for eid, raw in entries]

"""Write-sets: what a batch or a merge pass decided, typed, and the one script call that stores it.

Placement (service.placement) and the merge pass (service.merge) build these without touching Redis;
only this module turns them into keys, fields and commands. Each write is one atomic script, so a worker
that dies mid-write leaves the old state or the new, never half of it. On a Redis Cluster that script
holds the partition's own keys and an outbox entry with the rest (service/state/outbox.py), which is
applied next and, if the worker dies first, by whoever takes the partition next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis

from headline_dedup.state import events, records
from headline_dedup.state.commands import Commands, Replies
from headline_dedup.state.keys import Keys
from headline_dedup.state.outbox import Remote, commit
from headline_dedup.state.records import Headline, Status, Story, Totals

if TYPE_CHECKING:
    import numpy as np

    from headline_dedup.stories import Centroid

# Stories a batch opens carry this prefix until the write gives them their real ids.
LOCAL = "new:"


@dataclass
class Placed:
    """One headline's outcome."""

    id: str
    cluster: str  # a story id, or a LOCAL one of this batch's new stories
    duplicate_of: str | None
    published: float


@dataclass
class NewStory:
    title: str
    first_seen: float


@dataclass
class BucketWrites:
    """The window indexes one time bucket gains."""

    exact: dict[str, tuple[str, float]] = field(default_factory=dict)  # digest -> (first id, published)
    lsh: dict[str, str] = field(default_factory=dict)  # band -> latest headline id
    signatures: dict[str, np.ndarray] = field(default_factory=dict)
    postings: dict[int, list[str]] = field(default_factory=dict)  # term -> its changed posting list


@dataclass
class BatchWrite:
    placed: list[Placed]
    new_stories: dict[str, NewStory]  # local id -> its first headline
    centroids: dict[str, Centroid]  # every story the batch changed
    buckets: dict[int, BucketWrites]
    df_added: dict[int, int]
    window_ttl: int


@dataclass
class MergeWrite:
    targets: dict[str, str]  # source story -> the story it ends up in
    members: dict[str, list[str]]  # source story -> its headlines, which move
    centroids: dict[str, Centroid]  # surviving story -> merged centroid
    postings: dict[int, dict[int, list[str]]]  # bucket -> term -> posting list with sources renamed
    window_ttl: int


def _new_ids(r: redis.Redis, keys: Keys, local: list[str]) -> dict[str, str]:
    if not local:
        return {}
    last = int(r.incrby(keys.cluster_seq, len(local)))
    return {cid: str(last - len(local) + 1 + i) for i, cid in enumerate(local)}


def write_batch(r: redis.Redis, keys: Keys, ws: BatchWrite, turn: str | None = None) -> dict[str, str]:
    """Everything a batch decided, in one atomic script; returns its new stories' ids (local -> real).
    `keys` are its partition's (Keys.part); `turn`, the batch's ticket in its partition's line
    (service.turns), leaves the line in the same write."""
    real = _new_ids(r, keys, list(ws.new_stories))

    def cid_of(c: str) -> str:
        return real.get(c, c)

    commands, remote = Commands(), Remote()
    last_seen: dict[str, float] = {}
    members: dict[str, list[str]] = {}
    duplicates = 0
    done = Status.DONE.text
    for p in ws.placed:
        cid = cid_of(p.cluster)
        fields = {Headline.STATUS: done, Headline.CLUSTER: cid}
        if p.duplicate_of:
            fields[Headline.DUPLICATE_OF] = p.duplicate_of
            duplicates += 1
        remote.hset(keys.headline(p.id), fields)
        members.setdefault(cid, []).append(p.id)
        last_seen[cid] = max(last_seen.get(cid, p.published), p.published)
    # A story of a named partition says so, for admin actions; the default partition's stay as they were.
    partition = {Story.PARTITION: keys.partition} if keys.partition else {}
    for local, story in ws.new_stories.items():
        remote.hset(keys.cluster(cid_of(local)), {Story.TITLE: story.title,
                                                   Story.FIRST_SEEN: records.encode_time(story.first_seen),
                                                   **partition})
    for cid, ids in members.items():
        remote.append(keys.members(cid), ids, keys.cluster(cid), Story.SIZE)
    remote.zadd(keys.clusters, last_seen, gt=True)
    for p in ws.placed:  # in the same write (see outbox: one script on one Redis, the outbox on a cluster)
        remote.event(keys, events.placed(p.id, cid_of(p.cluster), p.duplicate_of, keys.partition))
    opened: dict[str, float] = {}
    for local, centroid in ws.centroids.items():
        cid = cid_of(local)
        commands.call("SET", keys.centroid(cid), records.encode_centroid(centroid), "EX", ws.window_ttl)
        opened[cid] = centroid.last_seen
    commands.zadd(keys.open_clusters, opened, "GT")
    for b, writes in ws.buckets.items():
        _bucket(commands, keys, b, writes, real, ws.window_ttl)
    if ws.df_added:
        # HINCRBY per term would be one command each; a script line adds them all in one.
        commands.spread("HINCRBYMANY", keys.df, [x for kv in ws.df_added.items() for x in kv], step=2)
        commands.call("INCRBY", keys.df_total, len(ws.placed))
    ids = [p.id for p in ws.placed]
    remote.zrem(keys.queued, ids)
    commands.spread("ZREM", keys.unplaced, ids)
    # Counted in the partition's slot on a cluster (Keys.stats), so in the same atomic script: exact.
    commands.call("HINCRBY", keys.stats, Totals.DONE, len(ws.placed))
    commands.call("HINCRBY", keys.stats, Totals.DUPLICATES, duplicates)
    if turn is not None:
        commands.call("ZREM", keys.turns, turn)
    commit(r, keys, commands, remote)
    return real


def _bucket(commands: Commands, keys: Keys, b: int, writes: BucketWrites, real: dict[str, str], ttl: int) -> None:
    commands.hset(keys.exact(b), {d: records.encode_exact(hid, p) for d, (hid, p) in writes.exact.items()})
    commands.hset(keys.lsh(b), writes.lsh)
    commands.hset(keys.signatures(b), {hid: records.encode_signature(s) for hid, s in writes.signatures.items()})
    get = real.get  # a dict lookup per posted story id, not a function call: there are thousands
    commands.hset(keys.terms(b), {t: records.encode_postings([get(c, c) for c in cids])
                                  for t, cids in writes.postings.items()})
    for key in keys.bucket_keys(b):
        commands.call("EXPIRE", key, ttl)
    commands.call("ZADD", keys.buckets, b, str(b))


def write_merges(r: redis.Redis, keys: Keys, ws: MergeWrite, commands: Commands | None = None,
                 remote: Remote | None = None) -> Replies:
    """Move members, sizes, centroids and postings of every source to its target, in one script, with
    `commands` and `remote` (more of the write: an admin merge's log entry) if given; returns the
    replies of `commands`.

    The caller holds the assignment lock, so nothing changed since the reads the write-set was built from.
    """
    commands = commands if commands is not None else Commands()
    remote = remote if remote is not None else Remote()
    for source, target in ws.targets.items():
        ids = ws.members[source]
        remote.append(keys.members(target), ids, keys.cluster(target), Story.SIZE)
        for hid in ids:
            remote.hset(keys.headline(hid), {Headline.CLUSTER: target})
        remote.hset(keys.cluster(source), {Story.MERGED_INTO: target})
        remote.delete(keys.members(source))
        commands.call("DEL", keys.centroid(source))
        remote.zrem(keys.clusters, [source])
        commands.call("ZREM", keys.open_clusters, source)
    for b, postings in ws.postings.items():
        commands.hset(keys.terms(b), {t: records.encode_postings(cids) for t, cids in postings.items()})
    last_seen: dict[str, float] = {}
    for target, centroid in ws.centroids.items():
        commands.call("SET", keys.centroid(target), records.encode_centroid(centroid), "EX", ws.window_ttl)
        commands.call("ZADD", keys.open_clusters, "GT", repr(centroid.last_seen), target)
        last_seen[target] = centroid.last_seen
    remote.zadd(keys.clusters, last_seen, gt=True)
    into: dict[str, list[str]] = {}
    for source, target in ws.targets.items():
        into.setdefault(target, []).append(source)
    for target, sources in into.items():
        remote.event(keys, events.merged(target, sources))
    return commit(r, keys, commands, remote)

"""Admin actions on stories: merge, split, label, undo. CLI-only: the HTTP API never changes stories.

Every action takes the assignment lock, so no batch reads or writes stories meanwhile, checks everything
before it changes anything (an AdminError names the problem; nothing changed), writes in one atomic
script (on a Redis Cluster: the partition's own keys and an outbox entry with the rest, as a batch does,
see service/state/outbox.py), and is recorded in the admin log (service.history) with what `undo` needs
to reverse it. Writes to story members are whole lists and sizes are final values, so an outbox entry
applied twice writes the same thing.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from headline_dedup import history
from headline_dedup.engine import Engine
from headline_dedup.errors import AdminError
from headline_dedup.merge import Plan, apply
from headline_dedup.normalize import normalize
from headline_dedup.state import events, outbox
from headline_dedup.state.commands import Commands
from headline_dedup.state.keys import window_ttl
from headline_dedup.state.outbox import Remote
from headline_dedup.state.records import Headline, Story, Totals, decode_centroid, encode_centroid, encode_time
from headline_dedup.stories import Centroid, tfidf


@contextmanager
def _lock(r: redis.Redis, engine: Engine) -> Iterator[None]:
    with engine.lock(r, engine.keys.partition):
        outbox.finish(r, engine.keys)  # what a placement that died left comes first
        yield


def in_partition(r: redis.Redis, engine: Engine, clusters: list[str]) -> Engine:
    """The engine as seen from the clusters' partition (its lock, window keys and document frequencies).
    Partitions share no story, so an action on stories of two partitions is refused."""
    names = {cid: (r.hget(engine.keys.cluster(cid), Story.PARTITION) or b"").decode() for cid in clusters}
    found = sorted(set(names.values()))
    if len(found) > 1:
        where = ", ".join(f"{cid} in {name or 'the default partition'}" for cid, name in names.items())
        raise AdminError(f"an admin action cannot cross partitions: {where}")
    partition = found[0] if found else ""
    if partition == engine.keys.partition:
        return engine
    view = copy.copy(engine)  # shares the signer, vectoriser and embedder already built
    view.keys = engine.keys.part(partition)
    return view


def _cluster(r: redis.Redis, engine: Engine, cid: str) -> dict[bytes, bytes]:
    meta: dict[bytes, bytes] = r.hgetall(engine.keys.cluster(cid))
    if not meta:
        raise AdminError(f"no cluster with id {cid!r}")
    return meta


def _live(r: redis.Redis, engine: Engine, cid: str) -> dict[bytes, bytes]:
    meta = _cluster(r, engine, cid)
    merged = meta.get(Story.MERGED_INTO.encode())
    if merged is not None:
        raise AdminError(f"cluster {cid} was already merged into {merged.decode()}")
    return meta


def size(r: redis.Redis, engine: Engine, cid: str) -> int:
    """How many headlines a story holds now."""
    return int(r.hget(engine.keys.cluster(cid), Story.SIZE) or 0)


def _blob(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode() if raw is not None else None


def _unblob(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text else None


def merge(r: redis.Redis, engine: Engine, target: str, sources: list[str]) -> str:
    """Move every member of each source into target; returns the admin log id."""
    if not sources:
        raise AdminError("name at least one SOURCE cluster to merge into TARGET")
    if target in sources:
        raise AdminError(f"cannot merge cluster {target} into itself")
    if len(set(sources)) != len(sources):
        raise AdminError("a SOURCE cluster is named twice")
    engine = in_partition(r, engine, [target, *sources])
    keys = engine.keys
    with _lock(r, engine):
        ids = [target, *sources]
        unknown = [c for c in ids if not r.exists(engine.keys.cluster(c))]
        if unknown:  # all of them, not just the first: a typo seldom comes alone
            raise AdminError(f"no cluster with id {', '.join(repr(c) for c in unknown)}")
        for cid in ids:
            _live(r, engine, cid)
        blobs = r.mget([keys.centroid(c) for c in ids])
        undo = {
            "target_len": int(r.llen(keys.members(target))),
            "centroids": {c: _blob(b) for c, b in zip(ids, blobs, strict=True)},
            "last_seen": {c: r.zscore(keys.clusters, c) for c in ids},
            "members": {s: [m.decode() for m in r.lrange(keys.members(s), 0, -1)] for s in sources},
        }
        apply(r, engine, _plan(engine, target, sources, blobs), keys.partition)
        undo["size_after"] = size(r, engine, target)
        return history.record(r, engine, "merge", [target, *sources], undo)


def _plan(engine: Engine, target: str, sources: list[str], blobs: list[bytes | None]) -> Plan:
    centroids = [decode_centroid(b) if b is not None else None for b in blobs]
    merged: Centroid | None = centroids[0]
    for c in centroids[1:]:
        if c is None:
            continue
        if merged is None:
            merged = Centroid(dict(c.weights), c.size, c.last_seen, c.embedding)
        else:
            merged.absorb(c, engine.settings.centroid_terms)
    plan = Plan(root=dict.fromkeys(sources, target))
    if merged is not None:
        plan.centroids[target] = merged
    return plan


def split(r: redis.Redis, engine: Engine, cid: str, headline_ids: list[str]) -> tuple[str, str]:
    """Move the named headlines of cid into a new cluster; returns (new cluster id, admin log id)."""
    if not headline_ids:
        raise AdminError("name at least one HEADLINE_ID to split off")
    if len(set(headline_ids)) != len(headline_ids):
        raise AdminError("a HEADLINE_ID is named twice")
    engine = in_partition(r, engine, [cid])
    keys = engine.keys
    with _lock(r, engine):
        meta = _live(r, engine, cid)
        rows = _members_of(r, engine, cid, headline_ids)
        if len(headline_ids) >= int(meta.get(Story.SIZE.encode(), 0)):
            raise AdminError(f"that would move every headline of cluster {cid}; nothing to split from")
        new = str(r.incr(keys.cluster_seq))
        old_blob = r.get(keys.centroid(cid))
        members = _members(r, engine, cid)
        originals = _regroup_duplicates(r, engine, members, set(headline_ids))
        local, remote = Commands(), Remote()
        _move(remote, engine, cid, new, rows, members)
        _split_centroids(r, local, engine, cid, new, rows, old_blob)
        _set_originals(local, remote, engine, originals)
        remote.event(keys, events.split(cid, new, headline_ids))
        outbox.commit(r, keys, local, remote)
        undo = {"new": new, "ids": headline_ids, "centroid": _blob(old_blob),
                "size_after": size(r, engine, cid),
                "duplicate_of": {hid: before for hid, (before, _) in originals.items()}}
        action = history.record(r, engine, "split", [cid, new], undo)
        return new, action


def _members_of(r: redis.Redis, engine: Engine, cid: str, ids: list[str]) -> list[tuple[str, str, str, float]]:
    pipe = r.pipeline(transaction=False)
    for hid in ids:
        pipe.hmget(engine.keys.headline(hid), [Headline.CLUSTER, Headline.TITLE, Headline.SOURCE, Headline.PUBLISHED])
    rows = []
    for hid, (c, t, s, p) in zip(ids, pipe.execute(), strict=True):
        if c is None:
            raise AdminError(f"no placed headline with id {hid!r}")
        if c.decode() != cid:
            raise AdminError(f"headline {hid} is in cluster {c.decode()}, not {cid}")
        rows.append((hid, t.decode(), (s or b"").decode(), float(p)))
    return rows


def _members(r: redis.Redis, engine: Engine, cid: str) -> list[str]:
    return [m.decode() for m in r.lrange(engine.keys.members(cid), 0, -1)]


def _move(remote: Remote, engine: Engine, old: str, new: str, rows: list[tuple[str, str, str, float]],
          members: list[str]) -> None:
    keys = engine.keys
    moved = [hid for hid, *_ in rows]
    for hid in moved:
        remote.hset(keys.headline(hid), {Headline.CLUSTER: new})
    gone = set(moved)
    remote.set_list(keys.members(old), [m for m in members if m not in gone], keys.cluster(old), Story.SIZE)
    first = min(rows, key=lambda row: row[3])
    story = {Story.TITLE: first[1], Story.FIRST_SEEN: encode_time(first[3])}
    if keys.partition:
        story[Story.PARTITION] = keys.partition
    remote.hset(keys.cluster(new), story)
    remote.set_list(keys.members(new), moved, keys.cluster(new), Story.SIZE)
    remote.zadd(keys.clusters, {new: max(row[3] for row in rows)})


def _regroup_duplicates(r: redis.Redis, engine: Engine, members: list[str],
                        moved: set[str]) -> dict[str, tuple[str | None, str | None]]:
    """duplicate_of before and after a split, for each member whose original lands on the other side.

    duplicate_of always names the first headline of a group in the same story. Copies parted from their
    original by a split form a group of their own on their side, and the first of them (in the order they
    joined the story) becomes its original: it has no duplicate_of, the others name it.
    """
    pipe = r.pipeline(transaction=False)
    for hid in members:
        pipe.hget(engine.keys.headline(hid), Headline.DUPLICATE_OF)
    changes: dict[str, tuple[str | None, str | None]] = {}
    roots: dict[tuple[str, bool], str] = {}
    for hid, raw in zip(members, pipe.execute(), strict=True):
        original = raw.decode() if raw else None
        if original is None or (hid in moved) == (original in moved):
            continue
        root = roots.setdefault((original, hid in moved), hid)
        changes[hid] = (original, None if root == hid else root)
    return changes


def _set_originals(local: Commands, remote: Remote, engine: Engine,
                   changes: dict[str, tuple[str | None, str | None]]) -> None:
    """Write duplicate_of (before, after) for these headlines (None: none), keeping the duplicates count true
    (the count is the partition's on a cluster, so it changes in the atomic part of the write)."""
    for hid, (_, original) in changes.items():
        if original is None:
            remote.hdel(engine.keys.headline(hid), [Headline.DUPLICATE_OF])
        else:
            remote.hset(engine.keys.headline(hid), {Headline.DUPLICATE_OF: original})
    delta = sum((after is not None) - (before is not None) for before, after in changes.values())
    if delta:
        local.call("HINCRBY", engine.keys.stats, Totals.DUPLICATES, delta)


def _split_centroids(r: redis.Redis, local: Commands, engine: Engine, old: str, new: str,
                     rows: list[tuple[str, str, str, float]], old_blob: bytes | None) -> None:
    """Give the new story the moved headlines' vectors and take them out of the old one."""
    if old_blob is None:
        return  # the story has closed: neither side takes new headlines any more
    texts = [normalize(t, s or None) for _, t, s, _ in rows]
    terms = engine.vectorizer.term_ids(texts)
    flat = sorted({t for ts in terms for t in ts})
    df = {t: int(v) for t, v in zip(flat, r.hmget(engine.keys.df, flat) if flat else [], strict=True) if v}
    n_docs = int(r.get(engine.keys.df_total) or 0)
    old_c = decode_centroid(old_blob)
    new_c = Centroid({}, 0, max(row[3] for row in rows))
    keep = engine.settings.centroid_terms
    embs = engine.embedder.embed(texts) if engine.embedder else [None] * len(rows)
    for ts, row, emb in zip(terms, rows, embs, strict=True):
        vec = tfidf(ts, df, n_docs)
        new_c.add(vec, row[3], keep, emb)
        old_c.remove(vec, emb)
    ttl = window_ttl(engine.settings.window_seconds)
    local.call("SET", engine.keys.centroid(old), encode_centroid(old_c), "EX", ttl)
    local.call("SET", engine.keys.centroid(new), encode_centroid(new_c), "EX", ttl)
    local.call("ZADD", engine.keys.open_clusters, repr(new_c.last_seen), new)


def label(r: redis.Redis, engine: Engine, cid: str, text: str) -> str:
    """Give a story a human title that reads and exports use; returns the admin log id."""
    text = " ".join(text.split())
    if not text:
        raise AdminError("the label must not be empty")
    if len(text) > engine.settings.max_title_length:
        raise AdminError(f"the label is longer than {engine.settings.max_title_length} characters")
    engine = in_partition(r, engine, [cid])
    with _lock(r, engine):
        meta = _live(r, engine, cid)
        previous = meta.get(Story.LABEL.encode(), b"").decode()
        remote = Remote()
        remote.hset(engine.keys.cluster(cid), {Story.LABEL: text})
        remote.event(engine.keys, events.labelled(cid, text))
        outbox.commit(r, engine.keys, Commands(), remote)
        return history.record(r, engine, "label", [cid], {"previous": previous, "label": text})


def undo(r: redis.Redis, engine: Engine, action_id: str) -> str:
    """Reverse a merge, split or label if nothing has moved since; returns the undo's own log id."""
    engine = in_partition(r, engine, history.get(r, engine, action_id).clusters)
    with _lock(r, engine):
        action = history.get(r, engine, action_id)
        if action.undone:
            raise AdminError(f"action {action_id} was already undone")
        later = history.later_touching(r, engine, action)
        if later:
            raise AdminError(f"action {later} has changed clusters {', '.join(action.clusters)} since; undo it first")
        reverse = {"merge": _undo_merge, "split": _undo_split, "label": _undo_label}.get(action.kind)
        if reverse is None:
            raise AdminError(f"action {action.id} ({action.kind}) cannot be undone")
        reverse(r, engine, action.clusters, action.data)
        history.mark_undone(r, engine, action_id)
        return history.record(r, engine, "undo", action.clusters, {"of": action_id})


def _unchanged(r: redis.Redis, engine: Engine, cid: str, then: int) -> None:
    now = size(r, engine, cid)
    if now != then:
        raise AdminError(f"cluster {cid} has changed since (size {then} then, {now} now); cannot undo")


def _undo_merge(r: redis.Redis, engine: Engine, clusters: list[str], data: dict) -> None:
    keys, (target, *sources) = engine.keys, clusters
    _unchanged(r, engine, target, data["size_after"])
    ttl = window_ttl(engine.settings.window_seconds)
    local, remote = Commands(), Remote()
    kept = _members(r, engine, target)[: data["target_len"]]
    remote.set_list(keys.members(target), kept, keys.cluster(target), Story.SIZE)
    for source in sources:
        ids = data["members"][source]
        remote.set_list(keys.members(source), ids, keys.cluster(source), Story.SIZE)
        for hid in ids:
            remote.hset(keys.headline(hid), {Headline.CLUSTER: source})
        remote.hdel(keys.cluster(source), [Story.MERGED_INTO])
    for cid in clusters:
        blob, seen = _unblob(data["centroids"][cid]), data["last_seen"][cid]
        if seen is not None:
            remote.zadd(keys.clusters, {cid: seen})
        if blob is not None:
            local.call("SET", keys.centroid(cid), blob, "EX", ttl)
            local.call("ZADD", keys.open_clusters, repr(decode_centroid(blob).last_seen), cid)
        else:
            local.call("DEL", keys.centroid(cid))
    for source in sources:  # to a reader, an undone merge is each source split off again
        remote.event(keys, events.split(target, source, data["members"][source]))
    outbox.commit(r, keys, local, remote)


def _undo_split(r: redis.Redis, engine: Engine, clusters: list[str], data: dict) -> None:
    keys, (old, new) = engine.keys, clusters
    _unchanged(r, engine, old, data["size_after"])
    _unchanged(r, engine, new, len(data["ids"]))
    local, remote = Commands(), Remote()
    for hid in data["ids"]:
        remote.hset(keys.headline(hid), {Headline.CLUSTER: old})
    remote.set_list(keys.members(old), _members(r, engine, old) + data["ids"], keys.cluster(old), Story.SIZE)
    remote.delete(keys.members(new))
    remote.delete(keys.cluster(new))
    local.call("DEL", keys.centroid(new))
    remote.zrem(keys.clusters, [new])
    local.call("ZREM", keys.open_clusters, new)
    blob = _unblob(data["centroid"])
    if blob is not None:
        local.call("SET", keys.centroid(old), blob, "EX", window_ttl(engine.settings.window_seconds))
    # A split logged before duplicates were regrouped has no "duplicate_of": nothing to put back.
    now = _originals_now(r, engine, list(data.get("duplicate_of", {})))
    _set_originals(local, remote, engine,
                   {hid: (now[hid], before) for hid, before in data.get("duplicate_of", {}).items()})
    remote.event(keys, events.merged(old, [new]))  # an undone split: the new story merged back
    outbox.commit(r, keys, local, remote)


def _originals_now(r: redis.Redis, engine: Engine, ids: list[str]) -> dict[str, str | None]:
    pipe = r.pipeline(transaction=False)
    for hid in ids:
        pipe.hget(engine.keys.headline(hid), Headline.DUPLICATE_OF)
    return {hid: raw.decode() if raw else None for hid, raw in zip(ids, pipe.execute(), strict=True)}


def _undo_label(r: redis.Redis, engine: Engine, clusters: list[str], data: dict) -> None:
    key, remote = engine.keys.cluster(clusters[0]), Remote()
    if data["previous"]:
        remote.hset(key, {Story.LABEL: data["previous"]})
    else:
        remote.hdel(key, [Story.LABEL])
    remote.event(engine.keys, events.labelled(clusters[0], data["previous"]))
    outbox.commit(r, engine.keys, Commands(), remote)

"""Every Redis key name and TTL, in one place.

All keys start with the namespace (config `namespace`), so one Redis can hold several deployments and an
evaluation can run in a keyspace of its own. Time buckets are whole windows of `published_at` (not of the
wall clock), so a replay of old news expires its window state as it goes, just as live news does.

Each partition (config `partition_by`) has window state, document frequencies, a batch order and a lock
of its own, and all of those keys carry one hash tag, `{p:<partition>}`, so a Redis Cluster keeps a
partition's window in one slot and a batch can update it atomically. The default partition ("") keeps
the untagged names it always had on one Redis; on a Redis Cluster (`cluster`) it is tagged `{p:}` like
the others, since its window must sit in one slot too. Headlines, stories and their members are keyed by
their own ids, so a cluster spreads them over every node.

On a cluster, what a batch writes outside its partition's slot (headline and story records, members,
the story list, the queued set) goes through the partition's `outbox` (service/state/outbox.py), and the
running totals are kept per partition (`stats`), beside the window state they are counted with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# Wall-clock TTL on window-only keys: a safety net for a stream that stops. While news flows, old
# buckets are deleted by event time (the watermark, see pipeline.close_old) long before this runs out.
WINDOW_TTL_FACTOR = 3
# Window state is kept for unplaced headlines at most this many windows behind the newest one, so a
# headline stuck in the queue cannot hold every old story open forever.
MAX_LAG_WINDOWS = 3
# How long a finished RQ job's record is kept (rq's result_ttl), seconds.
JOB_RESULT_TTL = 600
# How long a failed RQ job is kept for `requeue-failed`, seconds.
JOB_FAILURE_TTL = 7 * 86400
# Admin log entries kept (approximate MAXLEN of the stream).
ADMIN_LOG_MAX = 100_000
# Change events kept (approximate MAXLEN of the event stream, config `events_max`).
EVENTS_MAX = 100_000


@dataclass(frozen=True)
class Keys:
    ns: str
    partition: str = ""  # whose window keys (`part`); permanent keys are the same for every partition
    on_cluster: bool = False  # the state is on a Redis Cluster: every partition's window is tagged
    events_max: int = EVENTS_MAX  # entries the event stream keeps (approximately)

    def part(self, partition: str) -> Keys:
        """The keys as seen from one partition: the same permanent keys, that partition's window keys."""
        return self if partition == self.partition else replace(self, partition=partition)

    @property
    def _window(self) -> str:
        return f"{self.ns}:{{p:{self.partition}}}" if self.partition or self.on_cluster else self.ns

    @property
    def outbox(self) -> str:
        """List of packed write lists (outbox.Op) a placement wrote beside the window state, still to be
        applied to records in other slots (cluster only); the oldest first."""
        return f"{self._window}:outbox"

    @property
    def partitions(self) -> str:
        """Set of partitions that were ever enqueued (for stats)."""
        return f"{self.ns}:partitions"

    # --- permanent state -------------------------------------------------------------------------
    def headline(self, hid: str) -> str:
        """Hash: t(itle), s(ource), p(ublished_at, epoch), st(atus q/d/f), c(luster id), d(uplicate_of)."""
        return f"{self.ns}:h:{hid}"

    @property
    def ids(self) -> str:
        """Every headline id in arrival order, which export walks: a list on one Redis; on a cluster a
        sorted set by arrival number (`ids_seq`), since adding to it there is a step apart from storing
        the headline and must be safe to repeat (ZADD NX)."""
        return f"{self.ns}:ids"

    @property
    def ids_seq(self) -> str:
        """Counter behind arrival numbers (cluster only)."""
        return f"{self.ns}:seq:ids"

    def cluster(self, cid: str) -> str:
        """Hash: size, title, label, first_seen, last_seen, merged_into."""
        return f"{self.ns}:c:{cid}"

    def members(self, cid: str) -> str:
        """List of member headline ids in the order they joined."""
        return f"{self.ns}:m:{cid}"

    @property
    def clusters(self) -> str:
        """Sorted set: cluster id -> last_seen (epoch seconds); live (not merged) clusters only."""
        return f"{self.ns}:clusters"

    @property
    def cluster_seq(self) -> str:
        """Counter behind new cluster ids."""
        return f"{self.ns}:seq:cluster"

    @property
    def turns(self) -> str:
        """Sorted set: first id of each enqueued batch not yet placed -> its ticket (enqueue order)."""
        return f"{self._window}:turns"

    @property
    def batch_seq(self) -> str:
        """Counter behind batch tickets."""
        return f"{self.ns}:seq:batch"

    @property
    def df(self) -> str:
        """Hash: hashed term -> number of headlines that contained it (streaming IDF)."""
        return f"{self._window}:df"

    @property
    def df_total(self) -> str:
        """Counter: headlines counted into df."""
        return f"{self._window}:df:n"

    @property
    def queued(self) -> str:
        """Sorted set: headline id -> time it was last enqueued; removed once it is done."""
        return f"{self.ns}:queued"

    @property
    def newest(self) -> str:
        """String: the newest published_at placed (epoch seconds), which the watermark follows. Per
        partition: each partition's stream has its own time."""
        return f"{self._window}:newest"

    @property
    def watermark(self) -> str:
        """String: the watermark (epoch seconds) window state last closed on, which only rises: newest less
        allowed_lateness_seconds, windows without news not counted (service.eventtime). A headline
        published before it is too late."""
        return f"{self._window}:watermark"

    @property
    def unplaced(self) -> str:
        """Sorted set: headline id -> published_at, until placed. Its minimum holds back closing of
        stories, so a batch that runs late (several workers, a retry) still finds its day's stories."""
        return f"{self._window}:unplaced"

    @property
    def admin_log(self) -> str:
        """Stream of admin actions (merge, split, label, undo)."""
        return f"{self.ns}:log"

    @property
    def events(self) -> str:
        """Stream of change events (placed, merged, split, labelled; service/state/events.py), capped at
        about `events_max` entries, which GET /events serves. One key for every partition, so one XREAD
        follows them all in the order they were written; on a Redis Cluster it sits in one slot, and a
        partition's writes reach it through the outbox (service/state/outbox.py)."""
        return f"{self.ns}:events"

    @property
    def admin_undone(self) -> str:
        """Set of admin log ids that have been undone."""
        return f"{self.ns}:log:undone"

    @property
    def stats(self) -> str:
        """Hash of running totals: headlines done, duplicates, too late. On a cluster one per partition,
        in its slot, so a batch counts itself in the same atomic script that places it."""
        return f"{self._window}:stats" if self.on_cluster else f"{self.ns}:stats"

    @property
    def metrics(self) -> str:
        """Hash of the /metrics counters and histogram buckets (service/state/metrics.py): one key for the
        whole namespace, so a Redis Cluster keeps it in one slot and one MULTI updates it."""
        return f"{self.ns}:metrics"

    @property
    def assign_lock(self) -> str:
        """Lock around read-assign-write of a batch, so two workers never open two clusters for one story."""
        return f"{self._window}:lock:assign"

    # --- window-only state (deleted by event time, with a TTL as a safety net) ------------------
    def centroid(self, cid: str) -> str:
        """String: packed centroid of an open story (see stories.pack_centroid)."""
        return f"{self._window}:cent:{cid}"

    @property
    def open_clusters(self) -> str:
        """Sorted set: cluster id -> last_seen, for clusters that still have a centroid."""
        return f"{self._window}:open"

    def terms(self, bucket: int) -> str:
        """Hash: hashed term -> space-separated ids of recent clusters using it (inverted index)."""
        return f"{self._window}:terms:{bucket}"

    def lsh(self, bucket: int) -> str:
        """Hash: LSH band digest -> id of the latest headline with that band."""
        return f"{self._window}:lsh:{bucket}"

    def signatures(self, bucket: int) -> str:
        """Hash: headline id -> packed MinHash signature."""
        return f"{self._window}:sig:{bucket}"

    def exact(self, bucket: int) -> str:
        """Hash: digest of the normalised title -> id of its first headline."""
        return f"{self._window}:exact:{bucket}"

    @property
    def buckets(self) -> str:
        """Sorted set of time buckets that hold window state."""
        return f"{self._window}:buckets"

    def bucket_keys(self, bucket: int) -> list[str]:
        return [self.terms(bucket), self.lsh(bucket), self.signatures(bucket), self.exact(bucket)]

    def window_patterns(self) -> list[str]:
        """Match every window-only key (for measuring window memory)."""
        return [f"{self._window}:{kind}:*" for kind in ("cent", "terms", "lsh", "sig", "exact")]

    def pattern(self) -> str:
        """Match every key of this namespace (used to wipe an evaluation keyspace)."""
        return f"{self.ns}:*"


def window_ttl(window_seconds: int) -> int:
    return WINDOW_TTL_FACTOR * window_seconds

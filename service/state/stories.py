"""Story records read in bulk, for the merge pass and admin actions."""

from __future__ import annotations

import redis

from headline_dedup.state.commands import Commands
from headline_dedup.state.keys import Keys


def members(r: redis.Redis, keys: Keys, cluster_ids: list[str]) -> dict[str, list[str]]:
    """Each story's member headline ids, in the order they joined, in one round trip."""
    commands = Commands()
    handles = [(cid, commands.call("LRANGE", keys.members(cid), 0, -1)) for cid in cluster_ids]
    replies = commands.run(r)
    return {cid: [h.decode() for h in replies[handle]] for cid, handle in handles}

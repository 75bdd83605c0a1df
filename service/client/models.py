"""What the client sends and returns: small pydantic models of the API's bodies (api/models.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class Headline(BaseModel):
    """A headline to submit; a plain dict with the same keys works as well."""

    title: str
    id: str | None = None
    source: str | None = None
    published_at: str | None = None
    partition: str | None = None


class Result(BaseModel):
    """A headline as the service has it: `status` queued, done or failed; the story once placed."""

    id: str
    title: str
    source: str | None
    published_at: str
    status: Literal["queued", "done", "failed"]
    cluster_id: str | None
    duplicate_of: str | None

    @property
    def placed(self) -> bool:
        return self.status != "queued"


class Lookup(BaseModel):
    cluster_id: str | None
    score: float
    duplicate_of: str | None


class Member(BaseModel):
    id: str
    title: str
    source: str | None
    published_at: str


class Cluster(BaseModel):
    cluster_id: str
    size: int
    title: str
    first_seen: str
    last_seen: str
    headlines: list[Member]
    merged_into: str | None = None


class ClusterSummary(BaseModel):
    cluster_id: str
    size: int
    title: str
    first_seen: str
    last_seen: str


class ClusterPage(BaseModel):
    clusters: list[ClusterSummary]
    total: int
    order: Literal["recent", "size"]
    limit: int
    offset: int


def as_body(item: Headline | dict[str, Any]) -> dict[str, Any]:
    """One headline as the JSON the API takes (unset fields left out, so the service fills them in)."""
    return item.model_dump(exclude_none=True) if isinstance(item, Headline) else dict(item)


class Event(BaseModel):
    """One change event of GET /events: `kind` placed, merged, split or labelled; `data` its fields
    (placed: id, cluster_id, duplicate_of, partition; merged: target, sources; split: cluster_id,
    new_cluster_id, ids; labelled: cluster_id, label). Resume a stream after it with its `id`."""

    id: str
    kind: str
    data: dict[str, Any]

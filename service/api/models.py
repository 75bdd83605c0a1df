"""Request and response bodies, for validation of answers and for the OpenAPI page at /docs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HeadlineIn(BaseModel):
    id: str | None = Field(None, description="Your id; made up when absent. Resubmitting an id stores nothing new.")
    title: str
    source: str | None = None
    published_at: str | None = Field(None, description="ISO 8601; the time of arrival when absent.")
    partition: str | None = Field(None, description="With partition_by: field, the headline's partition "
                                                    "(an edition, a desk); checked like an id.")


class BatchIn(BaseModel):
    headlines: list[HeadlineIn]


class Accepted(BaseModel):
    ids: list[str] = Field(description="Every id of the request, in order (made up ones included).")
    new: int = Field(description="How many of them were new, and so queued.")


class HeadlineOut(BaseModel):
    id: str
    title: str
    source: str | None
    published_at: str
    status: Literal["queued", "done", "failed"]
    cluster_id: str | None
    duplicate_of: str | None


class MemberOut(BaseModel):
    id: str
    title: str
    source: str | None
    published_at: str


class ClusterOut(BaseModel):
    cluster_id: str
    size: int
    title: str
    first_seen: str
    last_seen: str
    headlines: list[MemberOut]
    merged_into: str | None = None


class ClusterSummary(BaseModel):
    cluster_id: str
    size: int
    title: str = Field(description="The label when a human set one, else the first headline's title.")
    first_seen: str
    last_seen: str


class ClustersOut(BaseModel):
    clusters: list[ClusterSummary]
    total: int = Field(description="How many stories match `since`, over every page.")
    order: Literal["recent", "size"]
    limit: int
    offset: int


class StatsOut(BaseModel):
    """The figures of `headlines stats`."""

    headlines: int
    placed: int
    duplicates: int
    too_late: int
    clusters: int
    open_clusters: int
    waiting: int = Field(description="Headlines stored and not yet placed.")
    queue_depth: int = Field(description="Jobs on the RQ queue.")
    jobs_running: int
    failed_jobs: int
    workers: int
    redis_memory: str
    redis_memory_bytes: int


class LookupOut(BaseModel):
    cluster_id: str | None
    score: float
    duplicate_of: str | None


class ErrorOut(BaseModel):
    detail: str = Field(description="What is wrong, in one line.")
    problems: list[dict[str, object]] | None = Field(None, description="For a batch: each bad item's index "
                                                                       "and reason.")


def errors(*codes: int) -> dict[int | str, dict[str, object]]:
    """The error answers a route gives, for OpenAPI: each has the body ErrorOut."""
    what = {401: "A bearer token is needed (see the WWW-Authenticate header), or the one given is wrong.",
            404: "Unknown id.", 422: "Bad input: the detail says why; nothing was stored.",
            503: "Redis is unavailable; retry after Retry-After seconds."}
    return {code: {"model": ErrorOut, "description": what[code]} for code in codes}

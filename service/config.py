"""One settings object: defaults, then config.yaml, then environment variables.

Every key can be overridden by an environment variable named HEADLINES_<KEY> (upper case), and the
Redis URL also by REDIS_URL. The file is found at $HEADLINES_CONFIG, else ./config.yaml, else the
built-in defaults below are used (build_settings(path=None): those defaults alone). Validation happens
once, at start, and names the bad key.
"""

from __future__ import annotations

import difflib
import logging
import os
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from headline_dedup.errors import ConfigError

ENV_PREFIX = "HEADLINES_"
# HEADLINES_* variables that are not settings: where the config file is.
OTHER_ENV = {"HEADLINES_CONFIG"}

log = logging.getLogger(__name__)
_warned: set[str] = set()


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where state lives. Empty means: REDIS_URL if set, else an embedded server for a first run.
    redis_url: str = ""
    # RQ's Redis (the queue and its job records); empty: the state's Redis (redis_url).
    queue_url: str = ""
    # redis_url names any node of a Redis Cluster, which holds the state. RQ does not run on a cluster
    # (rq#1942, rq#2004), so queue_url must then name a plain Redis of its own.
    redis_cluster: bool = False
    # Key prefix, so several deployments (or an evaluation run) can share one Redis.
    namespace: str = Field("hd", pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    queue_name: str = Field("headlines", pattern=r"^[A-Za-z0-9_.-]{1,60}$")
    # Where an embedded Redis keeps its AOF and RDB files.
    data_dir: str = ".headlines"

    # MinHash near-duplicate stage. 64 permutations (10 bands of 6) find the same duplicates as 128 on
    # the dev data, with half the hashing and half the band fields read and written per headline.
    num_perm: int = Field(64, ge=16, le=512)
    jaccard_threshold: float = Field(0.6, gt=0.0, le=1.0)
    # TF-IDF story stage.
    cosine_threshold: float = Field(0.05, gt=0.0, le=1.0)
    # Score lost per window of time between a headline and a story's last headline.
    time_penalty: float = Field(0.05, ge=0.0, le=1.0)
    # Extra score a headline needs to join a story of n headlines: this / sqrt(n). A young story's
    # centroid is one or two titles, which a single shared name matches; a grown one is the story's gist.
    small_story_penalty: float = Field(0.3, ge=0.0, le=1.0)
    # Terms kept per story centroid: the heaviest ones; the rest is noise and memory.
    centroid_terms: int = Field(80, ge=8, le=1000)
    # Candidate stories scored exactly per headline, after a cheap term-overlap ranking.
    max_candidates: int = Field(24, ge=1, le=500)
    # Recent stories remembered per term in the inverted index.
    term_postings: int = Field(12, ge=1, le=200)
    # After each batch, open stories whose centroids' cosine reaches this are merged: single-pass
    # assignment splits a story when its first headlines open two stories before either is strong.
    merge_threshold: float = Field(0.22, gt=0.0, le=1.0)
    # Semantic signal (static MiniLM embeddings, see service/embedding.py): a candidate story scores
    # cosine + embedding_weight * (embedding cosine - embedding_baseline). 0 turns it off.
    embedding_weight: float = Field(0.5, ge=0.0, le=2.0)
    embedding_baseline: float = Field(0.2, ge=-1.0, le=1.0)
    # The same blend in the merge pass over open stories.
    merge_embedding_weight: float = Field(0.5, ge=0.0, le=2.0)
    merge_embedding_baseline: float = Field(0.5, ge=-1.0, le=1.0)
    # A story closes once its last headline is this old (seconds of published_at): no new headline,
    # not even a copy of one of its own, joins it after that.
    window_seconds: int = Field(86400, ge=60)
    # How late (in published_at, behind the newest placed) a headline may arrive and still find every
    # story and original that was open at its own time: window state closes on the watermark, the
    # newest published_at placed less this, windows in which nothing was published not counted
    # (service.eventtime). A later headline is still placed, and counted as too late.
    allowed_lateness_seconds: int = Field(86400, ge=0, le=7 * 86400)

    # Work sizes and limits.
    batch_size: int = Field(500, ge=1, le=10000)
    max_batch: int = Field(10000, ge=1, le=100000)
    max_title_length: int = Field(1000, ge=10, le=100000)
    max_id_length: int = Field(200, ge=1, le=1000)
    # Change events GET /events can still replay (Last-Event-ID): the stream is capped at about this many.
    events_max: int = Field(100_000, ge=100, le=100_000_000)
    # How long the API waits to fill a batch with single POSTs before enqueueing it.
    flush_ms: int = Field(20, ge=1, le=5000)
    job_timeout: int = Field(600, ge=10)
    job_retries: int = Field(3, ge=0, le=20)
    # Seconds a queued headline may wait before the janitor re-enqueues it.
    requeue_after: int = Field(300, ge=10)
    # Which partition a headline belongs to: none (one for all), field (its own `partition` field, e.g. an
    # edition or a desk), language (detected from its title). Stories never cross partitions, and each
    # partition is placed under a lock of its own, so workers place different partitions at once.
    partition_by: Literal["none", "field", "language"] = "none"

    # Who may use the HTTP API (service/api/auth.py). Each token is off when empty. SecretStr keeps them
    # out of reprs, logs and error messages.
    api_token: SecretStr = Field(SecretStr(""), description="bearer token needed to POST /headlines")
    read_token: SecretStr = Field(SecretStr(""), description="bearer token needed by every read route")
    metrics_token: SecretStr = Field(SecretStr(""), description="bearer token needed by /metrics")
    # Browser origins allowed to call the API (comma-separated, e.g. https://desk.example.com); empty: CORS off.
    cors_origins: str = Field("", pattern=r"^[^\s]*$")

    @model_validator(mode="after")
    def _queue_beside_cluster(self) -> Settings:
        if self.redis_cluster:
            _check_cluster_urls(self.redis_url, self.queue_url)
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [o for o in self.cors_origins.split(",") if o]


def _node(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return (parts.hostname or "localhost", parts.port or 6379)


def _check_cluster_urls(redis_url: str, queue_url: str) -> None:
    """With redis_cluster: a cluster node to start from, and the queue on a plain Redis apart from it.
    (ValueError: pydantic reports it under the settings, and build_settings names it.)"""
    if not redis_url:
        raise ValueError("redis_cluster needs redis_url (or REDIS_URL) to name a node of the Redis Cluster")
    if not queue_url:
        raise ValueError("redis_cluster needs queue_url (HEADLINES_QUEUE_URL): RQ cannot keep its queue on a "
                         "Redis Cluster, so name a plain Redis for it")
    if _node(queue_url) == _node(redis_url):
        raise ValueError("queue_url names the same server as redis_url; with redis_cluster the queue must be "
                         "a plain Redis outside the cluster")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of key: value")
    return data


def _config_path() -> Path | None:
    explicit = os.environ.get("HEADLINES_CONFIG")
    if explicit:
        if not Path(explicit).is_file():
            raise ConfigError(f"HEADLINES_CONFIG points at {explicit}, which is not a file")
        return Path(explicit)
    local = Path("config.yaml")
    return local if local.is_file() else None


def file_values() -> dict[str, Any]:
    """What the config file in use sets (empty when there is none)."""
    path = _config_path()
    return _read_file(path) if path else {}


def env_name(key: str) -> str:
    """The environment variable that overrides setting `key`."""
    return ENV_PREFIX + key.upper()


def _env_values() -> dict[str, str]:
    values: dict[str, str] = {}
    if os.environ.get("REDIS_URL"):
        values["redis_url"] = os.environ["REDIS_URL"]
    for name in Settings.model_fields:
        env = os.environ.get(env_name(name))
        if env is not None:
            values[name] = env
    return values


def unknown_env() -> list[str]:
    """One line per HEADLINES_<NAME> variable that names no setting (a typo is otherwise ignored)."""
    known = {env_name(name) for name in Settings.model_fields} | OTHER_ENV
    problems = []
    for name in sorted(n for n in os.environ if n.upper().startswith(ENV_PREFIX) and n not in known):
        near = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {near[0]}?" if near else ""
        problems.append(f"environment variable {name} names no setting{hint}")
    return problems


def _check_env(strict: bool) -> None:
    """A HEADLINES_ variable that names no setting: a warning (once), or with `strict` (for `up`) an error."""
    unknown = unknown_env()
    if unknown and strict:
        raise ConfigError("; ".join(unknown))
    for problem in set(unknown) - _warned:
        _warned.add(problem)
        log.warning("warning: %s", problem)


class Sources(Enum):
    FIND = "find"  # build_settings' default: the file _config_path finds, then the environment


def build_settings(overrides: dict[str, Any] | None = None,
                   path: Path | Sources | None = Sources.FIND, strict_env: bool = False) -> Settings:
    """Merge file, environment and explicit overrides; raise ConfigError naming every bad key.

    `path` is the file to read (and the environment over it); by default the file found as the module doc
    says. None means the built-in defaults and `overrides` only: no file, no environment. `strict_env`: a
    HEADLINES_ variable naming no setting is an error, not a warning.
    """
    values: dict[str, Any] = {}
    source = ""
    if path is not None:
        _check_env(strict_env)
        file = _config_path() if path is Sources.FIND else path
        values = _read_file(file) if file else {}
        values.update(_env_values())
        source = f" (from {file} and environment)" if file else " (from environment)"
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        # A check across keys (a model validator) has no location: its message names the keys itself.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" if err["loc"]
            else str(err["msg"]).removeprefix("Value error, ") for err in exc.errors()
        )
        raise ConfigError(f"invalid config{source}: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return build_settings()

"""What each stored record holds: field names, the status byte, and the packed values.

Every field letter and every value format lives here, so code outside the state layer never spells one.
The letters are short on purpose: a headline hash is written once and read often, and a million headlines
with six fields pay for every byte of every field name.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from headline_dedup.stories import Centroid


class Headline:
    """Fields of a headline hash (Keys.headline)."""

    TITLE = "t"
    SOURCE = "s"
    PUBLISHED = "p"  # epoch seconds, repr() of the float
    STATUS = "st"  # a Status value
    CLUSTER = "c"  # story id, once placed
    DUPLICATE_OF = "d"  # id of the headline it duplicates, when it is a duplicate
    PARTITION = "pt"  # its partition, when not the default one


class Status(Enum):
    """The status byte of a headline: what the API and the CLI show as `status`."""

    QUEUED = b"q"
    DONE = b"d"
    FAILED = b"f"

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def text(self) -> str:
        """The value as written by a script or a command."""
        return self.value.decode()

    @classmethod
    def of(cls, raw: bytes | None) -> Status | None:
        """The status of a stored byte string; None for a headline that is not stored."""
        # The value map, not cls(raw): Enum's call is a slow path, and a batch reads hundreds of these.
        return cls._value2member_map_[raw] if raw else None  # type: ignore[return-value]


class Story:
    """Fields of a story (cluster) hash (Keys.cluster)."""

    SIZE = "size"
    TITLE = "title"
    LABEL = "label"  # a human title set by `headlines label`; reads prefer it
    FIRST_SEEN = "first_seen"
    MERGED_INTO = "merged_into"  # set once the story was merged away
    PARTITION = "pt"  # the partition of all its headlines, when not the default one


class Totals:
    """Fields of the running totals hash (Keys.stats)."""

    DONE = "done"
    DUPLICATES = "duplicates"
    TOO_LATE = "too_late"  # placed, but published before the watermark (keys.watermark) had reached


def encode_time(ts: float) -> str:
    # repr() round-trips a float exactly, so a story's first_seen reads back as it was written.
    return repr(ts)


def decode_time(raw: bytes | str | None) -> float:
    return float(raw or 0)


def encode_exact(hid: str, published: float) -> str:
    """Exact-title index value: the first headline with the title, and when it was published."""
    return f"{hid} {published!r}"


def decode_exact(raw: str) -> tuple[str, float]:
    hid, published = raw.split()
    return hid, float(published)


def exact_owner(raw: str) -> str:
    """The headline id of an exact-title index value."""
    return raw.split(" ", 1)[0]


def encode_postings(cluster_ids: list[str]) -> str:
    """Inverted index value: the story ids posted under a term, most recent first."""
    return " ".join(cluster_ids)


def decode_postings(raw: bytes) -> list[str]:
    return raw.decode().split()


# Centroids and signatures keep their byte layouts where their arithmetic lives (stories, dedup); the
# state layer reaches them through these, imported on use so that reading a headline needs neither
# scikit-learn nor datasketch.
def encode_centroid(c: Centroid) -> bytes:
    from headline_dedup.stories import pack_centroid

    return pack_centroid(c)


def decode_centroid(raw: bytes) -> Centroid:
    from headline_dedup.stories import unpack_centroid

    return unpack_centroid(raw)


def encode_signature(signature: np.ndarray) -> bytes:
    from headline_dedup.dedup import pack_signature

    return pack_signature(signature)


def decode_signature(raw: bytes) -> np.ndarray:
    from headline_dedup.dedup import unpack_signature

    return unpack_signature(raw)

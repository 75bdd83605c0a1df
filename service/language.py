"""The language of a headline, for `partition_by: language`: py3langid, whose model ships in the package.

Loaded on first use (about 1.5 s, once per process), then about 55 µs a headline on this 2-CPU VM
(bench/partitions.py measures it). A headline too short to tell is still given its best guess: a
partition is a routing decision, and every headline must land in exactly one.
"""

from __future__ import annotations


def detect(title: str) -> str:
    """ISO 639-1 code of the title's language, e.g. 'en'."""
    import py3langid  # on use: only `partition_by: language` needs its model

    language, _ = py3langid.classify(title)
    return str(language)

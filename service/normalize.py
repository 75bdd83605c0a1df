"""Title -> normalised text and tokens.

Normalisation folds what differs between copies of one headline and says nothing about the story:
Unicode forms, case, punctuation, spacing, and the publisher tag some sites append to every title.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from headline_dedup.tokens import tokens

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
# "(AP)", "(Reuters)" and the like, at either end.
_WIRE_TAG = re.compile(r"^\s*\((?:ap|afp|reuters|upi|dpa|ians|pti)\)\s*|\s*\((?:ap|afp|reuters|upi|dpa)\)\s*$",
                       re.IGNORECASE)
# " - Reuters", " | CNN", " — BBC News": a separator, then at most four words, at the end.
_TRAILING_TAG = re.compile(r"\s+[-|\u2013\u2014:]+\s+((?:[\w.&'!]+\s*){1,4})$")
_SEPARATOR = re.compile(r"\s+[-|\u2013\u2014]+\s+")
_APOSTROPHE = re.compile(r"'s\b|'")  # a possessive goes whole, any other apostrophe alone
# Combining marks are no word characters to `re`, yet Thai vowels and tone marks, Devanagari matras and
# the like are letters of their words: splitting there would cut "ที่" in three. The BMP holds them all
# but a few rare ones.
_MARKS = "".join(chr(c) for c in range(0x300, 0x10000) if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me"))
_NON_WORD = re.compile(f"[^\\w{re.escape(_MARKS)}]+")
# Reuters' "UPDATE 2-" names a revision of a story, not the story.
_UPDATE = re.compile(r"^\s*update\s*\d+\s*-\s*", re.IGNORECASE)
# A wire dateline in front: "NEW YORK (AP) — ", "AUGUSTA, Maine (AP) - ", "LONDON, March 10 (Reuters) - ".
_DATELINE = re.compile(r"^[A-Z][A-Z.' ]*[A-Z.](?:,\s*[A-Z][\w.' ]*)?\s*"
                       r"\((?i:ap|afp|reuters|upi|dpa)\)\s*[-\u2013\u2014:]+\s*")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    # Imported on first use: scikit-learn takes about a second to import, and checking or normalising a
    # title (intake, the CLI) needs no stop words.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"s", "t", "says", "said", "new", "update", "video", "report"}


def __getattr__(name: str) -> frozenset[str]:
    if name == "STOP_WORDS":  # the constant this module had before stop_words() was lazy
        return stop_words()
    raise AttributeError(name)


def _fold(text: str) -> str:
    # One space for each run of non-word characters, spaces included, so no run of spaces is left.
    return _NON_WORD.sub(" ", _APOSTROPHE.sub("", text.casefold())).strip()


# Sources repeat all day: fold each name once.
_fold_source = lru_cache(maxsize=1 << 14)(_fold)


def strip_publisher(title: str, source: str | None = None) -> str:
    """Remove a trailing publisher tag (the source's own name, or a short ' - Name' tail), and a leading
    dateline or revision mark."""
    title = _UPDATE.sub("", _DATELINE.sub("", title))
    title = _WIRE_TAG.sub(" ", title).strip()
    if source:
        title = _strip_station(title, source)
        folded_source = _fold_source(source)
        match = _TRAILING_TAG.search(title)
        if match and folded_source and _fold(match.group(1)) in folded_source:
            return title[: match.start()].strip()
        if folded_source and _fold(title).endswith(" " + folded_source):
            cut = title.casefold().rfind(source.casefold()[:3])
            if cut > 0:
                return title[:cut].rstrip(" -|:\u2013\u2014")
    match = _TRAILING_TAG.search(title)
    if match and _looks_like_publisher(match.group(1)):
        return title[: match.start()].strip()
    return title


def _strip_station(title: str, source: str) -> str:
    # Syndicated copies end in the station's own tag, often cut short: "... - WBOC-TV 16, Delmarvas  ..."
    # for source "WBOC TV 16", "... - wistv.com - Columbia  ..." for "WIS". A tag among the last three
    # separated parts that starts like the source's first word goes, with everything after it; so does a
    # leading part that is exactly the source ("New Jersey Herald - OECD: ...").
    key = _fold_source(source).split()[:1]
    parts = _SEPARATOR.split(title)
    if not key or len(key[0]) < 3 or len(parts) < 2:
        return title
    cuts = list(_SEPARATOR.finditer(title))
    for k in range(max(1, len(parts) - 3), len(parts)):
        first = _fold(parts[k]).split()[:1]
        if first and (first[0].startswith(key[0]) or (len(first[0]) >= 3 and key[0].startswith(first[0]))):
            return title[: cuts[k - 1].start()]
    if _fold(parts[0]) == _fold_source(source):
        return title[cuts[0].end() :]
    return title


def _looks_like_publisher(tail: str) -> bool:
    # A publisher tag is a name: every word capitalised or an acronym, no digits ("- Reuters",
    # "| Fox News"); a sentence tail like "- and why it matters" is left alone.
    words = tail.split()
    return all(w[:1].isupper() and not any(c.isdigit() for c in w) for w in words)


def normalize(title: str, source: str | None = None) -> str:
    """NFKC, publisher tag stripped, casefolded, punctuation and spacing folded."""
    text = unicodedata.normalize("NFKC", title).translate(_APOSTROPHES)
    return _fold(strip_publisher(text, source))


def words(normalized: str) -> list[str]:
    """Words, and character pairs of scripts written without spaces (service.tokens)."""
    return tokens(normalized)


def content_words(normalized: str) -> list[str]:
    """Words that can tell one story from another: no stop words, no lone characters."""
    return content_of(tokens(normalized))


def content_of(words: list[str]) -> list[str]:
    """content_words() of a title already cut into words (placing cuts each title once)."""
    stop = stop_words()
    return [w for w in words if w not in stop and len(w) > 1]

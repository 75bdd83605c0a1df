"""Normalised text -> tokens: words where a script spaces them, character pairs where it does not.

Chinese, Japanese and Thai (and Lao, Khmer, Myanmar) are written without spaces between words, so a
whole clause would be one "word" and two reports of one earthquake would share none. Runs of those
scripts become overlapping character pairs (the CJK bigrams of Lucene's CJKAnalyzer), split where the
script changes, so Japanese kanji, kana and digits pair only with their own kind. A pair says little
on its own, but two headlines of one event share many.

A story must not take a headline in another language because both name "NHK" or "7.3": every token of
a headline in one of these scripts carries its language tag ("ja:", "zh:", "th:", ...), so it can match
only headlines of the same language. Latin, Cyrillic and other spaced scripts are left as they were.

MinHash (near duplicates) sees these tokens and the pairs of adjacent ones (Signer.sign, pairs=True):
over a bag of words "Liverpool beat Manchester United" is a copy of "Manchester United beat Liverpool".
"""

from __future__ import annotations

import re

# Characters of the scripts written without spaces, by tag. Kana marks a title Japanese even when most
# of it is kanji; Han alone is taken for Chinese.
_SCRIPTS = (
    ("ja", "\u3040-\u309f"),  # hiragana
    ("ja", "\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"),  # katakana (+ phonetic extensions, half-width)
    ("zh", "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"),  # Han (CJK unified ideographs, ext. A, compatibility)
    ("th", "\u0e00-\u0e7f"),
    ("lo", "\u0e80-\u0eff"),
    ("my", "\u1000-\u109f"),
    ("km", "\u1780-\u17ff"),
)
_UNSPACED = re.compile("[" + "".join(chars for _, chars in _SCRIPTS) + "]")
_KANA = re.compile(f"[{_SCRIPTS[0][1]}{_SCRIPTS[1][1]}]")
# One run of a single script (kana, Han, Thai, ...) or of anything else.
_RUNS = re.compile("|".join(f"[{chars}]+" for _, chars in _SCRIPTS) + "|[^" + "".join(c for _, c in _SCRIPTS) + "]+")
_TAGS = [(tag, re.compile(f"[{chars}]")) for tag, chars in _SCRIPTS]


def language_tag(normalized: str) -> str | None:
    """The tag of the first unspaced script in the text ('ja' whenever it has kana), or None."""
    found = _UNSPACED.search(normalized)
    if found is None:
        return None
    if _KANA.search(normalized):
        return "ja"
    return next(tag for tag, pattern in _TAGS if pattern.match(found.group()))


def tokens(normalized: str) -> list[str]:
    """Words, with runs of unspaced scripts cut into overlapping character pairs, each tagged."""
    tag = language_tag(normalized)
    if tag is None:
        return normalized.split()  # the common case, as cheap as it was
    out: list[str] = []
    for word in normalized.split():
        for run in _RUNS.findall(word):
            if _UNSPACED.match(run) and len(run) > 1:
                out += [run[i : i + 2] for i in range(len(run) - 1)]
            else:
                out.append(run)
    return [f"{tag}:{t}" if len(t) > 1 else t for t in out]


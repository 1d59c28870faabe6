"""Tokens and word n-gram shingles as BigCode's near-dedup makes them.

bigcode-dataset (near_deduplication/minhash_deduplication.py) splits the text on
``[^A-Za-z_0-9]`` (ASCII non-word characters) and joins each run of ``ngram`` consecutive
tokens with a space; text-dedup and The Stack v2's dedup also lowercase the text, and we drop
the empty strings the split leaves between adjacent separators (they carry no content). A
text with fewer than ``ngram`` tokens has no shingle: it is "short", kept and never clustered.
"""
from __future__ import annotations

import re

NON_WORD = re.compile(r"[^a-z_0-9]+")  # applied after lowercasing: ASCII as BigCode's


def tokens(text: str) -> list[str]:
    """BigCode's tokens of ``text``: lowercase ASCII word runs."""
    return [token for token in NON_WORD.split(text.lower()) if token]


def shingle_set(text: str, ngram: int = 5) -> frozenset[str]:
    """The set of word ``ngram``-grams of ``text`` (empty for a short text)."""
    words = tokens(text)
    return frozenset(" ".join(words[i:i + ngram]) for i in range(len(words) - ngram + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Exact Jaccard similarity of two shingle sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)

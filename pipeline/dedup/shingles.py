"""Tokens and word n-gram shingles as BigCode's near-dedup makes them, in any script.

bigcode-dataset (near_deduplication/minhash_deduplication.py) splits the text on
``[^A-Za-z_0-9]`` (ASCII non-word characters) and joins each run of ``ngram`` consecutive
tokens with a space; text-dedup and The Stack v2's dedup also lowercase the text, and we drop
the empty strings the split leaves between adjacent separators (they carry no content). A
text with fewer than ``ngram`` tokens has no shingle: it is "short", kept and never clustered.

BigCode's split turns every non-ASCII letter into a separator, so two files in different
scripts that share their ASCII skeleton (translation and locale files) look identical. The
default tokenizer, ``"unicode"``, keeps the letters, marks and digits of every script (and the
underscore) in its tokens; on ASCII text it gives BigCode's tokens exactly. ``"ascii"`` is
BigCode's rule, kept as an option.
"""
from __future__ import annotations

import re

import regex

TOKENIZERS = ("unicode", "ascii")
DEFAULT_TOKENIZER = "unicode"
NON_WORD = re.compile(r"[^a-z_0-9]+")  # applied after lowercasing: ASCII as BigCode's
UNICODE_WORD = regex.compile(r"[\p{L}\p{M}\p{N}_]+")


def check_tokenizer(tokenizer: str) -> None:
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")


def tokens(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """The lowercase word tokens of ``text``: runs of letters, marks, digits and underscores of
    any script (``"unicode"``) or of ASCII ones only (``"ascii"``, BigCode's)."""
    check_tokenizer(tokenizer)
    if tokenizer == "ascii":
        return [token for token in NON_WORD.split(text.lower()) if token]
    return UNICODE_WORD.findall(text.lower())


def shingle_set(text: str, ngram: int = 5, tokenizer: str = DEFAULT_TOKENIZER) -> frozenset[str]:
    """The set of word ``ngram``-grams of ``text`` (empty for a short text)."""
    words = tokens(text, tokenizer)
    return frozenset(" ".join(words[i:i + ngram]) for i in range(len(words) - ngram + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Exact Jaccard similarity of two shingle sets (0.0 when both are empty)."""
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)

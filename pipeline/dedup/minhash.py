"""MinHash signatures of many texts at once, vectorised with numpy.

Shingles are those of :mod:`pipeline.dedup.shingles` (word n-grams of the lowercased text's
tokens: letters, marks, digits and underscores of any script, or BigCode's ASCII ones); this
module computes the same shingles without a Python object per shingle, and for ASCII text
without one per token.

A shingle's *base hash* (32 bits, see :func:`shingle_hashes`) is reproducible from the
definition alone:

1. token hash ``tau(w)``: XXH3-64 (xxhash, seed 0) of the token's UTF-8 bytes;
2. ``x = tau(w_0)``, then ``x = x * C + tau(w_j) mod 2^64`` for ``j = 1 .. ngram - 1``
   (a polynomial in ``C = 0x9E3779B97F4A7C15``, odd, so changing one token always changes
   ``x``);
3. base hash = the top 32 bits of MurmurHash3's ``fmix64(x)``.

Each distinct token of a batch is hashed once by xxhash; combining, permuting and taking
minima are numpy operations over all shingles of the batch.

The permutations are datasketch's (2.0), parameters drawn from ``RandomState(seed)``
exactly as datasketch draws them, so a signature equals datasketch's ``MinHash(num_perm,
seed, scheme=...)`` fed with the same base hashes, bit for bit:

- ``"affine32"`` (the default): datasketch 2.0's default, ``h' = fmix32(h)``, then
  ``a * h' + b mod 2^32`` with odd ``a``: a bijection, which removes the legacy fold's bias
  on very large sets (datasketch issue 212); three uint32 passes per shingle and permutation;
- ``"legacy"``: ``((a * h + b) mod 2^64) mod (2^61 - 1)``, truncated to 32 bits, the only
  scheme of datasketch < 2.0 and the one bigcode-dataset's minhash_deduplication.py copies
  (the product wraps at 2^64 in uint64 there as here); seven uint64 passes, about 4x slower.

Neither reproduces BigCode's signatures bit for bit: BigCode's base hash is the first 4
bytes of the SHA-1 of the shingle string (datasketch's sha1_hash32).

Signatures are ``uint32`` (both schemes give 32-bit values; datasketch stores legacy ones in
uint64). A text without shingles (fewer than ``ngram`` tokens, see :func:`is_short`) gets a
row of :data:`EMPTY_VALUE`, datasketch's empty value.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import regex
import xxhash

from pipeline.dedup.shingles import DEFAULT_TOKENIZER, check_tokenizer

# BigCode's defaults (bigcode-dataset near_deduplication/minhash_deduplication.py; StarCoder,
# Li et al. 2023, section 3.3): 256 permutations, word 5-grams, seed 42.
DEFAULT_NUM_PERM = 256
DEFAULT_NGRAM = 5
DEFAULT_SEED = 42
SCHEMES = ("affine32", "legacy")
# datasketch 2.0's default scheme. Measured on the demo corpus (bench/dedup_bench.py): about 4x
# faster here than "legacy" (bigcode-dataset's), the Jaccard estimates equally accurate.
DEFAULT_SCHEME = "affine32"

EMPTY_VALUE = np.uint32(0xFFFFFFFF)  # datasketch's max hash: the value of an empty set

_U64 = np.uint64
_U32 = np.uint32
_MERSENNE = _U64((1 << 61) - 1)
_COMBINE = _U64(0x9E3779B97F4A7C15)
_SPACE = 0x20
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_"
# Every byte that is not an ASCII word byte separates tokens (the UTF-8 bytes of non-ASCII
# characters are all >= 0x80); the table lowers A-Z and maps separators to a space.
_LOWER_WORD_OR_SPACE = bytes(
    byte + 32 if 65 <= byte <= 90 else byte if byte in _WORD_BYTES else _SPACE
    for byte in range(256))

# For "unicode" tokens of a non-ASCII text: its non-ASCII separators (not a letter, mark or
# digit) become spaces in the text, then the bytes go through this table, which keeps every byte
# of a non-ASCII character (all >= 0x80) as a word byte. Two C-level passes: about 5x faster than
# a regex over every character.
_NON_ASCII_SEPARATORS = regex.compile(r"[^\x00-\x7f\p{L}\p{M}\p{N}]+")
_LOWER_WORD_OR_SPACE_KEEP_HIGH = bytes(
    byte if byte >= 0x80 else _LOWER_WORD_OR_SPACE[byte] for byte in range(256))

# Characters per tokenised group: bounds the memory of one call (about 10 bytes per character
# of a group; a text longer than this is a group of its own).
_GROUP_CHARS = 4_000_000


@dataclasses.dataclass(frozen=True)
class ShingleHashes:
    """Base hashes of the shingles of many texts: text ``i`` owns
    ``values[offsets[i]:offsets[i + 1]]``, in token order, repeats included."""

    values: np.ndarray  # uint32
    offsets: np.ndarray  # int64, len(texts) + 1

    def of(self, index: int) -> np.ndarray:
        """The base hashes of text ``index``."""
        return self.values[self.offsets[index]:self.offsets[index + 1]]


@dataclasses.dataclass(frozen=True)
class _Tokens:
    """Tokens of a group of texts: token ``k`` is ``data[token_offsets[k]:token_offsets[k + 1]]``
    (the tokens back to back, no separators); ``counts`` are the tokens of each text."""

    data: bytes
    token_offsets: np.ndarray  # int64, tokens + 1
    counts: np.ndarray  # int64, one per text


def _check_texts(texts: Sequence[str]) -> None:
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is {type(text).__name__}, not str")


def _groups(texts: Sequence[str]) -> Iterator[tuple[int, int]]:
    """[start, stop) ranges of ``texts`` of at most ``_GROUP_CHARS`` (one text at least)."""
    start, size = 0, 0
    for index, text in enumerate(texts):
        if index > start and size + len(text) > _GROUP_CHARS:
            yield start, index
            start, size = index, 0
        size += len(text)
    if start < len(texts):
        yield start, len(texts)


def _lowercase_utf8(text: str) -> bytes:
    """UTF-8 of ``text`` whose ASCII letters lower as ``text.lower()`` lowers them.

    The translation table lowers A-Z; of the non-ASCII characters only U+0130 and U+212A
    lower to ASCII ("i" and "k"), so only a text holding one of them pays for ``str.lower``.
    """
    if text.isascii():
        return text.encode("ascii")
    if "\u0130" in text or "\u212a" in text:
        text = text.lower()
    return text.encode("utf-8", "surrogatepass")


def _word_bytes(text: str, tokenizer: str) -> bytes:
    """``text`` lowercased with every separator a space, as bytes. ASCII text (and any text
    under ``"ascii"``) goes through a byte table; other text under ``"unicode"`` first has its
    non-ASCII separators replaced (see _NON_ASCII_SEPARATORS)."""
    if tokenizer == "unicode" and not text.isascii():
        spaced = _NON_ASCII_SEPARATORS.sub(" ", text.lower())
        return spaced.encode("utf-8", "surrogatepass").translate(_LOWER_WORD_OR_SPACE_KEEP_HIGH)
    return _lowercase_utf8(text).translate(_LOWER_WORD_OR_SPACE)


def _tokenize(texts: Sequence[str], tokenizer: str) -> _Tokens:
    """Tokens of ``texts`` (as :func:`pipeline.dedup.shingles.tokens`), without a Python
    object per ASCII token: separators become spaces, token edges are found with numpy."""
    encoded = [_word_bytes(text, tokenizer) for text in texts]
    # A space before, between and after the texts: every token starts and ends inside one.
    mapped = b" ".join([b"", *encoded, b""])
    is_word = np.frombuffer(mapped, dtype=np.uint8) != _SPACE
    edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    # Text i lies after the separator at bounds[i] and before the one at bounds[i + 1].
    bounds = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(chunk) + 1 for chunk in encoded], out=bounds[1:])
    token_offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=token_offsets[1:])
    return _Tokens(data=mapped.translate(None, b" "), token_offsets=token_offsets,
                   counts=np.diff(np.searchsorted(starts, bounds)))


def _token_hashes(tokens: _Tokens) -> np.ndarray:
    """XXH3-64 of every token (uint64), each distinct token hashed once."""
    count = len(tokens.token_offsets) - 1
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), count,
        [None, pa.py_buffer(tokens.token_offsets), pa.py_buffer(tokens.data)])
    encoded = pc.dictionary_encode(array)
    distinct = encoded.dictionary.to_pylist()
    hashes = np.fromiter(map(xxhash.xxh3_64_intdigest, distinct), dtype=_U64,
                         count=len(distinct))
    indices = encoded.indices  # int32, no nulls; read directly (to_numpy imports pandas)
    return hashes[np.frombuffer(indices.buffers()[1], dtype=np.int32, count=len(indices),
                                offset=4 * indices.offset)]


def _fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection that avalanches), on uint64 arrays."""
    values = values ^ (values >> _U64(33))
    values *= _U64(0xFF51AFD7ED558CCD)
    values ^= values >> _U64(33)
    values *= _U64(0xC4CEB9FE1A85EC53)
    values ^= values >> _U64(33)
    return values


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, as datasketch's affine32 scheme pre-mixes inputs."""
    values = values ^ (values >> _U32(16))
    values *= _U32(0x85EBCA6B)
    values ^= values >> _U32(13)
    values *= _U32(0xC2B2AE35)
    values ^= values >> _U32(16)
    return values


def _combine(token_hashes: np.ndarray, counts: np.ndarray, ngram: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Base hashes of all shingles (see the module docstring) and the shingles per text."""
    shingle_counts = np.maximum(counts - (ngram - 1), 0)
    starts_total = len(token_hashes) - (ngram - 1)
    if starts_total <= 0 or not shingle_counts.any():
        return np.empty(0, dtype=_U32), shingle_counts
    combined = token_hashes[:starts_total].copy()
    for j in range(1, ngram):
        combined *= _COMBINE
        combined += token_hashes[j:starts_total + j]
    # A shingle starts at token k when token k + ngram - 1 belongs to the same text.
    owner = np.repeat(np.arange(len(counts)), counts)
    valid = owner[:starts_total] == owner[ngram - 1:]
    return (_fmix64(combined[valid]) >> _U64(32)).astype(_U32), shingle_counts


def _validate(ngram: int, num_perm: int | None = None, seed: int | None = None,
              scheme: str | None = None) -> None:
    if ngram < 1:
        raise ValueError(f"ngram must be positive, got {ngram}")
    if num_perm is not None and num_perm < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    if seed is not None and not 0 <= seed < 2**32:
        raise ValueError(f"seed must lie in [0, 2^32) (numpy RandomState), got {seed}")
    if scheme is not None and scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def shingle_hashes(texts: Sequence[str], *, ngram: int = DEFAULT_NGRAM,
                   tokenizer: str = DEFAULT_TOKENIZER) -> ShingleHashes:
    """The base hash of every shingle of every text (uint32, see the module docstring)."""
    _validate(ngram)
    check_tokenizer(tokenizer)
    _check_texts(texts)
    values, counts = [], []
    for start, stop in _groups(texts):
        found = _tokenize(texts[start:stop], tokenizer)
        group_values, group_counts = _combine(_token_hashes(found), found.counts, ngram)
        values.append(group_values)
        counts.append(group_counts)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    if texts:
        np.cumsum(np.concatenate(counts), out=offsets[1:])
    return ShingleHashes(values=np.concatenate(values) if values else np.empty(0, _U32),
                         offsets=offsets)


def token_counts(texts: Sequence[str], tokenizer: str = DEFAULT_TOKENIZER) -> np.ndarray:
    """The number of tokens of each text (int64), as ``len(shingles.tokens(text))``."""
    check_tokenizer(tokenizer)
    _check_texts(texts)
    counts = [_tokenize(texts[start:stop], tokenizer).counts for start, stop in _groups(texts)]
    return np.concatenate(counts) if counts else np.empty(0, dtype=np.int64)


def is_short(texts: Sequence[str], *, ngram: int = DEFAULT_NGRAM,
             tokenizer: str = DEFAULT_TOKENIZER) -> np.ndarray:
    """Mask of the texts with fewer than ``ngram`` tokens: no shingle, never clustered."""
    _validate(ngram)
    return token_counts(texts, tokenizer) < ngram


def permutations(num_perm: int = DEFAULT_NUM_PERM, seed: int = DEFAULT_SEED,
                 scheme: str = DEFAULT_SCHEME) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` of the ``num_perm`` permutations, drawn as datasketch 2.0 draws them."""
    _validate(1, num_perm, seed, scheme)
    generator = np.random.RandomState(seed)
    if scheme == "legacy":
        pairs = [(generator.randint(1, _MERSENNE, dtype=_U64),
                  generator.randint(0, _MERSENNE, dtype=_U64)) for _ in range(num_perm)]
        a, b = np.array(pairs, dtype=_U64).T
        return a.copy(), b.copy()
    a = generator.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


class _Legacy:
    """``((a h + b) mod 2^64) mod (2^61 - 1)``, low 32 bits, for a block of shingles.

    With ``t = a h + b mod 2^64``, ``t mod p = t - q p`` for ``q = t >> 61`` plus one when
    ``(t & p) + (t >> 61) >= p``; as ``p = 2^61 - 1``, the low 32 bits are those of
    ``t + q``. The plus-one case needs bits 3..60 of ``t`` all set (odds 2^-58): it is
    detected per block and the block then recomputed exactly. Buffers are reused across
    blocks (fresh multi-megabyte arrays would page-fault every 4 KiB).
    """

    # Shingles per block: the fastest of 512..16384 on the demo corpus.
    block = 1024

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self._a, self._b = a[:, None], b[:, None]
        self._t = np.empty((len(a), self.block), dtype=_U64)
        self._q = np.empty((len(a), self.block), dtype=_U64)
        self._out = np.empty((len(a), self.block), dtype=_U32)

    def __call__(self, hashes: np.ndarray) -> np.ndarray:
        """(num_perm, len(hashes)) uint32 permuted values."""
        width = len(hashes)
        t, q, out = self._t[:, :width], self._q[:, :width], self._out[:, :width]
        np.multiply(self._a, hashes.astype(_U64)[None, :], out=t)
        t += self._b
        np.right_shift(t, _U64(61), out=q)
        q += t
        np.copyto(out, q, casting="unsafe")
        np.bitwise_and(t, _MERSENNE, out=q)
        if q.max() >= _MERSENNE - _U64(7):
            q += t >> _U64(61)
            q[q >= _MERSENNE] -= _MERSENNE
            np.copyto(out, q, casting="unsafe")
        return out


class _Affine32:
    """``a fmix32(h) + b mod 2^32`` (datasketch's affine32) for a block of shingles."""

    # Shingles per block: fastest of 512..16384 on the demo corpus.
    block = 8192

    def __init__(self, a: np.ndarray, b: np.ndarray):
        self._a, self._b = a[:, None], b[:, None]
        self._out = np.empty((len(a), self.block), dtype=_U32)

    def __call__(self, hashes: np.ndarray) -> np.ndarray:
        """(num_perm, len(hashes)) uint32 permuted values."""
        out = self._out[:, :len(hashes)]
        np.multiply(self._a, _fmix32(hashes)[None, :], out=out)
        out += self._b
        return out


_PERMUTATIONS = {"legacy": _Legacy, "affine32": _Affine32}


def signatures_of(shingles: ShingleHashes, *, num_perm: int = DEFAULT_NUM_PERM,
                  seed: int = DEFAULT_SEED, scheme: str = DEFAULT_SCHEME) -> np.ndarray:
    """(texts, num_perm) uint32 MinHash signatures of precomputed base hashes.

    Shingles are permuted in blocks of a few thousand (memory stays bounded for any text
    length: num_perm x block x 20 bytes at most); the minimum of each text's part of a
    block is one ``reduceat``.
    """
    permute = _PERMUTATIONS[scheme](*permutations(num_perm, seed, scheme))
    texts = len(shingles.offsets) - 1
    signatures = np.full((texts, num_perm), EMPTY_VALUE, dtype=_U32)
    nonempty = np.flatnonzero(np.diff(shingles.offsets) > 0)
    starts = shingles.offsets[nonempty]
    total = len(shingles.values)
    for low in range(0, total, permute.block):
        high = min(low + permute.block, total)
        first = np.searchsorted(starts, low, side="right") - 1
        last = np.searchsorted(starts, high, side="left")
        owners = nonempty[first:last]
        segments = np.maximum(starts[first:last], low) - low
        minima = np.minimum.reduceat(permute(shingles.values[low:high]), segments, axis=1)
        signatures[owners] = np.minimum(signatures[owners], minima.T)
    return signatures


def minhash_signatures(texts: Sequence[str], *, num_perm: int = DEFAULT_NUM_PERM,
                       ngram: int = DEFAULT_NGRAM, seed: int = DEFAULT_SEED,
                       scheme: str = DEFAULT_SCHEME,
                       tokenizer: str = DEFAULT_TOKENIZER) -> np.ndarray:
    """(len(texts), num_perm) uint32 MinHash signatures of the texts' shingle sets.

    Row ``i`` is datasketch's ``MinHash(num_perm, seed, scheme)`` of text ``i``'s base
    hashes; a short text (:func:`is_short`) gets a row of :data:`EMPTY_VALUE`. The share
    of equal positions of two rows estimates the Jaccard similarity of the shingle sets.
    """
    _validate(ngram, num_perm, seed, scheme)
    return signatures_of(shingle_hashes(texts, ngram=ngram, tokenizer=tokenizer),
                         num_perm=num_perm, seed=seed, scheme=scheme)

"""Membership: is a contributor's code in a release? An index written with every release.

``membership/`` beside the shards of each version (written by the build and again by ``curate
optout apply`` for every version it publishes, so it never lists removed records):

- ``ngrams.bloom``: a Bloom filter over the n-grams of every kept record's content: 50
  characters taken at a stride of 50 (``[membership]``), the Data Portraits method behind
  BigCode's "Am I in The Stack". ``m`` bits, packed little-endian (bit ``i`` is bit ``i % 8`` of
  byte ``i // 8``). An n-gram is hashed once, with xxh3-128 over its UTF-8 bytes; the two 64-bit
  little-endian halves ``h1``, ``h2`` give its ``k`` bits ``(h1 + i * (h2 | 1)) mod m`` for
  ``i < k`` (double hashing, Kirsch & Mitzenmacher 2006: the false-positive rate of ``k``
  independent hashes from one strong hash). xxh3 is the hash the MinHash shingles already
  use, specified byte for byte and the same on every platform.
- ``ngrams.json``: the filter's header: n-gram characters, stride, ``k``, ``m``, the configured
  false-positive rate, the n-grams inserted, the hash.
- ``repos.parquet``: one row per repository: ``owner`` (lower case), ``repo``, ``files``, sorted,
  for ``curate membership user``. Computing it from the shards' ``repo`` column at query time
  reads every shard (bench/optout_bench.py measures both); this file is read by row-group
  statistics.

Why a numpy bit array and not a Bloom filter library: the filter must be a file that any
release reader (the web page; a tool in another language) can test from a short, documented
spec, and byte-identical for the same release. The maintained libraries on PyPI fix their own
file format and hash (rbloom hashes with Python's per-process ``hash()`` unless given a hash
callback, called per item; pybloom-live and bloom-filter2 are pure Python and unreleased since
2022 and 2021). Here the hashing is one xxh3 call per n-gram and the bit work is vectorised.

Sizing: ``m = ceil(count * ln(1/fpr) / ln(2)^2)`` bits rounded up to 64, ``k = round(log2(1/fpr))``
(the optimum for that ``m``), ``count`` the n-grams inserted (repeats included, so the real
rate is at most the configured one). The manifest records the rate measured on random
strings, which no release holds.

A query (a file or a pasted snippet) need not start at one of the release's stride boundaries,
so every one of its n-grams is looked up (every window, stride 1). The n-grams at offsets
``o, o + stride, o + 2 * stride, ...`` form alignment class ``o``: for a snippet copied from a
released file, one class lines up with that file's stored n-grams and all of them are found (a
Bloom filter has no false negatives), while the other classes only meet false positives. The
answer is therefore the best class's share of n-grams found (:func:`presence`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from pipeline.config import MembershipConfig
from pipeline.shards import file_sha256
from pipeline.stage import ReleaseStep

INDEX_DIR = "membership"
FILTER_FILE = f"{INDEX_DIR}/ngrams.bloom"
HEADER_FILE = f"{INDEX_DIR}/ngrams.json"
REPOS_FILE = f"{INDEX_DIR}/repos.parquet"
HASH = "xxh3_128(utf-8 n-gram) -> h1, h2 (little-endian uint64); bit i: (h1 + i*(h2|1)) mod m"
_CHUNK = 1 << 18  # n-grams hashed and set per numpy step (k positions of 8 bytes each)

# The verdicts of :func:`presence`. A verdict needs MIN_FOUND n-grams found in one alignment
# class: a text not in the release has each n-gram found with the filter's false-positive rate
# p, so MIN_FOUND of a class's N with probability about C(N, MIN_FOUND) * p**MIN_FOUND, at most
# 6e-5 over the 50 classes of a text of 1 kB (N = 20) at p = 1e-3; with 2 it would be 1%.
# Half the class found: most of the text is in the release (a copied snippet has all of it,
# less what PII redaction changed); a tenth: part of it is. A text not in the release has about
# p of each class found, 100 and 500 times below these shares.
MIN_FOUND = 3
LIKELY_SHARE = 0.5
PARTLY_SHARE = 0.1


def stored_ngrams(text: str, ngram_chars: int, stride: int) -> list[str]:
    """The n-grams a release stores of ``text``: ``ngram_chars`` characters from offsets
    0, ``stride``, 2 * ``stride``, ... (a text shorter than one n-gram has none)."""
    return [text[start:start + ngram_chars]
            for start in range(0, len(text) - ngram_chars + 1, stride)]


def all_ngrams(text: str, ngram_chars: int) -> list[str]:
    """Every ``ngram_chars``-character window of ``text`` (stride 1), as a query looks up."""
    return stored_ngrams(text, ngram_chars, 1)


def ngram_hashes(ngrams: list[str]) -> np.ndarray:
    """The (h1, h2) pairs of ``ngrams``: an ``(len, 2)`` uint64 array."""
    digests = b"".join(xxhash.xxh3_128_digest(ngram.encode("utf-8", "surrogatepass"))
                       for ngram in ngrams)
    return np.frombuffer(digests, dtype="<u8").reshape(-1, 2)


@dataclasses.dataclass
class BloomFilter:
    """A Bloom filter of ``m`` bits (``m`` a multiple of 64) and ``k`` bit positions per item,
    over the (h1, h2) hash pairs of :func:`ngram_hashes`."""

    m: int
    k: int
    bits: np.ndarray  # m / 8 bytes, little-endian bit order

    @classmethod
    def sized(cls, count: int, fpr: float) -> BloomFilter:
        """An empty filter for ``count`` items at false-positive rate ``fpr`` (the module's
        sizing)."""
        if not 0 < fpr < 1:
            raise ValueError(f"[membership] fpr must lie between 0 and 1, not {fpr}")
        bits = math.ceil(count * math.log(1 / fpr) / math.log(2) ** 2)
        m = max(64, -(-bits // 64) * 64)
        k = max(1, round(math.log2(1 / fpr)))
        return cls(m, k, np.zeros(m // 8, dtype=np.uint8))

    def _positions(self, hashes: np.ndarray) -> np.ndarray:
        """The ``k`` bit positions of each hash pair: ``(len, k)`` uint64 (wrapping sums)."""
        steps = np.arange(self.k, dtype=np.uint64)
        return (hashes[:, :1] + steps * (hashes[:, 1:] | np.uint64(1))) % np.uint64(self.m)

    def add(self, hashes: np.ndarray) -> None:
        """Set the bits of every hash pair."""
        for start in range(0, len(hashes), _CHUNK):
            positions = self._positions(hashes[start:start + _CHUNK]).ravel()
            masks = np.left_shift(np.uint8(1), (positions & np.uint64(7)).astype(np.uint8))
            np.bitwise_or.at(self.bits, positions >> np.uint64(3), masks)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """Whether each hash pair's bits are all set: a bool array (no false negatives)."""
        found = np.empty(len(hashes), dtype=bool)
        for start in range(0, len(hashes), _CHUNK):
            positions = self._positions(hashes[start:start + _CHUNK])
            set_bits = (self.bits[positions >> np.uint64(3)]
                        >> (positions & np.uint64(7)).astype(np.uint8)) & 1
            found[start:start + _CHUNK] = set_bits.all(axis=1)
        return found


def random_probes(count: int, ngram_chars: int, seed: int) -> list[str]:
    """``count`` strings of ``ngram_chars`` printable ASCII characters drawn from SHAKE-256 of
    ``seed`` (the same on every platform and version): strings no release holds (95**50 of
    them), to measure the false-positive rate on."""
    stream = hashlib.shake_256(b"stack-curate membership probes %d" % seed)
    codes = np.frombuffer(stream.digest(count * ngram_chars), dtype=np.uint8) % 95 + 32
    text = codes.astype(np.uint8).tobytes().decode("ascii")
    return [text[i * ngram_chars:(i + 1) * ngram_chars] for i in range(count)]


def _batches(paths: Iterable[Path], columns: list[str]) -> Iterator[pa.RecordBatch]:
    for path in paths:
        yield from pq.ParquetFile(path).iter_batches(columns=columns)


def ngram_count(contents: pa.Array, ngram_chars: int, stride: int) -> int:
    """How many n-grams :func:`stored_ngrams` gives the strings of ``contents`` (nulls: none)."""
    lengths = pc.fill_null(pc.utf8_length(contents), 0).to_numpy(zero_copy_only=False)
    windows = lengths[lengths >= ngram_chars] - ngram_chars
    return int((windows // stride + 1).sum())


def repository_counts(repos: Iterable[pa.Array]) -> pa.Table:
    """Files per repository over ``repos`` arrays: ``owner`` (lower case), ``repo``, ``files``,
    sorted by owner and repository."""
    files: dict[str, int] = {}
    for column in repos:
        for item in pc.value_counts(column).to_pylist():
            files[item["values"]] = files.get(item["values"], 0) + item["counts"]
    names = sorted(files, key=lambda repo: (_owner(repo), repo))
    return pa.table({"owner": [_owner(repo) for repo in names], "repo": names,
                     "files": pa.array([files[repo] for repo in names], pa.int64())})


def _owner(repo: str) -> str:
    return repo.split("/", 1)[0].lower()


@dataclasses.dataclass(frozen=True)
class BuiltIndex:
    """What :meth:`MembershipIndex.build` makes of a release's kept shards."""

    bloom: BloomFilter
    repos: pa.Table
    count: int  # n-grams inserted
    content_bytes: int  # UTF-8 bytes of the content they came from


class MembershipIndex(ReleaseStep):
    """The release step that writes ``membership/`` (the module's files) and records in the
    manifest the filter's size, against the release's, and its measured false-positive rate."""

    name = "membership"
    config_sections = ("membership",)

    def __init__(self, config: MembershipConfig):
        if config.ngram_chars < 1 or not 1 <= config.stride <= config.ngram_chars:
            raise ValueError("[membership] needs ngram_chars >= 1 and 1 <= stride <= "
                             f"ngram_chars, not {config.ngram_chars} and {config.stride}")
        self.config = config

    def build(self, shards: list[Path]) -> BuiltIndex:
        """The index of the kept records of ``shards``: one pass over the content to size
        the filter, one to fill it."""
        n, stride = self.config.ngram_chars, self.config.stride
        count = content_bytes = 0
        for batch in _batches(shards, ["content"]):
            count += ngram_count(batch.column(0), n, stride)
            content_bytes += pc.sum(pc.binary_length(batch.column(0))).as_py() or 0
        bloom = BloomFilter.sized(count, self.config.fpr)
        repos = []
        for batch in _batches(shards, ["repo", "content"]):
            repos.append(batch.column(0))
            bloom.add(ngram_hashes([ngram for text in batch.column(1).to_pylist()
                                    for ngram in stored_ngrams(text or "", n, stride)]))
        return BuiltIndex(bloom, repository_counts(repos), count, content_bytes)

    def measured_fpr(self, bloom: BloomFilter) -> float:
        """The share of the configured random probes that ``bloom`` reports present."""
        probes = random_probes(self.config.fpr_probes, self.config.ngram_chars,
                               self.config.probe_seed)
        return float(bloom.contains(ngram_hashes(probes)).mean()) if probes else 0.0

    def write(self, release_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        built = self.build([release_dir / shard["path"] for shard in manifest["shards"]])
        bloom = built.bloom
        header = {"ngram_chars": self.config.ngram_chars, "stride": self.config.stride,
                  "k": bloom.k, "m": bloom.m, "fpr": self.config.fpr, "count": built.count,
                  "hash": HASH, "bit_order": "little"}
        (release_dir / INDEX_DIR).mkdir(exist_ok=True)
        (release_dir / HEADER_FILE).write_text(json.dumps(header, indent=2, sort_keys=True)
                                               + "\n", encoding="utf-8")
        (release_dir / FILTER_FILE).write_bytes(bloom.bits.tobytes())
        pq.write_table(built.repos, release_dir / REPOS_FILE, compression="zstd")
        shard_bytes = sum(shard["bytes"] for shard in manifest["shards"])
        return {
            **header,
            "files": [{"path": path, "bytes": (release_dir / path).stat().st_size,
                       "sha256": file_sha256(release_dir / path)}
                      for path in (FILTER_FILE, HEADER_FILE, REPOS_FILE)],
            "filter_bytes": bloom.m // 8,
            "repositories": built.repos.num_rows,
            "measured_fpr": self.measured_fpr(bloom),
            "fpr_probes": self.config.fpr_probes,
            "release_shard_bytes": shard_bytes,
            "release_content_bytes": built.content_bytes,
            "fraction_of_shard_bytes": bloom.m / 8 / shard_bytes if shard_bytes else 0.0,
            "fraction_of_content_bytes": (bloom.m / 8 / built.content_bytes
                                          if built.content_bytes else 0.0),
        }


# --- queries ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Presence:
    """How much of a text a release's filter holds: the n-grams looked up (every window), the
    stride, and the best alignment class's n-grams and how many of them were found."""

    checked: int
    stride: int
    class_ngrams: int
    class_found: int

    @property
    def share(self) -> float:
        return self.class_found / self.class_ngrams if self.class_ngrams else 0.0

    @property
    def verdict(self) -> str:
        """likely / partly / not in the release (the module's thresholds), or too short to
        tell: under ``MIN_FOUND * stride`` windows, the aligned class may hold fewer than
        MIN_FOUND n-grams."""
        if self.class_found >= MIN_FOUND and self.share >= LIKELY_SHARE:
            return "likely in the release"
        if self.class_found >= MIN_FOUND and self.share >= PARTLY_SHARE:
            return "partly in the release"
        if self.checked < MIN_FOUND * self.stride:
            return "too short to tell"
        return "not in the release"


def presence(found: np.ndarray, stride: int) -> Presence:
    """The best alignment class of ``found`` (one flag per window of a text, in order): the
    class with the largest share found, the most n-grams found on a tie."""
    best = max((found[offset::stride] for offset in range(min(stride, len(found)))),
               key=lambda flags: (flags.mean(), flags.sum()), default=found)
    return Presence(len(found), stride, len(best), int(best.sum()))


class ReleaseMembership:
    """The membership index of one release, opened for queries."""

    def __init__(self, release_dir: Path):
        header_path = release_dir / HEADER_FILE
        if not header_path.is_file():
            raise FileNotFoundError(
                f"{release_dir} has no membership index ({HEADER_FILE}): it was published "
                "before releases carried one; rebuild it with curate build")
        self.release_dir = release_dir
        self.header = json.loads(header_path.read_text(encoding="utf-8"))
        bits = np.memmap(release_dir / FILTER_FILE, dtype=np.uint8, mode="r")  # pages on demand
        if len(bits) * 8 != self.header["m"]:
            raise ValueError(f"{release_dir / FILTER_FILE} holds {len(bits) * 8} bits, its "
                             f"header says {self.header['m']}: the index is damaged")
        self.bloom = BloomFilter(self.header["m"], self.header["k"], bits)

    @property
    def ngram_chars(self) -> int:
        return self.header["ngram_chars"]

    @property
    def shortest_verdict_chars(self) -> int:
        """The shortest text whose aligned class can hold MIN_FOUND n-grams: below it a text
        may be "too short to tell"."""
        return MIN_FOUND * self.header["stride"] + self.ngram_chars - 1

    def check(self, text: str) -> Presence:
        """How much of ``text`` (at least one n-gram long) the release holds."""
        found = self.bloom.contains(ngram_hashes(all_ngrams(text, self.ngram_chars)))
        return presence(found, self.header["stride"])

    def check_query(self, text: str, name: str) -> Presence:
        """:meth:`check` of a file or snippet called ``name`` in messages; :class:`ValueError`
        when it is blank or shorter than one n-gram."""
        if not text.strip():
            raise ValueError(f"{name} is empty: nothing to check")
        if len(text) < self.ngram_chars:
            raise ValueError(f"{name} holds {len(text)} characters, fewer than one "
                             f"{self.ngram_chars}-character n-gram: nothing to check")
        return self.check(text)

    def repositories(self, owner: str) -> list[tuple[str, int]]:
        """(repository, files) of ``owner``'s repositories, by name; ``owner`` lower case."""
        table = pq.read_table(self.release_dir / REPOS_FILE, filters=[("owner", "=", owner)])
        return list(zip(table.column("repo").to_pylist(), table.column("files").to_pylist()))

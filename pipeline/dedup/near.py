"""Near-deduplication without chaining: LSH parameters, band hashes, clusters of one group.

The Spark job groups records whose MinHash signatures share a band (LSH candidates) into
connected components, the *candidate groups*. Inside a group, plain connected components
would chain: A~B and B~C removes C for A although A and C may differ. :func:`cluster_group`
does not chain. It walks the group in keep order (:func:`pipeline.dedup.keep.keep_key`) and
removes a record only when it is similar enough to a record already *kept*:

- every removed record has similarity >= threshold with its ``duplicate_of`` (a kept record);
- kept records are pairwise below the threshold;
- the result depends on the group's content alone, not on input order or partitioning.

Similarity is the exact Jaccard of the shingle sets (``verify=True``) or the MinHash
estimate, the share of equal signature positions (``verify=False``).

Cost of a group of n records of which k are kept. Estimate: n x k signature comparisons,
vectorised (a group of near-copies keeps few records; the worst case, n mutually dissimilar
records held together by LSH false positives and chains, is n^2 / 2). Exact Jaccard: every
shingle set is built once and held for the whole group (memory: the group's shingles), then a
prefix index (see :class:`_ExactJaccard`) hands each record only the kept records that can
reach the threshold, so set intersections follow the number of truly similar pairs, not
n x k. Measured on the demo corpus (bench/dedup_quality.py): its 237 candidate groups (755
records, largest 38) cost 1.4 ms per record exact (about 0.6 ms of it building shingle sets)
and 0.27 ms estimated; the whole corpus as ONE group (7,014 records, 6,591 kept) 12.2 s exact
(comparisons 6.0 s CPU with the index, 121 s without it) and 6.0 s estimated.
"""
from __future__ import annotations

import collections
import itertools
import math
from typing import Protocol

import numpy as np

from pipeline.config import NearDedupConfig
from pipeline.dedup.keep import keep_key
from pipeline.dedup.minhash import (is_short, minhash_signatures, shingle_hashes,
                                    signatures_of)
from pipeline.dedup.shingles import DEFAULT_TOKENIZER, jaccard, shingle_set, tokens
from pipeline.reasons import Reason, exclude
from pipeline.stage import Partitioning, Stage

# Points of the composite Simpson rule per integral: the areas agree with scipy's quad
# (datasketch's integration) to ~1e-12, far below the gaps between (bands, rows) choices.
_SIMPSON_POINTS = 2001


def _s_curve(similarity: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Probability that two sets of Jaccard ``similarity`` share at least one band."""
    return 1.0 - (1.0 - similarity ** rows) ** bands


def _simpson(values: np.ndarray, low: float, high: float) -> float:
    """Composite Simpson integral of ``values`` sampled evenly on [low, high] (odd count)."""
    step = (high - low) / (len(values) - 1)
    return float(step / 3.0 * (values[0] + values[-1] + 4.0 * values[1:-1:2].sum()
                               + 2.0 * values[2:-1:2].sum()))


def optimal_bands(threshold: float, num_perm: int, fp_weight: float = 0.5,
                  fn_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands x rows <= num_perm minimising the weighted error areas.

    The false-positive area is the integral of the S-curve over [0, threshold], the
    false-negative area that of its complement over [threshold, 1] (datasketch's
    ``_optimal_param``; the first minimum in (bands, rows) order wins, as there).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    if num_perm < 1:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    below = np.linspace(0.0, threshold, _SIMPSON_POINTS)
    above = np.linspace(threshold, 1.0, _SIMPSON_POINTS)
    best, best_error = (0, 0), math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            false_positive = _simpson(_s_curve(below, bands, rows), 0.0, threshold)
            false_negative = _simpson(1.0 - _s_curve(above, bands, rows), threshold, 1.0)
            error = fp_weight * false_positive + fn_weight * false_negative
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


_U64 = np.uint64


def _mix64(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (Steele et al. 2014): a bijection of uint64 that avalanches."""
    values = values ^ (values >> _U64(30))
    values = values * _U64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> _U64(27))
    values = values * _U64(0x94D049BB133111EB)
    return values ^ (values >> _U64(31))


def band_hashes(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: one hash of the ``rows`` signature values of each band.

    Band ``b`` covers columns ``b * rows`` to ``(b + 1) * rows - 1``; columns past
    ``bands * rows`` are unused (as in datasketch and BigCode). The hash depends on the
    values only (any integer dtype, cast to uint64), never on the process.
    """
    if signatures.ndim != 2 or not np.issubdtype(signatures.dtype, np.integer):
        raise ValueError(f"signatures must be a 2-D integer array, got {signatures.dtype} "
                         f"with shape {signatures.shape}")
    if bands < 1 or rows < 1 or bands * rows > signatures.shape[1]:
        raise ValueError(f"{bands} bands x {rows} rows do not fit {signatures.shape[1]} "
                         "signature columns")
    values = signatures[:, :bands * rows].astype(_U64).reshape(len(signatures), bands, rows)
    hashes = np.full((len(signatures), bands), _U64(0x9E3779B97F4A7C15), dtype=_U64)
    for row in range(rows):
        hashes = _mix64(hashes ^ values[:, :, row])
    return hashes


class _Similarity(Protocol):
    method: str

    def best_kept(self, index: int) -> tuple[int, float] | None:
        """The kept record most similar to ``index`` (first in keep order on ties)."""

    def keep(self, index: int) -> None:
        """Add ``index`` to the kept records."""


class _ExactJaccard:
    """Exact Jaccard of shingle sets against the kept records, through a prefix index.

    Prefix filtering (Bayardo et al. 2007, "Scaling Up All Pairs Similarity Search"): with
    the shingles of the group in one global order, two sets with Jaccard >= t share at
    least ceil(t max(|A|, |B|)) shingles, hence one among the first |A| - ceil(t |A|) + 1
    of A and the first |B| - ceil(t |B|) + 1 of B. Indexing the kept records by those
    prefixes finds every kept record that can reach the threshold and skips the rest, so a
    large group of mostly distinct records does not cost n x k set intersections.

    The order puts the shingles found in one record only first (they never meet another
    record, so their order among themselves does not matter and they are never indexed),
    then the others rarest first, ties by text: short posting lists, deterministic.
    """

    method = "jaccard"

    def __init__(self, shingles: list[frozenset[str]], threshold: float):
        frequency = collections.Counter(itertools.chain.from_iterable(shingles))
        shared = sorted((s for s, count in frequency.items() if count > 1),
                        key=lambda s: (frequency[s], s))
        rank = {s: position for position, s in enumerate(shared)}
        self._shingles = shingles
        self._threshold = threshold
        self._prefixes = []
        for shingle in shingles:
            ranks = sorted(map(rank.__getitem__, shingle & rank.keys()))
            length = _prefix_length(len(shingle), threshold) - (len(shingle) - len(ranks))
            self._prefixes.append(ranks[:max(length, 0)])
        self._index: dict[int, list[int]] = collections.defaultdict(list)
        self._kept_position: dict[int, int] = {}

    def best_kept(self, index: int) -> tuple[int, float] | None:
        size = len(self._shingles[index])
        candidates = {kept for token in self._prefixes[index]
                      for kept in self._index.get(token, ())}
        best: tuple[int, float] | None = None
        for kept in sorted(candidates, key=self._kept_position.__getitem__):
            other = len(self._shingles[kept])
            if min(size, other) / max(size, other) < self._threshold:
                continue  # Jaccard <= min/max of the sizes (rounding keeps the order)
            similarity = jaccard(self._shingles[index], self._shingles[kept])
            if best is None or similarity > best[1]:
                best = (kept, similarity)
        return best

    def keep(self, index: int) -> None:
        self._kept_position[index] = len(self._kept_position)
        for token in self._prefixes[index]:
            self._index[token].append(index)


def _prefix_length(size: int, threshold: float) -> int:
    """Prefix of a set of ``size`` shingles that prefix filtering needs at ``threshold``.

    The margin under the threshold lengthens the prefix where float rounding of
    threshold x size could shorten it: more candidates, never a missed one.
    """
    return size - math.ceil((threshold - 1e-9) * size) + 1


class _MinHashEstimate:
    """Share of equal signature positions against the kept records (vectorised)."""

    method = "minhash"

    def __init__(self, signatures: np.ndarray):
        self._signatures = signatures
        self._kept: list[int] = []
        self._kept_signatures = np.empty_like(signatures)

    def best_kept(self, index: int) -> tuple[int, float] | None:
        if not self._kept:
            return None
        equal = self._kept_signatures[:len(self._kept)] == self._signatures[index]
        shares = np.count_nonzero(equal, axis=1) / self._signatures.shape[1]
        position = int(np.argmax(shares))  # first maximum: keep order on ties
        return self._kept[position], float(shares[position])

    def keep(self, index: int) -> None:
        self._kept_signatures[len(self._kept)] = self._signatures[index]
        self._kept.append(index)


def _check_group(records: list[dict], threshold: float, ngram: int, verify: bool,
                 signatures: np.ndarray | None) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0, 1], got {threshold}")
    if ngram < 1:
        raise ValueError(f"ngram must be positive, got {ngram}")
    ids = [record["id"] for record in records]
    if len(set(ids)) != len(ids):
        raise ValueError("a candidate group holds the same record id twice")
    missing = [record["id"] for record in records if record.get("content") is None]
    if missing:
        raise ValueError(f"records without content cannot be near-deduplicated: {missing[:5]}")
    if not verify and (signatures is None or signatures.ndim != 2
                       or len(signatures) != len(records)):
        shape = None if signatures is None else signatures.shape
        raise ValueError("verify=False needs one MinHash signature per record "
                         f"({len(records)} rows), got {shape}")


def cluster_group(records: list[dict], threshold: float, ngram: int, verify: bool,
                  signatures: np.ndarray | None = None, stage: str = "near_dedup",
                  tokenizer: str = DEFAULT_TOKENIZER) -> list[dict]:
    """Keep or mark NEAR_DUPLICATE every record of one candidate group, without chaining.

    ``records`` carry ``id``, ``content`` and the keep-rule fields; ``signatures`` (row i
    for ``records[i]``) are needed when ``verify`` is false and unused otherwise. Returns
    the group in keep order: a removed record points at the kept record it is most similar
    to (``duplicate_of``; ties go to the earlier kept one) and its cluster (``cluster_id``:
    the kept record's id), with the similarity, the threshold, the method (``jaccard`` or
    ``minhash``) and the group size in ``details``. Kept records are returned unchanged. Short
    documents (fewer than ``ngram`` tokens) are always kept and match nothing.
    """
    _check_group(records, threshold, ngram, verify, signatures)
    order = sorted(range(len(records)), key=lambda i: keep_key(records[i]))
    if verify:
        shingles = [shingle_set(record["content"], ngram, tokenizer) for record in records]
        short = [not shingle for shingle in shingles]
        similarity: _Similarity = _ExactJaccard(shingles, threshold)
    else:
        short = [len(tokens(record["content"], tokenizer)) < ngram for record in records]
        similarity = _MinHashEstimate(signatures)
    out: list[dict] = []
    for index in order:
        match = None if short[index] else similarity.best_kept(index)
        if match is not None and match[1] >= threshold:
            keeper = records[match[0]]["id"]
            out.append(exclude(records[index], Reason.NEAR_DUPLICATE, stage,
                               duplicate_of=keeper, similarity=match[1], threshold=threshold,
                               method=similarity.method, cluster_id=keeper,
                               group_size=len(records)))
            continue
        if not short[index]:
            similarity.keep(index)
        out.append(records[index])
    return out


def band_keys(texts: list[str], config: NearDedupConfig, bands: int | None = None,
              rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The LSH band keys of ``texts``, of the MinHash signatures the near dedup makes
    (``config``'s shingles, permutations and seed): the indices of the texts with shingles
    (int64; short texts have none and match nothing) and their ``(len(indices), bands)``
    uint64 :func:`band_hashes`. ``bands`` and ``rows``: ``config``'s unless given."""
    bands, rows = bands or config.bands, rows or config.rows
    shingles = shingle_hashes(texts, ngram=config.ngram, tokenizer=config.tokenizer)
    long_enough = np.flatnonzero(np.diff(shingles.offsets) > 0)
    if not len(long_enough):
        return long_enough, np.empty((0, bands), dtype=_U64)
    signatures = signatures_of(shingles, num_perm=config.num_perm, seed=config.seed)
    return long_enough, band_hashes(signatures[long_enough], bands, rows)


def similarities(text: str, others: list[str], config: NearDedupConfig) -> list[float]:
    """The similarity the near dedup measures between ``text`` and each of ``others``: the
    exact Jaccard of their shingle sets (``verify_jaccard``), else the MinHash estimate; 0.0
    where either is short (no shingle), as :func:`cluster_group` matches nothing there."""
    if config.verify_jaccard:
        mine = shingle_set(text, config.ngram, config.tokenizer)
        sets = [shingle_set(other, config.ngram, config.tokenizer) for other in others]
        return [jaccard(mine, other) if mine and other else 0.0 for other in sets]
    texts = [text, *others]
    short = is_short(texts, ngram=config.ngram, tokenizer=config.tokenizer)
    signatures = minhash_signatures(texts, num_perm=config.num_perm, ngram=config.ngram,
                                    seed=config.seed, tokenizer=config.tokenizer)
    shares = np.count_nonzero(signatures[1:] == signatures[0], axis=1) / config.num_perm
    return [0.0 if short[0] or short[i + 1] else float(share)
            for i, share in enumerate(shares)]


def candidate_groups(texts: list[str], config: NearDedupConfig,
                     scopes: list[str] | None = None) -> list[list[int]]:
    """Indices of ``texts`` that share an LSH bucket with another of the same scope (when
    ``scopes`` gives one per text), as connected components (each sorted; short texts, with no
    shingle, in none): what ``jobs/near_dedup.py`` finds with Spark, in one process."""
    long_enough, buckets = band_keys(texts, config)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_in_bucket: dict[tuple[str | None, int, int], int] = {}
    for row, index in enumerate(long_enough):
        scope = scopes[index] if scopes is not None else None
        for band, bucket in enumerate(buckets[row].tolist()):
            other = first_in_bucket.setdefault((scope, band, bucket), int(index))
            parent[root(int(index))] = root(other)
    components: dict[int, list[int]] = collections.defaultdict(list)
    for index in long_enough:
        components[root(int(index))].append(int(index))
    return [sorted(members) for members in components.values() if len(members) > 1]


class NearDedupStage(Stage):
    """MinHash LSH candidates, connected components, clusters without chaining
    (:func:`cluster_group`). A whole-dataset step: on Spark, ``jobs/near_dedup.py``.

    Candidates are sought within one ``scope``, the record's kind: a notebook's script and
    structured forms are near-copies by construction (Jaccard 0.94 on tqdm's test notebook),
    and StarCoderData deduplicated its notebook data sets apart from its files."""

    name = "near_dedup"
    scope = "kind"
    config_sections = ("near_dedup",)
    code = ("pipeline.dedup", "jobs.near_dedup")
    partitioning = Partitioning.WHOLE_DATASET
    reasons = (Reason.NEAR_DUPLICATE,)

    def __init__(self, config: NearDedupConfig):
        self.config = config

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def process_dataset(self, records: list[dict]) -> list[dict]:
        config = self.config
        out = list(records)
        for members in candidate_groups([r["content"] or "" for r in records], config,
                                        [r.get(self.scope) for r in records]):
            group = sorted((records[i] for i in members), key=lambda r: r["id"])
            signatures = None if config.verify_jaccard else minhash_signatures(
                [r["content"] or "" for r in group], num_perm=config.num_perm,
                ngram=config.ngram, seed=config.seed, tokenizer=config.tokenizer)
            clustered = {r["id"]: r for r in cluster_group(
                group, config.threshold, config.ngram, config.verify_jaccard, signatures,
                stage=self.name, tokenizer=config.tokenizer)}
            for i in members:
                out[i] = clustered[records[i]["id"]]
        return out

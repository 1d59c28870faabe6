"""Quality of near-deduplication on the demo corpus against an exact ground truth.

Corpus: every text file of the 43 demo sdists that ingest keeps (a record with content and
no reason; no licence or quality stage, so vendored and generated files stay in: more
near-copies), exact-deduplicated with the keep rule first, as the build does before near
dedup. Documents with fewer than ``ngram`` tokens have no shingle and take no part.

Ground truth: every pair with exact Jaccard >= threshold on BigCode shingle sets, found
without MinHash by an all-pairs similarity join with prefix filtering (Bayardo et al. 2007,
"Scaling Up All Pairs Similarity Search"), which is exact for a threshold.

Methods, each scored on pair recall (share of true pairs of which at most one record
survives), false removals (share of removed records whose exact Jaccard with their
``duplicate_of`` is below the threshold), removed records and seconds:

- ``datasketch + union-find``: MinHashLSH candidates, connected components, one record kept
  per component (the keep rule chooses it): the classic pipeline;
- ``ours``: our signatures and band hashes, candidate groups = connected components of
  records sharing a band bucket (in-process union-find; the Spark job uses large-star /
  small-star), then :func:`pipeline.dedup.near.cluster_group` with verify on and off.

Run: ``.venv/bin/python bench/dedup_bench.py --sections quality`` (or this file); Markdown.
"""
from __future__ import annotations

import collections
import gzip
import json
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
from datasketch import MinHash, MinHashLSH

from pipeline.config import NearDedupConfig
from pipeline.dedup import (band_hashes, cluster_group, keep_key, mark_duplicates,
                            minhash_signatures)
from pipeline.dedup.shingles import jaccard, shingle_set, tokens
from pipeline.reasons import Reason

# Margin under the threshold for the prefix lengths of the join: longer prefixes only add
# candidates, so float rounding of threshold x size can never drop a true pair.
_PREFIX_MARGIN = 1e-9


def distinct_texts(records: list[dict]) -> list[dict]:
    """One record per distinct content (the keep rule chooses), as exact dedup leaves them."""
    by_hash = collections.defaultdict(list)
    for record in records:
        by_hash[record["content_hash"]].append(record)
    distinct = [mark_duplicates(group, Reason.EXACT_DUPLICATE, "exact_dedup")[0]
                for _, group in sorted(by_hash.items())]
    return sorted(distinct, key=lambda r: r["id"])


class UnionFind:
    """Disjoint sets over 0..n-1; a component's root is its smallest member."""

    def __init__(self, size: int):
        self._parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[item] != root:
            self._parent[item], item = root, self._parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self._parent[max(a, b)] = min(a, b)

    def components(self, items: list[int]) -> list[list[int]]:
        """Components of two or more of ``items``, each sorted, in order of their root."""
        groups = collections.defaultdict(list)
        for item in items:
            groups[self.find(item)].append(item)
        return [sorted(group) for _, group in sorted(groups.items()) if len(group) > 1]


def exact_pairs(shingles: list[frozenset[str]], threshold: float) -> set[tuple[int, int]]:
    """Every pair (i < j) with Jaccard >= ``threshold``: all-pairs join, prefix filtering.

    Shingles are ordered rarest first; a document's prefix is its first
    ``|x| - ceil(t |x|) + 1`` shingles. Two sets with Jaccard >= t share at least
    ceil(t max(|x|, |y|)) shingles, hence one in both prefixes, so probing the prefixes of
    the documents seen so far (in order of size) finds every true pair; each candidate is
    then verified with the exact Jaccard.
    """
    frequency = collections.Counter(s for shingle in shingles for s in shingle)
    rank = {s: i for i, s in enumerate(sorted(frequency, key=lambda s: (frequency[s], s)))}
    index: dict[int, list[int]] = collections.defaultdict(list)
    pairs = set()
    documents = (i for i, shingle in enumerate(shingles) if shingle)
    for doc in sorted(documents, key=lambda i: (len(shingles[i]), i)):
        size = len(shingles[doc])
        prefix = sorted(rank[s] for s in shingles[doc])[
            :size - math.ceil((threshold - _PREFIX_MARGIN) * size) + 1]
        candidates = {other for token in prefix for other in index[token]
                      if len(shingles[other]) >= (threshold - _PREFIX_MARGIN) * size}
        for other in candidates:
            if jaccard(shingles[doc], shingles[other]) >= threshold:
                pairs.add((min(doc, other), max(doc, other)))
        for token in prefix:
            index[token].append(doc)
    return pairs


Outcome = dict[int, int]  # removed document -> the document it was removed for


def classic_datasketch(records: list[dict], shingles: list[frozenset[str]],
                       config: NearDedupConfig) -> Outcome:
    """datasketch MinHashLSH candidates, union-find, one record kept per component."""
    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    docs = [i for i, s in enumerate(shingles) if s]
    sketches = {}
    for doc in docs:
        sketch = MinHash(num_perm=config.num_perm, seed=config.seed)
        sketch.update_batch([s.encode("utf-8") for s in sorted(shingles[doc])])
        sketches[doc] = sketch
        lsh.insert(doc, sketch)
    union = UnionFind(len(records))
    for doc in docs:
        for other in lsh.query(sketches[doc]):
            union.union(doc, other)
    removed = {}
    for group in union.components(docs):
        keeper, *others = sorted(group, key=lambda i: keep_key(records[i]))
        removed.update((other, keeper) for other in others)
    return removed


class _BigCodeWords:
    """datatrove word tokenizer that splits as BigCode does (pipeline.dedup.shingles)."""

    def __new__(cls):
        from datatrove.utils.word_tokenizers import WordTokenizer

        class Words(WordTokenizer):
            def word_tokenize(self, text: str) -> list[str]:
                return tokens(text)

            def sent_tokenize(self, text: str) -> list[str]:
                return [text]

            def span_tokenize(self, text: str) -> list[tuple[int, int]]:
                return [(0, len(text))]

        return Words()


def datatrove_peer(records: list[dict], shingles: list[frozenset[str]],
                   config: NearDedupConfig) -> Outcome:
    """datatrove's four-stage MinHash dedup (one local task, BigCode's word split, 5-grams,
    25 x 10 buckets, sha1 32-bit shingle hashes as BigCode's: datatrove 0.10.1's xxhash path
    passes str to xxhash 4, which refuses it); the record removed for is the kept member of
    its datatrove cluster."""
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets,
                                                  MinhashDedupCluster, MinhashDedupFilter,
                                                  MinhashDedupSignature)
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    docs = [i for i, s in enumerate(shingles) if s]
    minhash = MinhashConfig(n_grams=config.ngram, num_buckets=config.bands,
                            hashes_per_bucket=config.rows, seed=config.seed,
                            hash_config=HashConfig(precision=32, hash_fc="sha1"))

    def source(data, rank: int = 0, world_size: int = 1):
        for doc in docs:
            yield Document(text=records[doc]["content"], id=str(doc))

    kept: dict[int, int] = {}

    def collect(data, rank: int = 0, world_size: int = 1):
        for document in data:
            kept[int(document.id)] = document.metadata.get("minhash_cluster_id", -1)
            yield document

    with tempfile.TemporaryDirectory() as work:
        stages = [
            [source, MinhashDedupSignature(f"{work}/sigs", config=minhash,
                                           language=_BigCodeWords())],
            [MinhashDedupBuckets(f"{work}/sigs", f"{work}/buckets", config=minhash)],
            [MinhashDedupCluster(f"{work}/buckets", f"{work}/remove", config=minhash,
                                 save_cluster_id=True)],
            [source, MinhashDedupFilter(f"{work}/remove", load_cluster_ids=True,
                                        exclusion_writer=JsonlWriter(f"{work}/removed")),
             collect],
        ]
        for number, pipeline in enumerate(stages):  # a log folder each: it records completion
            tasks = config.bands if number == 1 else 1  # datatrove: one bucket task per band
            LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1,
                                  logging_dir=f"{work}/logs{number}").run()
        keeper_of_cluster = {cluster: doc for doc, cluster in kept.items() if cluster >= 0}
        removed = {}
        for path in sorted(Path(work, "removed").glob("*.jsonl*")):
            with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as lines:
                for line in lines:
                    item = json.loads(line)
                    cluster = item["metadata"]["minhash_cluster_id"]
                    removed[int(item["id"])] = keeper_of_cluster[cluster]
    return removed


def candidate_groups(signatures: np.ndarray, docs: list[int], config: NearDedupConfig
                     ) -> list[list[int]]:
    """Connected components of documents sharing a (band, band hash) bucket."""
    hashes = band_hashes(signatures[docs], config.bands, config.rows)
    union = UnionFind(len(signatures))
    first_in_bucket: dict[tuple[int, int], int] = {}
    for row, doc in enumerate(docs):
        for band, value in enumerate(hashes[row].tolist()):
            union.union(doc, first_in_bucket.setdefault((band, value), doc))
    return union.components(docs)


def ours(records: list[dict], groups: list[list[int]], signatures: np.ndarray,
         config: NearDedupConfig, verify: bool) -> tuple[Outcome, list[float]]:
    """cluster_group over each candidate group; the outcome and the seconds per group."""
    position = {record["id"]: i for i, record in enumerate(records)}
    removed, seconds = {}, []
    for group in groups:
        started = time.perf_counter()
        marked = cluster_group([records[i] for i in group], config.threshold, config.ngram,
                               verify, signatures=signatures[group])
        seconds.append(time.perf_counter() - started)
        removed.update((position[r["id"]], position[r["duplicate_of"]])
                       for r in marked if r["reason"] is not None)
    return removed, seconds


def score(removed: Outcome, truth: set[tuple[int, int]], shingles: list[frozenset[str]],
          threshold: float) -> tuple[float, int, int]:
    """(pair recall, false removals, removed)."""
    caught = sum(1 for a, b in truth if a in removed or b in removed)
    false = sum(1 for doc, keeper in removed.items()
                if jaccard(shingles[doc], shingles[keeper]) < threshold)
    return caught / max(len(truth), 1), false, len(removed)


def timed(action: Callable):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def quality_section(ingested: list[dict], repeats: int = 1) -> None:
    """The quality tables on the ingested demo texts (a section of bench/dedup_bench.py)."""
    config = NearDedupConfig()
    records, load_s = timed(lambda: distinct_texts(ingested))
    shingles, shingle_s = timed(lambda: [shingle_set(r["content"], config.ngram) for r in records])
    docs = [i for i, s in enumerate(shingles) if s]
    truth, truth_s = timed(lambda: exact_pairs(shingles, config.threshold))
    size_mb = sum(len(r["content"].encode("utf-8")) for r in records) / 1e6
    print(f"# Near-dedup quality ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"Python {platform.python_version()})\n")
    print(f"Corpus: {len(records)} distinct text files ({size_mb:.1f} MB) of the demo sdists "
          f"(ingest only, exact-deduplicated in {load_s:.1f} s); {len(docs)} with at "
          f"least {config.ngram} tokens. Shingle sets: {shingle_s:.1f} s.\n")
    print(f"Ground truth (all-pairs join with prefix filtering, exact Jaccard >= "
          f"{config.threshold}): **{len(truth)} pairs** over "
          f"{len({d for pair in truth for d in pair})} documents, {truth_s:.1f} s.\n")

    texts = [r["content"] for r in records]
    signatures, signature_s = timed(lambda: minhash_signatures(
        texts, num_perm=config.num_perm, ngram=config.ngram, seed=config.seed))
    groups, group_s = timed(lambda: candidate_groups(signatures, docs, config))
    sizes = [len(g) for g in groups]
    print(f"Our candidate groups ({config.bands} bands x {config.rows} rows): {len(groups)} "
          f"groups, {sum(sizes)} documents, largest {max(sizes, default=0)}; signatures "
          f"{signature_s:.1f} s, band hashes + union-find {group_s:.1f} s.\n")

    classic, classic_s = timed(lambda: classic_datasketch(records, shingles, config))
    try:
        peer, peer_s = timed(lambda: datatrove_peer(records, shingles, config))
        peers = [("datatrove 4-stage MinHash (BigCode words, 25 x 10)", peer, peer_s)]
    except ImportError:
        peers = []
        print("datatrove is not installed (pip install '.[bench]'): its row is left out.\n")
    (verified, verified_times), verified_s = timed(
        lambda: ours(records, groups, signatures, config, verify=True))
    (estimated, estimated_times), estimated_s = timed(
        lambda: ours(records, groups, signatures, config, verify=False))
    for removed in (verified, estimated):  # the join misses nothing a verified method finds
        assert all((min(d, k), max(d, k)) in truth for d, k in removed.items()
                   if jaccard(shingles[d], shingles[k]) >= config.threshold)

    print("| method | pair recall | false removals | removed | seconds |")
    print("|---|---|---|---|---|")
    for name, removed, seconds in (
            ("datasketch MinHashLSH + union-find (one kept per component)", classic, classic_s),
            *peers,
            ("ours, verify=True (exact Jaccard)", verified, signature_s + group_s + verified_s),
            ("ours, verify=False (MinHash estimate)", estimated,
             signature_s + group_s + estimated_s)):
        recall, false, count = score(removed, truth, shingles, config.threshold)
        print(f"| {name} | {recall:.4f} | {false} ({false / max(count, 1):.2%}) | {count} | "
              f"{seconds:.1f} |")
    print("\nSeconds: the whole method from shingles (datasketch) or texts (ours) on; ours = "
          "signatures + band hashes and union-find + cluster_group over every group.\n")

    print("## Cost of verification (cluster_group only)\n")
    print("| similarity | total s | per group ms (mean / median / max) | per record us |")
    print("|---|---|---|---|")
    for name, times in (("exact Jaccard (verify=True)", verified_times),
                        ("MinHash estimate (verify=False)", estimated_times)):
        print(f"| {name} | {sum(times):.2f} | {statistics.mean(times) * 1e3:.2f} / "
              f"{statistics.median(times) * 1e3:.2f} / {max(times) * 1e3:.1f} | "
              f"{sum(times) / max(sum(sizes), 1) * 1e6:.0f} |")

    print("\n## Worst case: the whole corpus as one candidate group\n")
    print("| similarity | records | kept | seconds | pair recall | false removals |")
    print("|---|---|---|---|---|---|")
    for verify in (True, False):
        removed, times = ours(records, [docs], signatures, config, verify)
        recall, false, count = score(removed, truth, shingles, config.threshold)
        print(f"| {'exact Jaccard' if verify else 'MinHash estimate'} | {len(docs)} | "
              f"{len(docs) - count} | {times[0]:.1f} | {recall:.4f} | {false} |")


if __name__ == "__main__":
    from dedup_bench import main

    raise SystemExit(main(["--sections", "quality"]))

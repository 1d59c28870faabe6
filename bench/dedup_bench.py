"""Benchmark of near-dedup on the demo corpus (real PyPI sdists); Markdown on stdout.

Section ``signatures``: MinHash signatures of every text file of the corpus (records with
content after ingest), ours (:func:`pipeline.dedup.minhash_signatures`) against datasketch
2.0 on the same texts and parameters (256 permutations, word 5-grams, seed 42), in one
process, back to back, each repeated and the median reported:

- datasketch ``update_batch``: per text ``MinHash(num_perm, seed)`` and ``update_batch`` of
  the encoded shingle strings, as its documentation shows (affine32, its default scheme);
- the same with the permutations made once and passed to every MinHash (``permutations=``),
  for the affine32 and the legacy scheme;
- datasketch ``MinHash.bulk`` (one call for all texts);
- ours with each scheme.

Every row runs from the texts to the signatures: datasketch's rows include BigCode's
shingling in Python (:func:`pipeline.dedup.shingles.shingle_set`, timed alone on its own
row). Accuracy: mean absolute error of each method's Jaccard estimate (share of equal
signature positions) against the exact Jaccard of the shingle sets, on pairs of texts in
strata of exact Jaccard; near-duplicate pairs come from files of the same name in
different packages (pip vendors requests, urllib3, ... which are also in the corpus).

Run: ``.venv/bin/python bench/dedup_bench.py [--repeats 3] [--sections signatures]``.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import itertools
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import datasketch
import numpy as np
from datasketch import MinHash

from jobs.demo import prepare_demo_corpus
from licenses.files import is_license_file
from pipeline.config import IngestConfig
from pipeline.dedup import is_short, minhash_signatures
from pipeline.dedup.minhash import DEFAULT_NGRAM, DEFAULT_NUM_PERM, DEFAULT_SEED
from pipeline.dedup.shingles import jaccard, shingle_set
from pipeline.ingest import RepoEntry, ingest_repository, read_manifest

NUM_PERM, NGRAM, SEED = DEFAULT_NUM_PERM, DEFAULT_NGRAM, DEFAULT_SEED
# Strata of exact Jaccard for the accuracy pairs (identical shingle sets apart: every
# method estimates those exactly); at most PAIRS_PER_STRATUM pairs each.
STRATA = ((0.9, 1.0), (0.7, 0.9), (0.3, 0.7), (0.0, 0.3))
PAIRS_PER_STRATUM = 1000
# Files of one name compared pairwise only in groups up to this size (__init__.py is huge).
MAX_NAME_GROUP = 60


def load_texts(manifest: Path) -> list[dict]:
    """Records with content (ingest kept them) of every package of the manifest."""
    records = []
    for entry in read_manifest(manifest):
        if not isinstance(entry, RepoEntry):  # issues: not code
            continue
        with tempfile.TemporaryDirectory() as scratch:
            repo = ingest_repository(entry, IngestConfig(), Path(scratch), is_license_file)
        records.extend(r for r in repo.records if r["reason"] is None and r["content"])
    return records


def datasketch_per_text(scheme: str, share_permutations: bool
                        ) -> Callable[[list[str]], np.ndarray]:
    """datasketch's per-document path: a MinHash per text and ``update_batch`` of its
    encoded shingles; the permutations made once and passed to each MinHash, or made by
    each MinHash (``MinHash(num_perm, seed)`` as its documentation shows)."""
    def run(texts: list[str]) -> np.ndarray:
        template = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=scheme)
        shared = {"permutations": template.permutations} if share_permutations else {}
        rows = []
        for text in texts:
            minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=scheme, **shared)
            minhash.update_batch([s.encode() for s in shingle_set(text, NGRAM)])
            rows.append(minhash.digest())
        return np.array(rows)
    return run


def datasketch_bulk(texts: list[str]) -> np.ndarray:
    """datasketch's MinHash.bulk over all texts."""
    shingles = [[s.encode() for s in shingle_set(text, NGRAM)] for text in texts]
    return np.array([m.digest() for m in MinHash.bulk(shingles, num_perm=NUM_PERM, seed=SEED)])


def ours(scheme: str) -> Callable[[list[str]], np.ndarray]:
    return lambda texts: minhash_signatures(texts, num_perm=NUM_PERM, ngram=NGRAM, seed=SEED,
                                            scheme=scheme)


def shingling_only(texts: list[str]) -> None:
    for text in texts:
        shingle_set(text, NGRAM)


METHODS: dict[str, Callable[[list[str]], np.ndarray | None]] = {
    "BigCode shingling alone (shingle_set, Python)": shingling_only,
    "datasketch update_batch, new MinHash per text (affine32)":
        datasketch_per_text("affine32", share_permutations=False),
    "datasketch update_batch, shared permutations (affine32)":
        datasketch_per_text("affine32", share_permutations=True),
    "datasketch update_batch, shared permutations (legacy)":
        datasketch_per_text("legacy", share_permutations=True),
    "datasketch MinHash.bulk (affine32)": datasketch_bulk,
    "ours, minhash_signatures (affine32)": ours("affine32"),
    "ours, minhash_signatures (legacy)": ours("legacy"),
}


@dataclasses.dataclass
class Timing:
    """Median wall-clock and CPU (process) seconds of one method."""

    wall: float
    cpu: float


def time_methods(texts: list[str], repeats: int) -> tuple[dict[str, Timing], dict[str, np.ndarray]]:
    """Median seconds of each method over ``repeats`` rounds (methods back to back in each
    round) and the signatures of the last round. CPU time is reported next to wall-clock
    time because the machine is shared: other jobs stretch wall-clock time, not CPU time."""
    wall: dict[str, list[float]] = collections.defaultdict(list)
    cpu: dict[str, list[float]] = collections.defaultdict(list)
    signatures: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name, method in METHODS.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            result = method(texts)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
            if result is not None:
                signatures[name] = result
    return ({name: Timing(statistics.median(wall[name]), statistics.median(cpu[name]))
             for name in wall}, signatures)


def sample_pairs(records: list[dict], shingles: list[frozenset[str]]
                 ) -> dict[tuple[float, float], list[tuple[int, int, float]]]:
    """Pairs (i, j, exact Jaccard) per stratum: same-name files of different packages, and
    random pairs; identical shingle sets and short texts left out."""
    rng = random.Random(0)
    by_name: dict[str, list[int]] = collections.defaultdict(list)
    for index, record in enumerate(records):
        if shingles[index]:
            by_name[record["path"].rsplit("/", 1)[-1]].append(index)
    candidates = set()
    for members in by_name.values():
        if len(members) > MAX_NAME_GROUP:
            members = rng.sample(members, MAX_NAME_GROUP)
        candidates.update((i, j) for i, j in itertools.combinations(sorted(members), 2)
                          if records[i]["repo"] != records[j]["repo"])
    with_shingles = [i for i, s in enumerate(shingles) if s]
    candidates.update(tuple(sorted(rng.sample(with_shingles, 2))) for _ in range(5000))
    strata: dict[tuple[float, float], list[tuple[int, int, float]]] = {s: [] for s in STRATA}
    for i, j in sorted(candidates):
        if shingles[i] == shingles[j]:
            continue
        similarity = jaccard(shingles[i], shingles[j])
        for low, high in STRATA:
            if low <= similarity < high:
                strata[(low, high)].append((i, j, similarity))
                break
    return {s: rng.sample(p, min(len(p), PAIRS_PER_STRATUM)) for s, p in strata.items()}


def accuracy_rows(strata: dict, signatures: dict[str, np.ndarray]) -> list[str]:
    """Markdown rows: per method and stratum, MAE and mean signed error of the estimates."""
    rows = []
    for name, sig in signatures.items():
        cells = []
        for pairs in strata.values():
            if not pairs:
                cells.append("-")
                continue
            i, j, exact = (np.array(column) for column in zip(*pairs))
            estimate = (sig[i] == sig[j]).mean(axis=1)
            error = estimate - exact
            cells.append(f"{np.abs(error).mean():.4f} ({error.mean():+.4f})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def signature_section(records: list[dict], repeats: int) -> None:
    texts = [r["content"] for r in records]
    size = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    short = int(is_short(texts, ngram=NGRAM).sum())
    print(f"## MinHash signatures ({NUM_PERM} permutations, word {NGRAM}-grams, seed {SEED})\n")
    print(f"{len(texts):,} texts, {size / 1e6:.1f} MB, {short} short (< {NGRAM} tokens); "
          f"median of {repeats} rounds, methods back to back in one process.\n")
    timings, signatures = time_methods(texts, repeats)
    print("| method | wall s | CPU s | docs/s | MB/s | docs/s (CPU) | MB/s (CPU) |")
    print("|---|---|---|---|---|---|---|")
    for name, timing in timings.items():
        print(f"| {name} | {timing.wall:.2f} | {timing.cpu:.2f} | {len(texts) / timing.wall:,.0f} "
              f"| {size / timing.wall / 1e6:.2f} | {len(texts) / timing.cpu:,.0f} "
              f"| {size / timing.cpu / 1e6:.2f} |")
    ours_rows = [name for name in timings if name.startswith("ours")]
    print("\nSpeed-up of ours, datasketch seconds / ours (wall-clock; CPU):\n")
    print("| datasketch row | " + " | ".join(ours_rows) + " |")
    print("|---|" + "---|" * len(ours_rows))
    for name, timing in timings.items():
        if name.startswith("datasketch"):
            cells = [f"{timing.wall / timings[o].wall:.1f}x; {timing.cpu / timings[o].cpu:.1f}x"
                     for o in ours_rows]
            print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    shingles = [shingle_set(text, NGRAM) for text in texts]
    strata = sample_pairs(records, shingles)
    print("Accuracy: mean absolute error (mean signed error) of the Jaccard estimate against "
          "the exact Jaccard of the shingle sets, per stratum of exact Jaccard "
          "(pairs in the stratum).\n")
    header = " | ".join(f"[{low}, {high}) ({len(strata[(low, high)])} pairs)"
                        for low, high in STRATA)
    print(f"| method | {header} |")
    print("|---|" + "---|" * len(STRATA))
    print("\n".join(accuracy_rows(strata, signatures)))
    print()


def quality_section(records: list[dict], repeats: int) -> None:
    from dedup_quality import quality_section as run

    run(records, repeats)


SECTIONS = {"signatures": signature_section, "quality": quality_section}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sections", nargs="+", choices=sorted(SECTIONS),
                        default=list(SECTIONS))
    parser.add_argument("--limit", type=int, default=None, help="first N texts only")
    args = parser.parse_args(argv)
    manifest = prepare_demo_corpus()
    records = load_texts(manifest)[:args.limit]
    print(f"# Near-dedup benchmark\n\nPython {platform.python_version()}, numpy "
          f"{np.__version__}, datasketch {datasketch.__version__}, {platform.machine()}.\n")
    for name in args.sections:
        SECTIONS[name](records, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())

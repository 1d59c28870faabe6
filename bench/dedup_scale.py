"""Scale benchmark of the Spark near-dedup on synthetic documents with planted families.

Generates N documents (200 tokens of code-like text from a 20,000-word vocabulary); a share
of them form planted families (a base document and copies with 1% of tokens replaced,
Jaccard about 0.9 on 5-gram shingles), the rest are unrelated. Runs ``jobs.near_dedup``
on ``local[*]`` and reports wall time, peak memory of the whole process tree (JVM and
Python workers, sampled every 0.2 s), and the recall of the planted families: the share
of planted (base, copy) pairs of which at most one record survives.

Run: ``.venv/bin/python bench/dedup_scale.py --docs 100000 [--docs 1000000]``.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jobs.near_dedup import run_dedup
from jobs.spark import get_spark
from pipeline.config import NearDedupConfig

TOKENS_PER_DOC = 200
VOCABULARY = 20_000
FAMILY_SIZE = 5
CHUNK = 50_000


def _vocabulary(rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(3, 10, VOCABULARY)
    return np.array(["".join(rng.choice(letters, n)) for n in lengths])


def _render(words: np.ndarray) -> str:
    lines = [" ".join(words[i:i + 8]) for i in range(0, len(words), 8)]
    return "\n".join(f"    {line} = call({i})" for i, line in enumerate(lines))


def generate(path: Path, docs: int, family_share: float, seed: int = 0) -> int:
    """Write ``docs`` documents to ``path`` (Parquet); returns the number of families."""
    rng = np.random.default_rng(seed)
    vocabulary = _vocabulary(rng)
    families = int(docs * family_share) // FAMILY_SIZE
    writer = None
    written = 0
    while written < docs:
        size = min(CHUNK, docs - written)
        ids, texts, family_ids = [], [], []
        tokens = rng.integers(0, VOCABULARY, (size, TOKENS_PER_DOC))
        for row in range(size):
            number = written + row
            family = number // FAMILY_SIZE if number < families * FAMILY_SIZE else -1
            words = tokens[row]
            if family >= 0:
                base = np.random.default_rng(family + 10**9).integers(0, VOCABULARY,
                                                                       TOKENS_PER_DOC)
                words = base.copy()
                if number % FAMILY_SIZE:
                    changed = rng.choice(TOKENS_PER_DOC, TOKENS_PER_DOC // 100, replace=False)
                    words[changed] = rng.integers(0, VOCABULARY, len(changed))
            ids.append(f"doc{number:08d}")
            texts.append(_render(vocabulary[words]))
            family_ids.append(family)
        table = pa.table({"id": ids, "content": texts, "family": family_ids})
        writer = writer or pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table)
        written += size
    writer.close()
    return families


class PeakMemory:
    """Peak resident memory of this process and all its descendants, sampled."""

    def __init__(self, interval: float = 0.2):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        parent = int(handle.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(parent, []).append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        total, pending = 0, [os.getpid()]
        while pending:
            pid = pending.pop()
            pending.extend(children.get(pid, []))
            try:
                with open(f"/proc/{pid}/statm") as handle:
                    total += int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                continue
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._tree_rss())
            time.sleep(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def recall(output: Path, docs_path: Path, families: int) -> float:
    """Share of planted (base, copy) pairs of which at most one record survives."""
    kept = set(pq.read_table(output / "data", columns=["id"]).column("id").to_pylist())
    pairs = hit = 0
    for family in range(families):
        members = [f"doc{family * FAMILY_SIZE + k:08d}" for k in range(FAMILY_SIZE)]
        for copy in members[1:]:
            pairs += 1
            hit += not (members[0] in kept and copy in kept)
    return hit / max(pairs, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, action="append", required=True)
    parser.add_argument("--family-share", type=float, default=0.2,
                        help="share of documents in planted families of 5")
    args = parser.parse_args()
    spark = get_spark("local[*]")
    print(f"# Near-dedup scale ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"{os.cpu_count()} cores, local[*])\n")
    print("| documents | MB | families | generate s | dedup s | docs/s | peak memory GB | "
          "removed | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for docs in args.docs:
        with tempfile.TemporaryDirectory() as scratch:
            source, output = Path(scratch) / "docs.parquet", Path(scratch) / "out"
            started = time.perf_counter()
            families = generate(source, docs, args.family_share)
            generated = time.perf_counter() - started
            size = pq.read_table(source, columns=["content"]).column("content")
            megabytes = sum(len(t) for t in size.to_pylist()) / 1e6
            with PeakMemory() as memory:
                started = time.perf_counter()
                counts = run_dedup(spark, str(source), str(output), NearDedupConfig())
                seconds = time.perf_counter() - started
            print(f"| {docs:,} | {megabytes:,.0f} | {families:,} | {generated:.0f} | "
                  f"{seconds:.0f} | {docs / seconds:,.0f} | {memory.peak / 2**30:.1f} | "
                  f"{counts['near_duplicate']:,} | {recall(output, source, families):.4f} |",
                  flush=True)


if __name__ == "__main__":
    main()

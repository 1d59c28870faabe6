"""Benchmark of attribution search (``curate search``, optout/search.py; issue 14).

Copies a release (``--release``: a build's output directory or one version's directory; its
``manifest.json`` and ``data/``) under ``--out``, indexes the copy and prints as Markdown:

1. indexing: MB/s of content (shards read, tantivy, n-grams hashed and sorted), the index's
   size as a share of the release's shards and of its content, its parts;
2. query latency p50/p95 (in process, index open, results with their marked lines) of
   ``--queries`` queries of each kind, drawn with ``--seed``:
   - exact hits: ``--snippet-chars`` characters from a random place of a random record of the
     release (records at least that long);
   - ranked hits: three consecutive identifiers of a random line of a random record;
   - misses of both shapes, drawn the same way from the Python standard library's modules,
     which no demo package ships (those that are found, as shared code, are counted);
   and, for hits, the share whose first result is the record they were drawn from, and the
   share where it is among the ``--top`` shown. An exact snippet that the release holds in
   several records (licence headers, vendored copies) lists them in release order, so its own
   record may come second: the bench counts those ties.

Run: ``.venv/bin/python bench/search_bench.py --release out/demo [--out out/search-bench]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import sysconfig
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow.parquet as pq

from optout.search import IDENTIFIER_PATTERN, INDEX_DIR, ReleaseSearch, build_index
from pipeline.shards import resolve_release


def copy_release(source: Path, out: Path) -> Path:
    """The release that ``source`` names, its manifest and shards, copied to ``out``."""
    release = resolve_release(source)
    target = out / "releases" / release.name
    shutil.rmtree(out, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy2(release / "manifest.json", target / "manifest.json")
    shutil.copytree(release / "data", target / "data")
    return target


def read_records(release: Path) -> list[dict]:
    """id and content of every kept record, in release order."""
    manifest = json.loads((release / "manifest.json").read_text(encoding="utf-8"))
    rows: list[dict] = []
    for shard in manifest["shards"]:
        rows += pq.read_table(release / shard["path"], columns=["id", "content"]).to_pylist()
    return rows


def snippet(content: str, chars: int, rng: random.Random) -> str:
    start = rng.randrange(len(content) - chars + 1)
    return content[start:start + chars]


def identifiers_of_a_line(content: str, rng: random.Random) -> str | None:
    """Three consecutive identifiers (with a letter) of a random line that has them."""
    lines = [words for line in content.splitlines()
             if len(words := [word for word in re.findall(IDENTIFIER_PATTERN, line)
                              if not word.isdigit()]) >= 3]
    if not lines:
        return None
    words = rng.choice(lines)
    start = rng.randrange(len(words) - 2)
    return " ".join(words[start:start + 3])


def draw(texts: list[tuple[str | None, str]], count: int, shape: str, chars: int,
         rng: random.Random) -> list[tuple[str | None, str]]:
    """``count`` queries of ``shape`` (exact or ranked) from (record id, content) pairs."""
    pool = [(record, text) for record, text in texts
            if len(text) >= chars] if shape == "exact" else texts
    queries: list[tuple[str | None, str]] = []
    for _ in range(count * 20):
        if len(queries) == count:
            break
        record, text = rng.choice(pool)
        query = snippet(text, chars, rng) if shape == "exact" else identifiers_of_a_line(text, rng)
        if query and query.strip():
            queries.append((record, query))
    return queries


def measure(index: ReleaseSearch, queries: Iterable[tuple[str | None, str]], top: int
            ) -> dict[str, float]:
    """Latency percentiles (ms), the share answered in each mode, and for hits the shares
    with their record first and among the results; for misses, the share found exactly."""
    seconds, first, shown, exact, found, ties = [], 0, 0, 0, 0, 0
    queries = list(queries)
    for record, text in queries:
        started = time.perf_counter()
        result = index.search(text, top)
        seconds.append(time.perf_counter() - started)
        ids = [hit.id for hit in result.hits]
        exact += result.mode == "exact" and result.total > 0
        found += bool(ids)
        first += bool(ids) and ids[0] == record
        shown += record in ids
        ties += result.mode == "exact" and record in ids[1:]
    millis = np.array(seconds) * 1000
    n = len(queries)
    return {"queries": n, "p50_ms": float(np.percentile(millis, 50)),
            "p95_ms": float(np.percentile(millis, 95)), "exact": exact / n,
            "any_result": found / n, "first": first / n, "shown": shown / n,
            "exact_ties": ties / n}


def stdlib_texts() -> list[tuple[None, str]]:
    """The Python standard library's modules (no record of a demo release)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    return [(None, path.read_text(encoding="utf-8", errors="replace"))
            for path in sorted(root.glob("*.py"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", required=True, type=Path,
                        help="a build's output directory or one version's directory")
    parser.add_argument("--out", type=Path, default=Path("out/search-bench"),
                        help="where the copy and its index go (replaced)")
    parser.add_argument("--queries", type=int, default=1000, help="queries of each kind")
    parser.add_argument("--snippet-chars", type=int, default=200,
                        help="length of the exact-mode snippets")
    parser.add_argument("--top", type=int, default=10, help="results asked for")
    parser.add_argument("--threads", type=int, default=1, help="tantivy writer threads")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    release = copy_release(args.release, args.out)
    header = build_index(release, args.threads)
    search_dir = release / INDEX_DIR
    text_bytes = sum(path.stat().st_size for path in (search_dir / "text").rglob("*")
                     if path.is_file())
    content_mb = header["content_bytes"] / 1e6
    print(f"## Attribution search (`bench/search_bench.py`), "
          f"{datetime.now(timezone.utc):%Y-%m-%d}\n")
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{header['engine']}; release {resolve_release(args.release)} copied: "
          f"{header['records']:,} records, {content_mb:.1f} MB of content, "
          f"{header['release_shard_bytes'] / 1e6:.1f} MB of shards.\n")
    print("| indexing | value |\n|---|---|")
    print(f"| seconds ({args.threads} writer thread) | {header['seconds']:.2f} |")
    print(f"| content MB/s | {content_mb / header['seconds']:.2f} |")
    print(f"| index MB (text / n-grams) | {header['index_bytes'] / 1e6:.1f} "
          f"({text_bytes / 1e6:.1f} / {header['ngrams_bytes'] / 1e6:.1f}) |")
    print(f"| index / shards | {header['fraction_of_shard_bytes']:.2f} |")
    print(f"| index / content | {header['index_bytes'] / header['content_bytes']:.2f} |\n")

    index = ReleaseSearch(release)
    rng = random.Random(args.seed)
    records = [(row["id"], row["content"] or "") for row in read_records(release)]
    outside = stdlib_texts()
    kinds = [("exact hits", records, "exact"), ("ranked hits", records, "ranked"),
             ("exact misses", outside, "exact"), ("ranked misses", outside, "ranked")]
    print(f"| queries | n | p50 ms | p95 ms | answered exactly | any result | own record "
          f"first | own record in top {args.top} | own record after an equal place |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, texts, shape in kinds:
        row = measure(index, draw(texts, args.queries, shape, args.snippet_chars, rng),
                      args.top)
        hits = name.endswith("hits")
        own = (f"{row['first']:.3f} | {row['shown']:.3f} | {row['exact_ties']:.3f}" if hits
               else "- | - | -")
        print(f"| {name} | {row['queries']} | {row['p50_ms']:.2f} | {row['p95_ms']:.2f} | "
              f"{row['exact']:.3f} | {row['any_result']:.3f} | {own} |")


if __name__ == "__main__":
    main()

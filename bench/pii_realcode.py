"""PII detection on real code: throughput, spans, parse breakage, and a sample for review.

Runs the build's detector (:func:`pii.detector.load_detector`) and the stage's redaction
(:func:`pii.redact.redact_keeping_syntax`) over every file of a release built without the PII
stage, and reports on stdout, as Markdown with counts only (never a span's value):

- MB/s of detection plus redaction (CPU), spans per label and detector, files redacted;
- per language with a parser (:mod:`pii.parsecheck`), the files that parsed before, and the
  files whose syntax a plain redaction of every detected span would break (a file that parsed
  no longer parses; one a tree-sitter grammar read with errors gets a new one: a sign of false
  positives in code), and the stage's redaction, which drops such spans (must be 0). Each file
  a plain redaction breaks is written to ``OUT/broken.jsonl`` (repo, path, the parser's error,
  and every span with its line and +-80 characters of context);
- with ``--sample N``: N spans per label drawn at random (seeded reservoir sampling, so the
  same release and options give the same sample) into ``OUT/sample.jsonl``, each with +-300
  characters of context and an empty ``verdict`` for a reviewer (issue 8's per-label precision
  on real code; ``bench/pii_review.py`` adds the verdicts up), and the spans each label had in
  all into ``OUT/sample_seen.json``.

OUT (default ``out/pii-realcode``) holds values and context of real files: it lies under the
git-ignored ``out/`` and is never committed.

Run: ``.venv/bin/python bench/pii_realcode.py --release out/pii-corpus/releases/v1.0.0
[--model none] [--limit-files 300] [--sample 200]``.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from pii.detector import load_detector
from pipeline.shards import resolve_release
from pii.entities import ENTITIES, Span, resolve_overlaps
from pii.parsecheck import broken_by, parse_error, parses
from pii.redact import redact, redact_keeping_syntax

COLUMNS = ["id", "repo", "path", "language", "content"]
CHUNK_FILES = 128  # files per detect() call (the NER model is primed once per call)
BROKEN_CONTEXT = 80
SAMPLE_CONTEXT = 300


def data_dir(release: Path) -> Path:
    """The ``data/`` directory of a release (a build's output, a version or its data/)."""
    return resolve_release(release) / "data"


def read_chunks(data: Path, limit: int | None, size: int = CHUNK_FILES
                ) -> Iterator[list[dict]]:
    """The rows of every shard under ``data`` in chunks of ``size``; with ``limit``, only the
    ``limit`` lowest ids (ids are hashes, so that is a spread over languages and repos)."""
    shards = sorted(data.rglob("*.parquet"))
    if not shards:
        raise FileNotFoundError(f"no Parquet shards under {data}")
    keep = None
    if limit is not None:
        ids = sorted(i for s in shards for i in pq.read_table(s, columns=["id"])["id"].to_pylist())
        keep = set(ids[:limit])
    chunk: list[dict] = []
    for shard in shards:
        for batch in pq.ParquetFile(shard).iter_batches(columns=COLUMNS):
            for row in batch.to_pylist():
                if row["content"] is not None and (keep is None or row["id"] in keep):
                    chunk.append(row)
                    if len(chunk) == size:
                        yield chunk
                        chunk = []
    if chunk:
        yield chunk


def file_record(row: dict) -> dict:
    """Which file a row is."""
    return {key: row[key] for key in ("id", "repo", "path", "language")}


def span_record(text: str, span: Span, width: int) -> dict:
    """A span with its line, its value and ``width`` characters of context each side."""
    return {**span.to_dict(), "line": text.count("\n", 0, span.start) + 1,
            "before": text[max(0, span.start - width):span.start],
            "value": text[span.start:span.end], "after": text[span.end:span.end + width]}


class Reservoir:
    """Up to ``size`` items per key, uniformly at random from all offered (Algorithm R)."""

    def __init__(self, size: int, seed: int) -> None:
        self.size, self.rng = size, random.Random(seed)
        self.seen: collections.Counter[str] = collections.Counter()
        self.items: dict[str, list] = collections.defaultdict(list)

    def offer(self, key: str, make: Callable[[], dict]) -> None:
        """Offer one item of ``key``; ``make()`` builds it only when it is kept."""
        seen, items = self.seen[key], self.items[key]
        self.seen[key] += 1
        if seen < self.size:
            items.append(make())
        elif (slot := self.rng.randrange(seen + 1)) < self.size:
            items[slot] = make()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--release", type=Path, default=Path("out/pii-corpus/releases/v1.0.0"),
                        help="a release built without the PII stage, or its data/ directory")
    parser.add_argument("--model", default="default", help='"default", "none" or a model dir')
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=Path("out/pii-realcode"))
    parser.add_argument("--limit-files", type=int, help="the N files of lowest id only")
    parser.add_argument("--sample", type=int, default=0, help="spans per label to sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    args = parser.parse_args()

    detector = load_detector(args.model, "cpu", args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    sample = Reservoir(args.sample, args.seed)
    spans_by = collections.Counter()  # (label, detector)
    languages = collections.defaultdict(collections.Counter)  # language -> files/parsed/...
    files = redacted_files = 0
    megabytes = seconds = parse_seconds = 0.0
    broken_path = args.out / "broken.jsonl"
    with broken_path.open("w", encoding="utf-8") as broken_file:
        for rows in read_chunks(data_dir(args.release), args.limit_files):
            texts = [row["content"] for row in rows]
            started = time.perf_counter()
            found = detector.detect(texts, [row["language"] for row in rows])
            staged = [redact_keeping_syntax(text, spans, row["language"])
                      for text, spans, row in zip(texts, found, rows)]
            seconds += time.perf_counter() - started
            megabytes += sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
            files += len(rows)
            for row, spans, (after, _, dropped) in zip(rows, found, staged):
                spans = resolve_overlaps(spans)  # the spans a plain redaction replaces
                plain = redact(row["content"], spans, row["language"])[0]
                redacted_files += after != row["content"]
                applied = [s for s in spans if dropped == 0 or not broken_by(
                    row["language"], row["content"], redact(row["content"], [s],
                                                            row["language"])[0])]
                for span in applied:
                    spans_by[span.label, span.detector] += 1
                    sample.offer(span.label, lambda: {**file_record(row), **span_record(
                        row["content"], span, SAMPLE_CONTEXT)})
                started = time.perf_counter()
                parsed = parses(row["language"], row["content"])
                broken = broken_by(row["language"], row["content"], plain)
                broken_after_stage = broken_by(row["language"], row["content"], after)
                parse_seconds += time.perf_counter() - started
                if parsed is None:
                    continue
                counts = languages[row["language"]]
                for key, value in (("files", True), ("parsed", parsed),
                                   ("redacted", after != row["content"]), ("broken", broken),
                                   ("dropped", dropped), ("broken_after", broken_after_stage)):
                    counts[key] += int(value)
                if broken:
                    record = {**file_record(row), "error": parse_error(row["language"], plain),
                              "spans": [span_record(row["content"], s, BROKEN_CONTEXT)
                                        for s in spans]}
                    broken_file.write(json.dumps(record, ensure_ascii=False) + "\n")

    print(f"## PII on real code ({datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, model {args.model}, {args.threads} threads)\n")
    print(f"{files} files, {megabytes:.2f} MB, from {data_dir(args.release)}"
          + (f" (the {args.limit_files} of lowest id)" if args.limit_files else "") + "\n")
    print(f"detect + redact: {seconds:.1f} s, {megabytes / max(seconds, 1e-9):.3f} MB/s (CPU); "
          f"parse check: {parse_seconds:.2f} s\n")
    print(f"files redacted: {redacted_files} of {files}\n")
    print("| label | detector | spans |\n|---|---|---:|")
    for (label, name), count in sorted(spans_by.items()):
        print(f"| {label} | {name} | {count} |")
    print(f"| all | | {sum(spans_by.values())} |\n")
    if getattr(detector, "counters", None):
        print("detector counters: " + ", ".join(f"{k} {v}" for k, v in
                                                 sorted(detector.counters.items())) + "\n")
    print("| language | files | parsed before | redacted | broken by a plain redaction | "
          "spans dropped to keep it parsing | broken after the stage |\n"
          "|---|---:|---:|---:|---:|---:|---:|")
    for language, counts in sorted(languages.items()):
        print(f"| {language} | {counts['files']} | {counts['parsed']} | {counts['redacted']} | "
              f"{counts['broken']} | {counts['dropped']} | {counts['broken_after']} |")
    total_broken = sum(c["broken"] for c in languages.values())
    total_after = sum(c["broken_after"] for c in languages.values())
    print(f"\n**files a plain redaction breaks: {total_broken}** (each with its spans: "
          f"{broken_path}); **files broken after the stage: {total_after}**")
    if args.sample:
        sample_path = args.out / "sample.jsonl"
        with sample_path.open("w", encoding="utf-8") as out:
            for label in ENTITIES:
                for item in sorted(sample.items.get(label, []),
                                   key=lambda r: (r["id"], r["start"])):
                    out.write(json.dumps({**item, "verdict": ""}, ensure_ascii=False) + "\n")
        (args.out / "sample_seen.json").write_text(json.dumps(
            {label: sample.seen[label] for label in ENTITIES}, indent=1) + "\n")
        print(f"\nsample for review: {sample_path}, spans per label: " + ", ".join(
            f"{label} {len(sample.items.get(label, []))} of {sample.seen[label]}"
            for label in ENTITIES))
    return 0


if __name__ == "__main__":
    sys.exit(main())

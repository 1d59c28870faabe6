"""PII benchmark on labelled synthetic data and on real code; Markdown on stdout.

Four detectors, on the same texts, in one process, back to back, each on ONE CPU thread (so
MB/s is per core):

(a) ours: the build's PII stage detector, the cascade (patterns everywhere, the NER model on the
    lines pii/regions.py selects, int8 on CPU), :func:`pii.detector.load_detector`;
(a') the same with the model reading every line (``select_lines=False``): what the cascade is
    measured against (F1 within 0.01, issue 8);
(b) Presidio's own pattern recognizers for the entities it has (``EmailRecognizer`` ->
    EMAIL, ``IpRecognizer`` -> IP_ADDRESS), run directly, with its default scores;
(c) the BigCode-style regex baseline (:mod:`pii.baseline`: e-mail/IP regexes + detect-secrets).

Per entity: precision, recall and F1 (exact match; overlap in ``--json``), then MB/s per core.
``--gold`` is a split of ``curate pii synth``: ``validation.jsonl`` for tuning, ``test.jsonl``
(test templates, seeds and repositories disjoint from training) looked at once per model release.
The synthetic documents are dense with PII (most lines hold some), so ``--release`` also times
(a) and (a') on the files of a real release built without the PII stage, where the selector
matters.

Run: ``.venv/bin/python bench/pii_bench.py --gold out/pii-synth/test.jsonl
[--release out/pii-corpus/releases/v1.0.0] [--limit N]``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

from pii.baseline import RegexBaselineDetector
import pyarrow.parquet as pq

from pii.detector import load_detector
from pipeline.shards import resolve_release
from pii.labelled import read_labelled
from pii.engine import PiiDetector
from pii.entities import EMAIL, ENTITIES, IP_ADDRESS, Span, resolve_overlaps
from pii.evaluate import evaluate


CHUNK = 64  # files per detect() call: the build's PII batch (PiiConfig.batch_size)


class PresidioPatternsDetector:
    """Presidio's predefined pattern recognizers for e-mails and IPs, as shipped."""

    name = "presidio-patterns"

    def __init__(self) -> None:
        from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer

        # Its e-mail validation (tldextract) tries to fetch the Public Suffix List, fails offline,
        # logs each failure with a traceback and falls back to its bundled snapshot.
        logging.getLogger("tldextract").setLevel(logging.CRITICAL)

        self.recognizers = ((EmailRecognizer(), "EMAIL_ADDRESS", EMAIL),
                            (IpRecognizer(), "IP_ADDRESS", IP_ADDRESS))

    def detect(self, texts: list[str]) -> list[list[Span]]:
        out = []
        for text in texts:
            spans = []
            for recognizer, entity, label in self.recognizers:
                for result in recognizer.analyze(text, [entity], None):
                    spans.append(Span(result.start, result.end, label, result.score, self.name))
            out.append(resolve_overlaps(spans))
        return out


def timed(detector, texts: list[str], languages: list[str | None]) -> tuple[list, dict]:
    """Spans of every text, and seconds, megabytes, MB/s and the model's share of characters."""
    counters = getattr(detector, "counters", None)
    if counters is not None:
        counters.clear()
    started = time.perf_counter()
    ours = isinstance(detector, PiiDetector)  # the baselines read texts without languages
    predicted = [spans for at in range(0, len(texts), CHUNK) for spans in (
        detector.detect(texts[at:at + CHUNK], languages[at:at + CHUNK]) if ours
        else detector.detect(texts[at:at + CHUNK]))]
    seconds = time.perf_counter() - started
    megabytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    share = counters["model_chars"] / max(counters["chars"], 1) if counters else None
    return predicted, {"seconds": seconds, "megabytes": megabytes,
                       "mb_per_s": megabytes / seconds, "model_share": share}


def run(detector, texts: list[str], languages: list[str | None], gold: list[list[Span]]) -> dict:
    predicted, figures = timed(detector, texts, languages)
    tallies = evaluate(gold, predicted)
    return {**figures, "scores": {mode: {label: t.to_dict() for label, t in by_label.items()}
                                  for mode, by_label in tallies.items()}}


def release_rows(release: Path, limit_mb: float) -> list[dict]:
    """Files of a release's shards, in id order (ids are hashes: a spread over languages),
    up to ``limit_mb`` MB."""
    data = resolve_release(release) / "data"
    rows = [row for shard in sorted(data.rglob("*.parquet"))
            for row in pq.read_table(shard, columns=["id", "content", "language"]).to_pylist()]
    rows.sort(key=lambda row: row["id"])
    chosen, size = [], 0
    for row in rows:
        if size >= limit_mb * 1e6:
            break
        chosen.append(row)
        size += len(row["content"].encode("utf-8", "surrogatepass"))
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=Path, default=Path("out/pii-synth/test.jsonl"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--limit", type=int, help="first N labelled documents only")
    parser.add_argument("--release", type=Path, help="also time (a) and (a') on this release")
    parser.add_argument("--release-mb", type=float, default=8.0, help="MB of its files")
    parser.add_argument("--json", type=Path, help="also write all figures here")
    args = parser.parse_args()

    documents = read_labelled(args.gold)[:args.limit]
    texts = [document.text for document in documents]
    languages = [document.language for document in documents]
    gold = [list(document.spans) for document in documents]
    ours = load_detector(args.model, "cpu", 1)
    everywhere = load_detector(args.model, "cpu", 1, select_lines=False)
    detectors = {"(a) stack-curate cascade": ours,
                 "(a') model on every line": everywhere,
                 "(b) Presidio patterns": PresidioPatternsDetector(),
                 "(c) BigCode-style regex": RegexBaselineDetector()}
    results = {name: run(detector, texts, languages, gold) for name, detector in detectors.items()}

    counts = {label: sum(1 for spans in gold for s in spans if s.label == label)
              for label in ENTITIES}
    print(f"## PII benchmark ({datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, one thread per detector, model {args.model})\n")
    print(f"{len(texts)} documents from {args.gold}, "
          f"{results['(a) stack-curate cascade']['megabytes']:.2f} MB; gold spans: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n")
    names = list(results)
    print("F1, exact match (precision / recall in parentheses)\n")
    print("| entity | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for label in [*ENTITIES, "ALL"]:
        cells = []
        for name in names:
            score = results[name]["scores"]["exact"][label]
            cells.append(f"{score['f1']:.3f} ({score['precision']:.2f}/{score['recall']:.2f})")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\n| detector | seconds | MB/s per core | model reads |\n|---|---:|---:|---:|")
    for name in names:
        share = results[name]["model_share"]
        print(f"| {name} | {results[name]['seconds']:.1f} | {results[name]['mb_per_s']:.3f} | "
              f"{'-' if share is None else f'{share:.0%}'} |")
    if args.release:
        rows = release_rows(args.release, args.release_mb)
        real_texts = [row["content"] for row in rows]
        real_languages = [row["language"] for row in rows]
        print(f"\nReal code: {len(rows)} files of {args.release} (lowest ids)\n")
        print("| detector | seconds | MB | MB/s per core | model reads | spans |\n"
              "|---|---:|---:|---:|---:|---:|")
        for name, detector in list(detectors.items())[:2]:
            predicted, figures = timed(detector, real_texts, real_languages)
            results[name]["real_code"] = figures
            print(f"| {name} | {figures['seconds']:.1f} | {figures['megabytes']:.2f} | "
                  f"{figures['mb_per_s']:.3f} | {figures['model_share']:.0%} | "
                  f"{sum(map(len, predicted))} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

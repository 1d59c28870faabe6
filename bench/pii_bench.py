"""PII benchmark on the held-out synthetic test set; Markdown on stdout.

Three detectors, on the same texts, in one process, back to back:

(a) ours: the build's PII stage detector (Presidio with this project's recognizers and the NER
    model, :func:`pii.detector.load_detector`), default model unless ``--model``;
(b) Presidio's own pattern recognizers for the entities it has (``EmailRecognizer`` ->
    EMAIL, ``IpRecognizer`` -> IP_ADDRESS), run directly, with its default scores;
(c) the BigCode-style regex baseline (:mod:`pii.baseline`: e-mail/IP regexes + detect-secrets).

Per entity: precision, recall and F1 (exact match; overlap in ``--json``), then CPU MB/s of
each. The test set comes from ``curate pii synth`` (test templates, seeds and repositories are
disjoint from training); scores are on the test part only.

Run: ``.venv/bin/python bench/pii_bench.py --gold out/pii-synth/test.jsonl [--limit N]``.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

from jobs.pii_cli import _gold_spans, read_jsonl
from pii.baseline import RegexBaselineDetector
from pii.detector import load_detector
from pii.entities import EMAIL, ENTITIES, IP_ADDRESS, Span, resolve_overlaps
from pii.evaluate import evaluate


class PresidioPatternsDetector:
    """Presidio's predefined pattern recognizers for e-mails and IPs, as shipped."""

    name = "presidio-patterns"

    def __init__(self) -> None:
        from presidio_analyzer.predefined_recognizers import EmailRecognizer, IpRecognizer

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


def run(detector, texts: list[str], gold: list[list[Span]]) -> dict:
    started = time.perf_counter()
    predicted = detector.detect(texts)
    seconds = time.perf_counter() - started
    megabytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    tallies = evaluate(gold, predicted)
    return {"seconds": seconds, "megabytes": megabytes, "mb_per_s": megabytes / seconds,
            "scores": {mode: {label: t.to_dict() for label, t in by_label.items()}
                       for mode, by_label in tallies.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gold", type=Path, default=Path("out/pii-synth/test.jsonl"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--limit", type=int, help="first N test documents only")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch CPU threads for (a)")
    parser.add_argument("--json", type=Path, help="also write all figures here")
    args = parser.parse_args()

    items = list(read_jsonl(args.gold, ("id", "text", "spans")))[:args.limit]
    texts = [item["text"] for item in items]
    gold = [_gold_spans(item, f"{args.gold} id {item['id']}") for item in items]
    detectors = {"(a) stack-curate": load_detector(args.model, "cpu", args.threads),
                 "(b) Presidio patterns": PresidioPatternsDetector(),
                 "(c) BigCode-style regex": RegexBaselineDetector()}
    results = {name: run(detector, texts, gold) for name, detector in detectors.items()}

    counts = {label: sum(1 for spans in gold for s in spans if s.label == label)
              for label in ENTITIES}
    print(f"## PII benchmark ({datetime.date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, model {args.model})\n")
    print(f"{len(texts)} held-out documents from {args.gold}, "
          f"{results['(a) stack-curate']['megabytes']:.2f} MB; gold spans: "
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
    print("\n| detector | seconds | MB/s (CPU) |\n|---|---:|---:|")
    for name in names:
        print(f"| {name} | {results[name]['seconds']:.1f} | {results[name]['mb_per_s']:.3f} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Per-label precision on real code from reviewed samples of ``bench/pii_realcode.py``.

A review directory holds the sample split into ``part-*.jsonl`` (each line a span with an
``item`` key) and a reviewer's ``verdicts-*.jsonl`` (``item``, ``label``, ``detector``,
``verdict`` "tp" or "fp", ``kind``, ``boundary``, ``generic``), plus ``sample_seen.json`` (the
spans each label had in the whole build). Several directories add up, each weighted by its
own spans: a label's precision over several builds is the span-weighted mean of each build's
sample precision, so a small build does not count as much as a large one.

A review may be paired with a later run of ``bench/pii_realcode.py`` over the same release
with a sample large enough to hold every span (``REVIEW:LATER``): then only the reviewed spans
that the later code still finds count, and the later run's span totals weigh them. A random
sample's surviving spans are a random sample of the surviving spans, so this measures rules
that came after the review without a second reading, provided they were not written from it.
A reviewed span that the later run finds narrowed (the same file and label, both edges within
the reviewed span's: a boundary fix) counts as still found, with the reviewer's verdict.

Prints Markdown with counts only (the samples hold real people's data and stay under out/).
Run: ``.venv/bin/python bench/pii_review.py out/pii-review-blind3 out/pii-review-blind4``.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import sys
from pathlib import Path

from pii.entities import ENTITIES

Z_95 = 1.96  # two-sided 95% normal quantile, for Wilson's interval


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson's 95% score interval of a binomial proportion."""
    if trials == 0:
        return (math.nan, math.nan)
    p = successes / trials
    denominator = 1 + Z_95 ** 2 / trials
    centre = (p + Z_95 ** 2 / (2 * trials)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / trials + Z_95 ** 2 / (4 * trials ** 2)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def span_key(record: dict) -> tuple:
    return (record["id"], record["start"], record["end"], record["label"])


def read_review(directory: Path) -> tuple[dict[str, dict], dict[str, int]]:
    """A review's verdicts by item, checked against its parts, and its spans per label."""
    items = {}
    for part in sorted(directory.glob("part-*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            items[record["item"]] = record
    verdicts = {}
    for path in sorted(directory.glob("verdicts-*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            record = json.loads(line)
            if record.get("item") not in items:
                raise ValueError(f"{path}:{number}: unknown item {record.get('item')!r}")
            if record.get("verdict") not in ("tp", "fp"):
                raise ValueError(f"{path}:{number}: verdict must be tp or fp")
            span = items[record["item"]]
            verdicts[record["item"]] = {**record, "label": span["label"],
                                        "detector": span["detector"], "span": span_key(span)}
    missing = sorted(set(items) - set(verdicts))
    if missing:
        raise ValueError(f"{directory}: {len(missing)} items without a verdict, e.g. {missing[0]}")
    seen = json.loads((directory / "sample_seen.json").read_text(encoding="utf-8"))
    return verdicts, seen


def still_found(review: tuple[dict[str, dict], dict[str, int]], later: Path
                ) -> tuple[dict[str, dict], dict[str, int]]:
    """The review restricted to the spans a later run over the same release still finds,
    with the later run's totals."""
    verdicts, _ = review
    later_seen = json.loads((later / "sample_seen.json").read_text(encoding="utf-8"))
    later_keys = {span_key(json.loads(line)) for line in
                  (later / "sample.jsonl").read_text(encoding="utf-8").splitlines()}
    sampled = collections.Counter(key[3] for key in later_keys)
    short = [label for label, seen in later_seen.items() if sampled[label] < seen]
    if short:
        raise ValueError(f"{later}: its sample does not hold every span of {short}")
    later_edges: dict[tuple, list[tuple[int, int]]] = collections.defaultdict(list)
    for file_id, start, end, label in later_keys:
        later_edges[(file_id, label)].append((start, end))

    def found(key: tuple) -> bool:
        file_id, start, end, label = key
        return key in later_keys or any(start <= a and b <= end
                                        for a, b in later_edges[(file_id, label)])

    return ({item: v for item, v in verdicts.items() if found(v["span"])}, later_seen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reviews", nargs="+",
                        help="review directories, each optionally REVIEW:LATER (see above)")
    args = parser.parse_args()
    reviews = []
    for argument in args.reviews:
        directory, _, later = argument.partition(":")
        review = read_review(Path(directory))
        reviews.append(still_found(review, Path(later)) if later else review)
    print("| label | spans in the builds | reviewed | tp | fp | precision (span-weighted) | "
          "Wilson 95% of the pooled sample | partial | generic |\n"
          "|---|---:|---:|---:|---:|---:|---|---:|---:|")
    fp_kinds: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for label in ENTITIES:
        spans = reviewed = tp = partial = generic = 0
        weighted = 0.0
        for verdicts, seen in reviews:
            mine = [v for v in verdicts.values() if v["label"] == label]
            if not mine:
                continue
            hits = sum(v["verdict"] == "tp" for v in mine)
            spans += seen.get(label, 0)
            weighted += seen.get(label, 0) * hits / len(mine)
            reviewed += len(mine)
            tp += hits
            partial += sum(v.get("boundary") == "partial" for v in mine)
            generic += sum(bool(v.get("generic")) for v in mine)
            fp_kinds[label].update(v.get("kind", "?") for v in mine if v["verdict"] == "fp")
        if not reviewed:
            print(f"| {label} | 0 | 0 | | | | | | |")
            continue
        low, high = wilson(tp, reviewed)
        print(f"| {label} | {spans:,} | {reviewed} | {tp} | {reviewed - tp} | "
              f"{weighted / spans:.3f} | {low:.2f}-{high:.2f} | {partial} | {generic} |")
    print("\nfalse positives by kind (the reviewers' words, top 5 per label):\n")
    for label, kinds in fp_kinds.items():
        if kinds:
            print(f"- {label}: " + "; ".join(f"{kind} {count}" for kind, count
                                             in kinds.most_common(5)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

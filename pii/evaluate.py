"""Span-level evaluation: per-entity precision, recall and F1, by exact and by overlap match.

Exact: a prediction is right when a gold span has the same label, start and end. Overlap: when a
gold span of the same label shares at least one character with it; each gold span and each
prediction is matched at most once (greedy by largest overlap), as in the StarPII evaluation's
"partial" match (bigcode-dataset/pii/ner, seqeval-style entity scores).
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Iterable, Sequence

from pii.entities import ENTITIES, Span

MODES = ("exact", "overlap")


@dataclasses.dataclass
class Tally:
    """Counts of one entity in one match mode."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


def _matches(gold: list[Span], predicted: list[Span], mode: str) -> int:
    """How many one-to-one matches there are between gold and predicted spans of one label."""
    if mode == "exact":
        return len({(s.start, s.end) for s in gold} & {(s.start, s.end) for s in predicted})
    pairs = sorted(((min(g.end, p.end) - max(g.start, p.start), i, j)
                    for i, g in enumerate(gold) for j, p in enumerate(predicted)
                    if g.overlaps(p)), key=lambda t: (-t[0], t[1], t[2]))
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    for _, i, j in pairs:
        if i not in used_gold and j not in used_pred:
            used_gold.add(i)
            used_pred.add(j)
    return len(used_gold)


def evaluate(gold: Sequence[list[Span]], predicted: Sequence[list[Span]],
             entities: Iterable[str] = ENTITIES) -> dict[str, dict[str, Tally]]:
    """Tallies per match mode and entity (plus ``ALL``, micro-averaged) over documents."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold documents but {len(predicted)} predictions")
    labels = list(entities)
    tallies = {mode: {label: Tally() for label in [*labels, "ALL"]} for mode in MODES}
    for gold_spans, predicted_spans in zip(gold, predicted):
        by_label_gold = collections.defaultdict(list)
        by_label_pred = collections.defaultdict(list)
        for span in gold_spans:
            by_label_gold[span.label].append(span)
        for span in predicted_spans:
            by_label_pred[span.label].append(span)
        for label in labels:
            g, p = by_label_gold[label], by_label_pred[label]
            for mode in MODES:
                hits = _matches(g, p, mode)
                for key in (label, "ALL"):
                    tally = tallies[mode][key]
                    tally.tp += hits
                    tally.fp += len(p) - hits
                    tally.fn += len(g) - hits
    return tallies


def held_out_recall(gold: Sequence[list[Span]], predicted: Sequence[list[Span]]
                    ) -> dict[str, dict[str, Tally]]:
    """Recall on a subset of the gold spans (a held-out template family's), by mode and entity:
    :func:`evaluate` with only those spans as gold, read for ``tp`` and ``fn`` (its ``fp`` counts
    every other prediction and means nothing here)."""
    tallies = evaluate(gold, predicted)
    return {mode: {label: Tally(tp=t.tp, fn=t.fn) for label, t in by_label.items()
                   if t.tp + t.fn}
            for mode, by_label in tallies.items()}


def recall_table(tallies: dict[str, dict[str, Tally]], title: str) -> str:
    """A Markdown table of recall per entity, exact and overlap, and the gold count."""
    lines = [f"### {title}\n", "| entity | gold | R exact | R overlap |", "|---|---:|---:|---:|"]
    for label, exact in tallies["exact"].items():
        lines.append(f"| {label} | {exact.tp + exact.fn} | {exact.recall:.3f} | "
                     f"{tallies['overlap'][label].recall:.3f} |")
    return "\n".join(lines)


def report_table(tallies: dict[str, dict[str, Tally]], title: str = "") -> str:
    """A Markdown table: P/R/F1 per entity, exact and overlap, and the gold count."""
    lines = [f"### {title}\n"] if title else []
    lines += ["| entity | gold | P exact | R exact | F1 exact | P overlap | R overlap | F1 overlap |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, exact in tallies["exact"].items():
        overlap = tallies["overlap"][label]
        lines.append(f"| {label} | {exact.tp + exact.fn} | {exact.precision:.3f} | "
                     f"{exact.recall:.3f} | {exact.f1:.3f} | {overlap.precision:.3f} | "
                     f"{overlap.recall:.3f} | {overlap.f1:.3f} |")
    return "\n".join(lines)

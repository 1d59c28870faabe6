"""What a stage is: a name, the resources it needs, a one-time setup, and a pure function
from a batch of records to the same records with the excluded ones marked.

Stages never drop a record: an excluded record leaves a stage marked with its reason
(:func:`pipeline.reasons.exclude`), so ``kept + excluded = in`` holds for each of them.
Only records that are still kept (``reason`` null) enter a stage.
"""
from __future__ import annotations

import abc
import collections
import dataclasses
import time
from typing import Iterable, Iterator

import pyarrow as pa

from pipeline.reasons import Reason, exclude
from pipeline.schema import to_batch


@dataclasses.dataclass(frozen=True)
class Resources:
    """What a stage asks of a worker (NeMo Curator's shape): device and batch size."""

    device: str = "cpu"  # "cpu" or "gpu"
    batch_size: int = 1000  # records per call of Stage.process


class Stage(abc.ABC):
    """A step of the build over batches of records."""

    name: str = ""
    resources: Resources = Resources()

    def setup(self) -> None:
        """Load heavy things once per worker (an index, a model). Default: nothing."""

    @abc.abstractmethod
    def process(self, records: list[dict]) -> list[dict]:
        """Return ``records`` in order, each either unchanged or marked excluded."""

    def process_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Arrow in, Arrow out, in chunks of ``resources.batch_size`` (for ``mapInArrow``)."""
        self.setup()
        size = self.resources.batch_size
        for batch in batches:
            rows = batch.to_pylist()
            for start in range(0, len(rows), size):
                yield to_batch(self.process(rows[start:start + size]))


class RecordFilter(abc.ABC):
    """One quality rule: which records it looks at, what it measures, and its reason."""

    reason: Reason

    def applies_to(self, record: dict) -> bool:
        """Whether the rule looks at this record at all (default: every record)."""
        return True

    @abc.abstractmethod
    def violation(self, record: dict) -> dict | None:
        """None to keep; else the details (measured value, threshold) of the exclusion."""


class FilterStage(Stage):
    """Applies filters in order; the first one a record violates excludes it.

    A record that arrives already excluded leaves unchanged: its first reason stands.
    """

    def __init__(self, name: str, filters: list[RecordFilter]):
        self.name = name
        self.filters = filters

    def process(self, records: list[dict]) -> list[dict]:
        out = []
        for record in records:
            if record.get("reason") is not None:
                out.append(record)
                continue
            for rule in self.filters:
                if rule.applies_to(record):
                    details = rule.violation(record)
                    if details is not None:
                        record = exclude(record, rule.reason, self.name, **details)
                        break
            out.append(record)
        return out


@dataclasses.dataclass
class StageCounters:
    """Counters a stage reports: records in, kept, excluded per reason, seconds."""

    name: str
    records_in: int = 0
    kept: int = 0
    excluded: dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "stage": self.name,
            "in": self.records_in,
            "kept": self.kept,
            "excluded": dict(sorted(self.excluded.items())),
            "seconds": round(self.seconds, 3),
        }


def count_records(name: str, records: Iterable[dict], seconds: float = 0.0) -> StageCounters:
    """Counters of a stage from its output records."""
    reasons: collections.Counter[str] = collections.Counter()
    total = 0
    for record in records:
        total += 1
        if record["reason"] is not None:
            reasons[record["reason"]] += 1
    return StageCounters(name, total, total - sum(reasons.values()), dict(reasons), seconds)


def run_stage(stage: Stage, records: list[dict]) -> tuple[list[dict], StageCounters]:
    """Run a stage over kept records in one process (tests, benches, small inputs)."""
    stage.setup()
    started = time.perf_counter()
    size = stage.resources.batch_size
    out: list[dict] = []
    for start in range(0, len(records), size):
        out.extend(stage.process(records[start:start + size]))
    return out, count_records(stage.name, out, time.perf_counter() - started)

"""The in-process engine: a build plan over records in one Python process (tests, benches,
small inputs). It runs the same stages as the Spark job, with the same partitioning contract:
a BY_KEY stage sees its input sorted by (key, id), a WHOLE_DATASET step every kept record. It
returns records and counters; releases are written by the Spark job.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Iterable

from pipeline.schema import to_batch
from pipeline.stage import Partitioning, SourceStage, Stage, StageCounters, count_records


def _uses_arrow(stage: Stage) -> bool:
    return type(stage).process_batches is not Stage.process_batches


def _apply(stage: Stage, records: list[dict]) -> list[dict]:
    if stage.partitioning is Partitioning.WHOLE_DATASET:
        return stage.process_dataset(records)
    if stage.partitioning is Partitioning.BY_KEY:
        records = sorted(records, key=lambda r: (r[stage.key], r["id"]))
    if _uses_arrow(stage) or stage.partitioning is Partitioning.BY_KEY:
        return [row for batch in stage.process_batches([to_batch(records)])
                for row in batch.to_pylist()] if records else []
    size = stage.resources.batch_size
    out: list[dict] = []
    for start in range(0, len(records), size):
        out.extend(stage.process(records[start:start + size]))
    return out


def run_stage(stage: Stage, records: list[dict]) -> tuple[list[dict], StageCounters]:
    """One stage over kept ``records``: its output (every record, kept or marked) and counters.
    A disabled stage passes them through."""
    started = time.perf_counter()
    if stage.enabled:
        stage.setup()
        out = _apply(stage, records)
    else:
        out = records
    return out, count_records(stage.name, out, time.perf_counter() - started)


@dataclasses.dataclass
class LocalResult:
    """What a plan gave: kept records, excluded ones (each with its reason) and counters."""

    kept: list[dict]
    excluded: list[dict]
    counters: list[StageCounters]


# Called after each stage with the stage, the records it was given (None for the reader), its
# output and its counters: how a benchmark measures the bytes into each stage.
StageHook = Callable[[Stage, "list[dict] | None", list[dict], StageCounters], None]


def run_plan(stages: list[Stage], entries: Iterable[dict],
             after_stage: StageHook | None = None) -> LocalResult:
    """Run ``stages`` (a plan built by :func:`pipeline.plan.stages_of`) over the manifest
    ``entries`` (dicts of manifest lines)."""
    source, *rest = stages
    if not isinstance(source, SourceStage):
        raise ValueError("a plan starts with a SOURCE stage")
    started = time.perf_counter()
    source.setup()
    records = [row for batch in source.read(entries) for row in batch.to_pylist()]
    counters = [count_records(source.name, records, time.perf_counter() - started)]
    if after_stage:
        after_stage(source, None, records, counters[0])
    excluded = [r for r in records if r["reason"] is not None]
    kept = [r for r in records if r["reason"] is None]
    for stage in rest:
        out, stage_counters = run_stage(stage, kept)
        counters.append(stage_counters)
        if after_stage:
            after_stage(stage, kept, out, stage_counters)
        excluded += [r for r in out if r["reason"] is not None]
        kept = [r for r in out if r["reason"] is None]
    return LocalResult(kept, excluded, counters)

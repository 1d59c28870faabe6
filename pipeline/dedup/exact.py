"""Exact deduplication on the content hash."""
from __future__ import annotations

import itertools
from typing import Iterable, Iterator

import pyarrow as pa

from pipeline.dedup.keep import mark_duplicates
from pipeline.reasons import Reason
from pipeline.schema import to_batch
from pipeline.stage import Partitioning, Stage


def exact_dedup_batches(batches: Iterable[pa.RecordBatch], stage: str = "exact_dedup"
                        ) -> Iterator[pa.RecordBatch]:
    """Exact dedup over batches sorted by ``content_hash`` (all copies of a hash together).

    The Spark job hash-partitions by ``content_hash`` and sorts within partitions, so a
    group never spans two partitions; groups may span batches, which this handles.
    """
    rows = (row for batch in batches for row in batch.to_pylist())
    out: list[dict] = []
    for _, group in itertools.groupby(rows, key=lambda row: row["content_hash"]):
        out.extend(mark_duplicates(list(group), Reason.EXACT_DUPLICATE, stage))
        if len(out) >= 10_000:
            yield to_batch(out)
            out = []
    if out:
        yield to_batch(out)


class ExactDedupStage(Stage):
    """One copy per content hash, chosen by the keep rule (:mod:`pipeline.dedup.keep`)."""

    name = "exact_dedup"
    code = ("pipeline.dedup.exact", "pipeline.dedup.keep")
    partitioning = Partitioning.BY_KEY
    key = "content_hash"
    reasons = (Reason.EXACT_DUPLICATE,)

    def process_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return exact_dedup_batches(batches, self.name)

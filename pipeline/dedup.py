"""Exact deduplication and the keep rule that every dedup stage shares.

Which copy of a group of duplicates stays is decided by :func:`keep_key` alone, so the
choice does not depend on partitioning or input order: permissive > no_license >
non_permissive, then more stars, more forks, newer revision date, then repo, path and id.
"""
from __future__ import annotations

import datetime
import itertools
from typing import Iterable, Iterator

import pyarrow as pa

from pipeline.reasons import Reason, exclude
from pipeline.schema import to_batch

_CLASS_RANK = {"permissive": 0, "no_license": 1, "non_permissive": 2}
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def keep_key(record: dict) -> tuple:
    """Sort key: the smallest record of a duplicate group is the one kept."""
    date = record.get("revision_date")
    if isinstance(date, datetime.datetime) and date.tzinfo is None:
        date = date.replace(tzinfo=datetime.timezone.utc)
    age = -(date - _EPOCH).total_seconds() if date is not None else float("inf")
    return (
        _CLASS_RANK.get(record.get("license_class") or "", len(_CLASS_RANK)),
        -(record.get("stars") or 0),
        -(record.get("forks") or 0),
        age,
        record["repo"],
        record["path"],
        record["id"],
    )


def mark_duplicates(group: list[dict], reason: Reason, stage: str) -> list[dict]:
    """Keep the best record of ``group`` (by :func:`keep_key`); mark the others.

    Returns the group sorted by keep key, the kept record first.
    """
    ordered = sorted(group, key=keep_key)
    keeper = ordered[0]
    return [keeper] + [
        exclude(record, reason, stage, duplicate_of=keeper["id"], group_size=len(group))
        for record in ordered[1:]
    ]


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

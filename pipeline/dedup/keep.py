"""The keep rule every dedup stage shares.

Which copy of a group of duplicates stays is decided by :func:`keep_key` alone, so the
choice does not depend on partitioning or input order: permissive > no_license >
non_permissive, then more stars, more forks, newer revision date, then repo, path and id.
"""
from __future__ import annotations

import datetime

from pipeline.reasons import Reason, exclude

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

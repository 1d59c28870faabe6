"""The keep rule and exact dedup over Arrow batches."""
from __future__ import annotations

import datetime
import random

from pipeline.dedup import exact_dedup_batches, keep_key, mark_duplicates
from pipeline.reasons import Reason
from pipeline.schema import content_hash, new_record, to_batch

UTC = datetime.timezone.utc


def _record(repo, path, text="x = 1\n", license_class="permissive", stars=0, forks=0,
            date=None):
    return new_record(id=f"{repo}:{path}", kind="file", repo=repo, path=path, content=text,
                      content_hash=content_hash(text), license_class=license_class,
                      stars=stars, forks=forks, revision_date=date)


def test_keep_rule_order():
    old = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    new = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    ranked = [
        _record("z/permissive", "a.py", stars=0),
        _record("a/no-licence-popular", "a.py", license_class="no_license", stars=10_000),
        _record("a/copyleft", "a.py", license_class="non_permissive", stars=99_999),
    ]
    assert sorted(ranked[::-1], key=keep_key) == ranked
    by_popularity = [
        _record("z/stars", "a.py", stars=5),
        _record("a/forks", "a.py", stars=4, forks=100),
        _record("a/fewer-forks", "a.py", stars=4, forks=3, date=new),
        _record("a/older", "a.py", stars=4, forks=3, date=old),
        _record("a/undated", "a.py", stars=4, forks=3),
        _record("b/undated", "a.py", stars=4, forks=3),
        _record("b/undated", "b.py", stars=4, forks=3),
    ]
    assert sorted(by_popularity[::-1], key=keep_key) == by_popularity


def test_mark_duplicates_points_at_keeper():
    group = [_record("b/r", "x.py", stars=1), _record("a/r", "x.py", stars=7),
             _record("c/r", "x.py", license_class="no_license", stars=100)]
    marked = mark_duplicates(group, Reason.EXACT_DUPLICATE, "exact_dedup")
    assert marked[0]["repo"] == "a/r" and marked[0]["reason"] is None
    for record in marked[1:]:
        assert record["reason"] == "exact_duplicate"
        assert record["duplicate_of"] == "a/r:x.py"
        assert record["stage"] == "exact_dedup"


def test_exact_dedup_is_independent_of_order_and_batching():
    records = [_record(f"o/r{i}", f"f{i % 7}.py", text=f"v = {i % 5}\n", stars=i % 3)
               for i in range(60)]
    results = []
    for seed in range(3):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        shuffled.sort(key=lambda r: r["content_hash"])  # what the Spark job guarantees
        size = 7 + seed * 11
        batches = [to_batch(shuffled[i:i + size]) for i in range(0, len(shuffled), size)]
        out = [row for batch in exact_dedup_batches(batches) for row in batch.to_pylist()]
        assert len(out) == len(records)
        results.append(sorted((r["id"], r["reason"], r["duplicate_of"]) for r in out))
    assert results[0] == results[1] == results[2]
    kept = [r for r in results[0] if r[1] is None]
    assert len(kept) == 5  # one per distinct content
    assert sum(1 for r in results[0] if r[1] == "exact_duplicate") == 55

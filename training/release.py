"""A release as the training stage reads it: its shards grouped by language, streamed with
pyarrow, and the deterministic held-out split."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from pipeline.shards import DATA_DIR, resolve_release

# The fields a training document needs (pipeline/schema.py).
COLUMNS = ["id", "repo", "path", "stars", "content"]


def language_shards(release: Path) -> dict[str, list[Path]]:
    """The shards of a release (a build's output or one version) by language, every kind
    together (``data/<kind>/<language>/*.parquet``), in sorted order."""
    data = resolve_release(release) / DATA_DIR
    shards: dict[str, list[Path]] = {}
    for path in sorted(data.glob("*/*/*.parquet")):
        shards.setdefault(path.parent.name, []).append(path)
    if not shards:
        raise FileNotFoundError(f"{data} holds no shards")
    return dict(sorted(shards.items()))


def is_heldout(record_id: str, fraction: float) -> bool:
    """Whether a record belongs to the held-out split: by the sha256 of its id, so the split
    depends on nothing but the id and ``fraction``, across runs and releases."""
    bucket = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big")
    return bucket / 2.0 ** 64 < fraction


def iter_contents(release: Path, batch_rows: int = 1024) -> Iterator[str]:
    """Every document's content in shard order, streamed batch by batch."""
    for paths in language_shards(release).values():
        for path in paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows,
                                                           columns=["content"]):
                yield from (text for text in batch.column(0).to_pylist() if text)


def iter_records(path: Path, batch_rows: int = 1024) -> Iterator[dict]:
    """One shard's records (``COLUMNS`` only), in order."""
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=COLUMNS):
        yield from batch.to_pylist()

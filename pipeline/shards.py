"""Release layout: deterministic Parquet shards, the excluded records, and manifest.json.

```
OUT/releases/<version>/
  data/<kind>/<language>/part-00000.parquet   kept records by repository and id, zstd
  excluded/part-00000.parquet                  every excluded record with its reason
  signatures/data/<kind>/<language>/...        LSH band keys of each shard's records
  manifest.json                                schema version, config hash, counts, shards
OUT/CURRENT                                    name of the current version
OUT/private/authors/part-00000.parquet         who wrote what: never published (see below)
```
``private/`` holds the private record fields (:data:`pipeline.schema.PRIVATE_FIELDS`) of every
ingested record that has them, by id: what lets an opt-out by login reach issues and commits,
whose released text names people only under pseudonyms. It belongs to the build's operator,
never to a release.
Shard contents, order and names depend only on the records and the config, and the
Parquet writer is given no timestamps, so the same input gives byte-identical files.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import ShardConfig
from pipeline.schema import AUTHORS_SCHEMA, EXCLUDED_SCHEMA, RECORD_SCHEMA, STAGE_SCHEMA

EXCLUDED_DIR = "excluded"
DATA_DIR = "data"
AUTHORS_DIR = "private/authors"
UNKNOWN_LANGUAGE = "unknown"
# The order of the kept records in the shards: a repository's records of one (kind, language)
# lie together, so opting out a repository rewrites one shard of each group it has records in
# (usually), not every shard that a random id order would scatter them over.
KEPT_ORDER = ("kind", "language", "repo", "id")
_SAFE_NAME = re.compile(r"[^a-z0-9+#._-]")


@dataclasses.dataclass(frozen=True)
class ShardInfo:
    """One written shard: release-relative path, rows, bytes and sha256."""

    path: str
    rows: int
    bytes: int
    sha256: str


def _safe_name(name: str | None) -> str:
    """A single, harmless path component (no separators, no leading dots)."""
    return _SAFE_NAME.sub("_", (name or "").lower()).lstrip(".") or UNKNOWN_LANGUAGE


def group_dir(kind: str, language: str | None) -> str:
    """Release-relative directory of the shards of one (kind, language)."""
    return f"{DATA_DIR}/{_safe_name(kind)}/{_safe_name(language)}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def link_or_copy(source: Path, target: Path) -> None:
    """``source`` at ``target`` as a hard link, a copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _split_by_size(rows: Iterable[dict], target_bytes: int) -> Iterator[list[dict]]:
    """Consecutive chunks whose content adds up to about ``target_bytes`` each."""
    chunk: list[dict] = []
    size = 0
    for row in rows:
        chunk.append(row)
        size += len(row.get("content") or "") + 256  # 256: a row's metadata, roughly
        if size >= target_bytes:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def write_shard(table: pa.Table, release_dir: Path, relative_path: str,
                config: ShardConfig) -> ShardInfo:
    """Write one shard (``table`` in its final order and schema) with the release's writer
    settings: no timestamps, so equal tables give equal bytes."""
    path = release_dir / relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression=config.compression,
                   row_group_size=config.row_group_rows, write_statistics=True)
    return ShardInfo(relative_path, table.num_rows, path.stat().st_size, file_sha256(path))


def write_group(rows: Iterable[dict], release_dir: Path, relative_dir: str,
                schema: pa.Schema, config: ShardConfig, prefix: str = "part"
                ) -> list[ShardInfo]:
    """Write rows (already in their final order) as ``prefix``-00000.parquet, -00001, ..."""
    (release_dir / relative_dir).mkdir(parents=True, exist_ok=True)
    infos = []
    for number, chunk in enumerate(_split_by_size(rows, config.target_shard_bytes)):
        table = pa.Table.from_pylist(chunk, schema=STAGE_SCHEMA).select(schema.names)
        infos.append(write_shard(table.cast(schema), release_dir,
                                 f"{relative_dir}/{prefix}-{number:05d}.parquet", config))
    return infos


def write_kept_shards(rows: Iterable[dict], release_dir: Path, config: ShardConfig
                      ) -> list[ShardInfo]:
    """Write kept rows sorted by :data:`KEPT_ORDER`: one shard series per (kind, language)."""
    infos = []
    for (kind, language), group in itertools.groupby(
            rows, key=lambda row: (row["kind"], row["language"])):
        infos.extend(write_group(group, release_dir, group_dir(kind, language),
                                 RECORD_SCHEMA, config))
    return infos


def write_excluded_shards(rows: Iterable[dict], release_dir: Path, config: ShardConfig,
                          prefix: str = "part") -> list[ShardInfo]:
    """Write excluded rows sorted by id; content only if the config keeps it."""
    if not config.keep_excluded_content:
        rows = ({**row, "content": None} for row in rows)
    return write_group(rows, release_dir, EXCLUDED_DIR, EXCLUDED_SCHEMA, config, prefix)


def write_private_authors(rows: Iterable[dict], out_dir: Path, config: ShardConfig
                          ) -> list[ShardInfo]:
    """Write the ``authors`` of ``rows`` (sorted by id; those without are skipped) to
    ``OUT/private/authors/``, replacing what an earlier build wrote there: assembled aside,
    then renamed into place."""
    pending = f"{AUTHORS_DIR}.pending"
    shutil.rmtree(out_dir / pending, ignore_errors=True)
    infos = write_group((row for row in rows if row.get("authors")), out_dir, pending,
                        AUTHORS_SCHEMA, config)
    shutil.rmtree(out_dir / AUTHORS_DIR, ignore_errors=True)
    (out_dir / pending).rename(out_dir / AUTHORS_DIR)
    return [dataclasses.replace(info, path=info.path.replace(pending, AUTHORS_DIR, 1))
            for info in infos]


def read_private_authors(out_dir: Path) -> dict[str, list[str]]:
    """The ``authors`` a build wrote under ``out_dir``, by record id (none: empty)."""
    authors: dict[str, list[str]] = {}
    for path in sorted((Path(out_dir) / AUTHORS_DIR).glob("*.parquet")):
        table = pq.read_table(path, columns=["id", "authors"])
        authors.update(zip(table.column("id").to_pylist(), table.column("authors").to_pylist()))
    return authors


def write_manifest(release_dir: Path, manifest: dict) -> Path:
    """manifest.json with sorted keys, so equal builds give equal bytes."""
    path = release_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def resolve_release(path: Path) -> Path:
    """The release directory that ``path`` names: a build's output directory (its ``CURRENT``
    version), one version's directory, or that version's ``data/`` directory."""
    path = Path(path)
    if (path / "CURRENT").is_file():
        version = (path / "CURRENT").read_text(encoding="utf-8").strip()
        release = path / "releases" / version
        if not version or not (release / "data").is_dir():
            raise FileNotFoundError(f"{path}/CURRENT names {version!r}, which is not a release "
                                    f"under {path / 'releases'}")
        return release
    if (path / "data").is_dir():
        return path
    if path.name == "data" and (path.parent / "manifest.json").is_file():
        return path.parent
    raise FileNotFoundError(f"{path} is not a release: no CURRENT file, no data/ directory")


def switch_current(out_dir: Path, version: str) -> None:
    """Point ``OUT/CURRENT`` at ``version`` atomically (write aside, then rename)."""
    pending = out_dir / "CURRENT.tmp"
    pending.write_text(version + "\n", encoding="utf-8")
    os.replace(pending, out_dir / "CURRENT")

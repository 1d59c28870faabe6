"""Near-copy signatures: LSH band keys of every released record, and the near-copies of
opted-out records that ``curate optout apply --with-copies`` finds with them.

``signatures/`` beside the shards of each version (written by the build and again for every
version ``curate optout apply`` publishes, as ``membership/`` is), one file per kept shard at
``signatures/<the shard's path>``, its row ``i`` for the shard's row ``i``:

- ``id``, ``repo``, ``kind``: the record's;
- ``bands``: ``[signatures] bands`` uint32 keys, the low 32 bits of
  :func:`pipeline.dedup.near.band_hashes` of the record's MinHash signature as the near dedup
  makes it (``[near_dedup]`` shingles, permutations and seed), cut into ``[signatures]``
  bands x rows; null for a record without shingles (short), which matches nothing.

Why band keys and not the signatures: 4 bytes a band (128 a record at 32 bands) against
4 bytes a permutation (1,024 at 256), and the keys suffice to find candidates, which are then
verified against the shards' content with the near dedup's own measure and threshold
(:func:`pipeline.dedup.near.similarities`). Why not the build's 25 x 10 bands: records that
share one were compared by the build, so no kept pair sharing one reaches the threshold; the
build's LSH misses about half the pairs at the threshold, which these keys find (see
:class:`pipeline.config.SignaturesConfig`). 32-bit keys: a random collision makes a candidate
with odds 2^-32 per band and record, and every candidate is verified.

A version published by ``apply`` links the previous version's file of every shard it carries
over unchanged (same shard sha256, same parameters, the file's own sha256 checked) and
computes the keys of the rewritten shards only; the bytes are those a computation gives.
"""
from __future__ import annotations

import collections
import dataclasses
import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import NearDedupConfig, SignaturesConfig
from pipeline.dedup.near import band_keys, similarities
from pipeline.shards import file_sha256, link_or_copy
from pipeline.stage import ReleaseStep

SIGNATURES_DIR = "signatures"
KEY_BITS = 32
_KEY = np.uint32


def signatures_path(shard_path: str) -> str:
    """The release-relative path of the signatures of the shard at ``shard_path``."""
    return f"{SIGNATURES_DIR}/{shard_path}"


@dataclasses.dataclass(frozen=True)
class Keys:
    """The signatures of one shard as arrays: row ``i`` for the shard's row ``i``."""

    ids: list[str]
    repos: list[str]
    kinds: list[str]
    keys: np.ndarray  # (rows, bands) uint32; rows of short records are zeros
    valid: np.ndarray  # bool per row: False for a short record


class ReleaseSignatures(ReleaseStep):
    """The release step that writes ``signatures/`` (the module's files) and records in the
    manifest its parameters, files, and size against the release's shards."""

    name = "signatures"
    config_sections = ("near_dedup", "signatures")

    def __init__(self, near: NearDedupConfig, config: SignaturesConfig):
        if config.bands < 1 or config.rows < 1 or config.bands * config.rows > near.num_perm:
            raise ValueError(f"[signatures] bands x rows must fit the {near.num_perm} "
                             f"permutations of [near_dedup], not {config.bands} x "
                             f"{config.rows}")
        self.near, self.config = near, config

    @property
    def params(self) -> dict[str, Any]:
        """What the keys depend on."""
        near = self.near
        return {"ngram": near.ngram, "num_perm": near.num_perm, "seed": near.seed,
                "tokenizer": near.tokenizer, "bands": self.config.bands,
                "rows": self.config.rows, "key_bits": KEY_BITS}

    def table(self, shard: Path) -> pa.Table:
        """The signatures of the kept shard at ``shard``."""
        columns = pq.read_table(shard, columns=["id", "repo", "kind", "content"])
        texts = [text or "" for text in columns.column("content").to_pylist()]
        bands = self.config.bands
        long_enough, hashes = band_keys(texts, self.near, bands, self.config.rows)
        keys = np.zeros((len(texts), bands), dtype=_KEY)
        keys[long_enough] = hashes.astype(_KEY)  # the low 32 bits
        valid = np.zeros(len(texts), dtype=bool)
        valid[long_enough] = True
        return pa.table({
            "id": columns.column("id"), "repo": columns.column("repo"),
            "kind": columns.column("kind"),
            "bands": pa.FixedSizeListArray.from_arrays(pa.array(keys.reshape(-1)), bands,
                                                       mask=pa.array(~valid))})

    def _reusable(self, release_dir: Path, manifest: dict[str, Any]) -> dict[str, dict]:
        """The previous version's files (an apply's manifest names it) by shard path, where
        that version's keys have this step's parameters."""
        previous = manifest.get("previous", {}).get("release")
        path = release_dir.parent / str(previous) / "manifest.json"
        if previous is None or not path.is_file():
            return {}
        entry = json.loads(path.read_text(encoding="utf-8")).get(self.name)
        if not entry or entry["params"] != self.params:
            return {}
        return {item["shard"]: {**item, "source": path.parent / item["path"]}
                for item in entry["files"]}

    def write(self, release_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        reusable = self._reusable(release_dir, manifest)
        files = []
        for shard in manifest["shards"]:
            relative = signatures_path(shard["path"])
            target = release_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            old = reusable.get(shard["path"])
            reused = old is not None and old["shard_sha256"] == shard["sha256"]
            if reused:
                link_or_copy(old["source"], target)
                reused = file_sha256(target) == old["sha256"]
            if not reused:
                target.unlink(missing_ok=True)
                pq.write_table(self.table(release_dir / shard["path"]), target,
                               compression="zstd")
            files.append({"shard": shard["path"], "shard_sha256": shard["sha256"],
                          "path": relative, "rows": shard["rows"],
                          "bytes": target.stat().st_size, "sha256": file_sha256(target)})
        total = sum(item["bytes"] for item in files)
        records = sum(item["rows"] for item in files)
        shard_bytes = sum(shard["bytes"] for shard in manifest["shards"])
        return {"params": self.params, "threshold": self.near.threshold, "files": files,
                "bytes": total, "bytes_per_record": total / records if records else 0.0,
                "release_shard_bytes": shard_bytes,
                "fraction_of_shard_bytes": total / shard_bytes if shard_bytes else 0.0}


# --- near-copies of opted-out records ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Copy:
    """A kept record whose content is a near-duplicate of a record a request covers, in
    another repository: it goes for that request (``copy_of``: the covered record's id)."""

    id: str
    repo: str
    shard: str
    request: int
    copy_of: str
    similarity: float


class _Covered(NamedTuple):
    """A covered record with shingles: where it lies, what it is, the request covering it."""

    shard: str
    row: int
    id: str
    repo: str
    request: int


def read_keys(release: Path, item: dict[str, Any]) -> Keys:
    """The signatures file the manifest entry ``item`` lists, checked against its sha256."""
    path = release / item["path"]
    if not path.is_file() or file_sha256(path) != item["sha256"]:
        raise ValueError(f"{path} is missing or does not match its manifest's sha256: the "
                         "release is damaged; nothing published")
    table = pq.read_table(path)
    bands = table.column("bands").combine_chunks()
    width = bands.type.list_size
    values = np.asarray(bands.values)[bands.offset * width:(bands.offset + len(bands)) * width]
    return Keys(table.column("id").to_pylist(), table.column("repo").to_pylist(),
                table.column("kind").to_pylist(), values.reshape(-1, width),
                np.asarray(bands.is_valid()))


def _contents(path: Path, rows: set[int]) -> dict[int, str]:
    """The content of ``rows`` of the shard at ``path``, reading only their row groups."""
    shard = pq.ParquetFile(path)
    starts = np.cumsum([0] + [shard.metadata.row_group(i).num_rows
                              for i in range(shard.num_row_groups)])
    by_group = collections.defaultdict(list)
    for row in rows:
        by_group[int(np.searchsorted(starts, row, side="right")) - 1].append(row)
    found = {}
    for group, members in sorted(by_group.items()):
        column = shard.read_row_group(group, columns=["content"]).column(0)
        found.update((row, column[row - int(starts[group])].as_py() or "") for row in members)
    return found


def find_copies(release: Path, manifest: dict[str, Any], covered: dict[str, dict[int, int]],
                near: NearDedupConfig) -> list[Copy]:
    """The kept records of ``release`` (its manifest ``manifest``) that no request covers,
    in another repository than and of the same kind as a covered record, whose content is
    a near-duplicate of it: candidates share a band key with it, and are verified with the
    near dedup's measure and threshold (``near``). ``covered``: shard path -> row -> request
    id. A copy of several covered records goes for the most similar (ties: the lowest request
    id, then the lowest record id). Sorted by id."""
    entry = manifest.get(ReleaseSignatures.name)
    if not entry:
        raise ValueError(f"{release} has no signatures ({SIGNATURES_DIR}/): it was published "
                         "before releases carried them, so --with-copies cannot look for "
                         "copies; rebuild it with curate build")
    files = {item["shard"]: item for item in entry["files"]}
    sources: list[_Covered] = []
    index: dict[tuple[str, int, int], list[int]] = collections.defaultdict(list)  # kind, band, key
    for shard, rows in sorted(covered.items()):
        keys = read_keys(release, files[shard])
        for row, request in sorted(rows.items()):
            if keys.valid[row]:
                for band, key in enumerate(keys.keys[row].tolist()):
                    index[(keys.kinds[row], band, key)].append(len(sources))
                sources.append(_Covered(shard, row, keys.ids[row], keys.repos[row], request))
    if not sources:
        return []
    band_sets = [np.array(sorted({key for (_, b, key) in index if b == band}), dtype=_KEY)
                 for band in range(entry["params"]["bands"])]
    candidates: dict[tuple[str, int], tuple[str, str, set[int]]] = {}
    for shard, item in sorted(files.items()):
        keys = read_keys(release, item)
        hit = np.zeros(len(keys.ids), dtype=bool)
        for band, wanted in enumerate(band_sets):
            hit |= np.isin(keys.keys[:, band], wanted)
        hit &= keys.valid
        for row in np.flatnonzero(hit).tolist():
            if row in covered.get(shard, {}):
                continue
            matches = {source for band, key in enumerate(keys.keys[row].tolist())
                       for source in index.get((keys.kinds[row], band, key), ())
                       if sources[source].repo.lower() != keys.repos[row].lower()}
            if matches:
                candidates[(shard, row)] = (keys.ids[row], keys.repos[row], matches)
    texts: dict[tuple[str, int], str] = {}
    wanted_rows: dict[str, set[int]] = collections.defaultdict(set)
    for (shard, row), (_, _, matches) in candidates.items():
        wanted_rows[shard].add(row)
        for source in matches:
            wanted_rows[sources[source].shard].add(sources[source].row)
    for shard, rows in wanted_rows.items():
        texts.update(((shard, row), text)
                     for row, text in _contents(release / shard, rows).items())
    copies = []
    for (shard, row), (record_id, repo, matches) in sorted(candidates.items()):
        ordered = sorted((sources[source] for source in matches),
                         key=lambda source: (source.request, source.id))
        scores = similarities(texts[(shard, row)],
                              [texts[(source.shard, source.row)] for source in ordered], near)
        best = max(range(len(ordered)), key=lambda i: (scores[i], -i))
        if scores[best] >= near.threshold:
            source = ordered[best]
            copies.append(Copy(record_id, repo, shard, source.request, source.id, scores[best]))
    return sorted(copies, key=lambda copy: copy.id)

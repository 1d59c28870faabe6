"""Release shards: deterministic bytes, size targets, excluded content, readers."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from pipeline.config import ShardConfig
from pipeline.reasons import Reason, exclude
from pipeline.schema import RECORD_SCHEMA, content_hash, new_record
from pipeline.shards import (file_sha256, group_dir, read_private_authors, resolve_release,
                             switch_current, write_excluded_shards, write_kept_shards,
                             write_private_authors)


def _rows(n, language="python"):
    rows = []
    for i in range(n):
        text = f"def f{i}():\n    return {i}\n" * 20
        rows.append(new_record(id=f"{i:08d}", kind="file", repo="o/r", path=f"f{i}.py",
                               language=language, content=text,
                               content_hash=content_hash(text), size=len(text),
                               stars=0, forks=0))
    return rows


def test_shards_split_by_target_size_and_are_byte_identical(tmp_path):
    config = ShardConfig(target_shard_bytes=20_000, row_group_rows=50)
    rows = sorted(_rows(100, "go") + _rows(100, "python"),
                  key=lambda r: (r["kind"], r["language"], r["id"]))
    first = write_kept_shards(iter(rows), tmp_path / "a", config)
    second = write_kept_shards(iter(rows), tmp_path / "b", config)
    assert [i.sha256 for i in first] == [i.sha256 for i in second]
    assert {i.path.rsplit("/", 1)[0] for i in first} == {"data/file/go", "data/file/python"}
    assert len(first) > 4  # ~600 bytes a row, 20 kB a shard
    assert sum(i.rows for i in first) == 200
    table = pq.read_table(tmp_path / "a" / first[0].path)
    assert table.schema.names == RECORD_SCHEMA.names
    assert file_sha256(tmp_path / "a" / first[0].path) == first[0].sha256


def test_excluded_shards_drop_content_unless_kept(tmp_path):
    rows = [exclude(r, Reason.MAX_LINE_LENGTH, "quality", value=2000, threshold=1000)
            for r in _rows(3)]
    infos = write_excluded_shards(iter(rows), tmp_path / "x", ShardConfig())
    table = pq.read_table(tmp_path / "x" / infos[0].path)
    assert table.column("content").null_count == 3
    assert table.column("reason").to_pylist() == ["max_line_length"] * 3
    assert '"threshold": 1000' in table.column("details")[0].as_py()
    kept = write_excluded_shards(iter(rows), tmp_path / "y",
                                 ShardConfig(keep_excluded_content=True))
    assert pq.read_table(tmp_path / "y" / kept[0].path).column("content").null_count == 0


def test_group_dir_is_filesystem_safe():
    assert group_dir("file", "c++") == "data/file/c++"
    assert group_dir("file", None) == "data/file/unknown"
    assert group_dir("file", "../etc") == "data/file/_etc"
    assert group_dir("file", "..") == "data/file/unknown"


def test_resolve_release_takes_a_build_a_version_or_its_data(tmp_path):
    release = tmp_path / "releases" / "v1.0.1"
    (release / "data").mkdir(parents=True)
    (release / "manifest.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="not a release"):
        resolve_release(tmp_path)
    switch_current(tmp_path, "v1.0.1")
    assert resolve_release(tmp_path) == release
    assert resolve_release(release) == release
    assert resolve_release(release / "data") == release
    switch_current(tmp_path, "v9.9.9")
    with pytest.raises(FileNotFoundError, match="v9.9.9"):
        resolve_release(tmp_path)


def test_private_authors_are_written_beside_the_releases_and_replace_earlier_ones(tmp_path):
    config = ShardConfig(target_shard_bytes=1 << 20)
    issue = new_record(id="b", kind="issue", repo="o/r", path="issues/1", content="text",
                       authors=["ann", "bob"])
    plain = new_record(id="a", kind="file", repo="o/r", path="a.py", content="x")
    [info] = write_private_authors([plain, issue], tmp_path, config)
    assert info.path == "private/authors/part-00000.parquet" and info.rows == 1
    assert pq.read_table(tmp_path / info.path).column_names == ["id", "kind", "repo", "authors"]
    assert read_private_authors(tmp_path) == {"b": ["ann", "bob"]}
    assert write_private_authors([plain], tmp_path, config) == []
    assert read_private_authors(tmp_path) == {}
    assert not list(tmp_path.glob("private/*.pending"))

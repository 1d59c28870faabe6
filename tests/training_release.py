"""A small multilingual release written straight with pipeline.shards (no Spark build), for
the training tests."""
from __future__ import annotations

from pathlib import Path

from pipeline.config import ShardConfig
from pipeline.schema import content_hash, new_record, record_id
from pipeline.shards import switch_current, write_kept_shards, write_manifest

PYTHON = '''def add_{i}(a, b):
    """Return a + b + {i}."""
    total = a + b
    return total + {i}


class Counter{i}:
    def __init__(self):
        self.count = {i}

    def bump(self):
        self.count += 1
        return self.count
'''

GO = '''package main

import "fmt"

// Greet{i} says hello {i} times: héllo, 世界.
func Greet{i}(name string) {{
\tfor i := 0; i < {i}; i++ {{
\t\tfmt.Println("héllo", name, "世界")
\t}}
}}
'''

JAVASCRIPT = '''// Ünïcode {i}: ✓
function square{i}(x) {{
  const y = x * x + {i};
  return y;
}}
module.exports = {{ square{i} }};
'''


def release_records(per_language: int = 60) -> list[dict]:
    """Records of three languages, sorted as the release writes them."""
    rows = []
    for language, template, extension in (("go", GO, "go"), ("javascript", JAVASCRIPT, "js"),
                                          ("python", PYTHON, "py")):
        for i in range(per_language):
            text = template.format(i=i)
            path = f"src/mod_{i}.{extension}"
            repo = f"owner{i % 7}/repo-{language}"
            rows.append(new_record(
                id=record_id("file", repo, path, content_hash(text)), kind="file", repo=repo,
                path=path, language=language, extension=extension, content=text,
                content_hash=content_hash(text), size=len(text.encode()), stars=(i * 37) % 2000,
                forks=0, license="MIT", license_class="permissive"))
    return sorted(rows, key=lambda row: (row["kind"], row["language"], row["id"]))


def write_release(out: Path, per_language: int = 60, rows_per_group: int = 16) -> Path:
    """A build output directory (``CURRENT`` -> v1.0.0) holding the records above; small row
    groups and shards, so streaming crosses both."""
    release = out / "releases" / "v1.0.0"
    config = ShardConfig(target_shard_bytes=12_000, row_group_rows=rows_per_group)
    infos = write_kept_shards(iter(release_records(per_language)), release, config)
    write_manifest(release, {"version": "v1.0.0", "shards": [info.path for info in infos]})
    switch_current(out, "v1.0.0")
    return out

"""stack-curate built with its own pipeline: its git repository passes its own licence stage."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pyarrow.parquet as pq

from jobs.build import run_build
from pipeline.config import BuildConfig, PiiConfig

ROOT = Path(__file__).resolve().parent.parent


def test_the_projects_own_python_files_are_kept_under_its_licence(spark, tmp_path):
    at_head = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", "HEAD"],
                             check=True, capture_output=True, text=True).stdout.split("\n")
    tracked = [path for path in at_head if path.endswith(".py")]
    manifest = tmp_path / "repos.jsonl"
    manifest.write_text(json.dumps({"name": "bigcode-like/stack-curate", "source": str(ROOT)})
                        + "\n")
    result = run_build(manifest, tmp_path / "out", BuildConfig(pii=PiiConfig(enabled=False)),
                       spark=spark)
    python_dir = result.release_dir / "data" / "file" / "python"
    kept = [row for part in sorted(python_dir.glob("*.parquet"))
            for row in pq.read_table(part, columns=["path", "license", "license_class"])
            .to_pylist()]
    excluded = [row for part in sorted((result.release_dir / "excluded").glob("*.parquet"))
                for row in pq.read_table(part, columns=["path", "reason"]).to_pylist()]
    licence_reasons = {"license_none", "license_non_permissive"}
    assert not [row for row in excluded if row["reason"] in licence_reasons]
    assert {row["license"] for row in kept} == {"Apache-2.0"}
    assert {row["license_class"] for row in kept} == {"permissive"}
    # every Python file is kept unless a content stage (dedup, quality) had a reason
    excluded_python = {row["path"] for row in excluded if row["path"].endswith(".py")}
    assert {row["path"] for row in kept} | excluded_python == set(tracked)
    assert len(kept) >= 0.9 * len(tracked)

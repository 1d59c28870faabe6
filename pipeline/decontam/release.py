"""``curate decontaminate``: the next patch version of a published release without the files
that hold a benchmark's prompt or solution.

The kept shards' texts go through the build stage's matcher
(:class:`pipeline.decontam.stage.DecontaminationStage`); the version is published as opt-out's
apply publishes one (:func:`optout.apply.publish_patch`: untouched shards carried over
byte-identical, the others rewritten, crash-safe, ``CURRENT`` switched last). Removed records
join ``excluded/`` with reason ``decontamination`` and the benchmark, task and field in
``details``; the manifest's new ``stages`` entry reports, per benchmark, the files matched
and their repositories, and ``fingerprints`` the benchmarks applied.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from optout.apply import Patch, read_release, read_shard
from pipeline.config import DecontaminationConfig
from pipeline.decontam.stage import DecontaminationStage
from pipeline.reasons import Reason, exclude

APPLY_STAGE = "decontam_apply"  # the ``stage`` of the records it removes


def changelog_markdown(log: dict[str, Any]) -> str:
    """``CHANGELOG.md`` of a decontamination's ``changelog.json``."""
    lines = [f"# {log['release']}", "",
             f"Changes since {log['previous']}: files holding a benchmark's prompt or solution "
             "removed.", "", "| benchmark | source | files | repositories |", "|---|---|---|---|"]
    lines += [f"| {name} | {log['benchmarks'][name]['source']} | {entry['files']} | "
              f"{', '.join(entry['repositories'])} |" for name, entry in log["report"].items()]
    lines += ["", f"{log['removed_records']} records removed; {len(log['shards_rewritten'])} "
              f"shards rewritten, {log['shards_carried']} carried over unchanged. Removed records "
              "are listed in excluded/ with reason decontamination, the benchmark, task id and "
              "field.", ""]
    return "\n".join(lines)


def plan_decontamination(release: Path, config: DecontaminationConfig) -> Patch:
    """Match the kept shards of the current release ``release`` names against the configured
    benchmarks: the patch version that removes what matched."""
    stage = DecontaminationStage(config)
    if not stage.enabled:
        raise ValueError("no benchmark to decontaminate against: name one with --benchmark "
                         "NAME=PATH or [decontamination] benchmarks")
    stage.setup()
    source, out_dir, manifest, version = read_release(release)
    found: dict[str, dict[str, dict[str, Any]]] = {}  # shard -> record id -> details
    matched: list[dict] = []  # repo and details of each, as the stage's report reads them
    for shard in manifest["shards"]:
        table = read_shard(source / shard["path"], ["id", "repo", "content"])
        for record_id, repo, content in zip(*(table.column(name).to_pylist()
                                              for name in ("id", "repo", "content"))):
            details = stage.details(content)
            if details is not None:
                found.setdefault(shard["path"], {})[record_id] = details
                matched.append({"repo": repo, "details": json.dumps(details)})

    def split(path: str, table: pa.Table) -> tuple[pa.Table, list[dict]]:
        marks = found[path]
        removed = pc.is_in(table.column("id"), pa.array(list(marks), pa.string()))
        return table.filter(pc.invert(removed)), [
            exclude(record, Reason.DECONTAMINATION, APPLY_STAGE, **marks[record["id"]])
            for record in table.filter(removed).to_pylist()]

    report = stage.report(matched)
    log = {"release": version, "previous": manifest["release"], "removed_records": len(matched),
           "benchmarks": stage.fingerprint(),
           "report": {name: {"files": entry["files"], "repositories": sorted(entry["repositories"])}
                      for name, entry in report.items()},
           "shards_rewritten": sorted(found),
           "shards_carried": len(manifest["shards"]) - len(found)}
    return Patch(out_dir, source, manifest, version, tuple(sorted(found)), split,
                 APPLY_STAGE, Reason.DECONTAMINATION, len(matched),
                 {APPLY_STAGE: stage.fingerprint()}, {"report": report}, log,
                 changelog_markdown(log))

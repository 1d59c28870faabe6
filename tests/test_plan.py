"""The build plan and the stage contract, without Spark: what the plan holds, what `curate
stages` prints, how a malformed plan is refused, how counters add up."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from jobs.cli import main
from pipeline.config import BuildConfig, NearDedupConfig, PiiConfig
from pipeline.plan import BUILD_PLAN, plan_table, stages_of
from pipeline.reasons import Reason
from pipeline.schema import to_batch
from pipeline.stage import Partitioning, Resources, StageCounters


def test_the_plan_names_every_stage_with_its_contract():
    stages = stages_of(BuildConfig(pii=PiiConfig(task_gpus=0.25, batch_size=16)))
    assert [s.name for s in stages] == ["ingest", "optout", "licenses", "quality",
                                        "exact_dedup", "near_dedup", "decontam", "pii"]
    by_name = {s.name: s for s in stages}
    assert by_name["ingest"].partitioning is Partitioning.SOURCE
    assert by_name["ingest"].config_sections == ("ingest", "licenses")
    assert (by_name["exact_dedup"].partitioning, by_name["exact_dedup"].key) == \
        (Partitioning.BY_KEY, "content_hash")
    assert by_name["near_dedup"].partitioning is Partitioning.WHOLE_DATASET
    assert by_name["pii"].resources == Resources(gpus=0.25, batch_size=16)
    assert all(s.resources.gpus == 0 for s in stages if s.name != "pii")
    given = {reason for s in stages for reason in s.reasons}
    assert given == set(Reason)  # every reason belongs to a stage, and one stage gives it
    assert sum(len(s.reasons) for s in stages) == len(Reason)


def test_disabled_stages_say_so():
    config = BuildConfig(pii=PiiConfig(enabled=False), near_dedup=NearDedupConfig(enabled=False))
    assert {s.name: s.enabled for s in stages_of(config)} == {
        "ingest": True, "optout": True, "licenses": True, "quality": True, "exact_dedup": True,
        "near_dedup": False, "decontam": True, "pii": False}


def test_curate_stages_prints_the_plan(capsys, tmp_path):
    assert main(["stages"]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == plan_table(stages_of(BuildConfig())).strip()
    for text in ("ingest", "ingest,licenses", "by_key (content_hash)", "whole_dataset",
                 "license_non_permissive", "near_duplicate", "release"):
        assert text in printed
    config = tmp_path / "gpu.toml"
    config.write_text("[pii]\ntask_gpus = 1\n")
    assert main(["stages", "--config", str(config), "--json"]) == 0
    described = {row["stage"]: row for row in json.loads(capsys.readouterr().out)}
    assert described["pii"]["gpus"] == 1.0 and described["ingest"]["gpus"] == 0.0


def test_a_malformed_plan_is_refused():
    with pytest.raises(ValueError, match="starts with its one SOURCE stage"):
        stages_of(BuildConfig(), BUILD_PLAN[1:])
    with pytest.raises(ValueError, match="only the first stage reads"):
        stages_of(BuildConfig(), (*BUILD_PLAN, BUILD_PLAN[0]))
    with pytest.raises(ValueError, match="names repeat"):
        stages_of(BuildConfig(), (*BUILD_PLAN, BUILD_PLAN[1]))
    with pytest.raises(ValueError, match="bad resources"):
        Resources(gpus=-1)


def test_counters_add_up_batches_and_tasks():
    rows = [{"id": str(i), "reason": None if i % 3 else "binary"} for i in range(7)]
    first, second = StageCounters("ingest", gpu_tasks={"0": 1}), StageCounters("ingest")
    first.add_batch(to_batch(rows[:4]))
    second.add_batch(to_batch(rows[4:]))
    second.add_batch(pa.RecordBatch.from_pylist([], schema=to_batch(rows).schema))
    first.merge(second)
    assert (first.records_in, first.kept, first.excluded) == (7, 4, {"binary": 3})
    assert StageCounters.from_dict(first.to_dict()).to_dict() == first.to_dict()
    assert first.to_dict()["gpu_tasks"] == {"0": 1}


def test_a_stage_code_version_follows_its_source(tmp_path, monkeypatch):
    from pipeline.stage import source_digest

    package = tmp_path / "userstage"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules.py").write_text("LIMIT = 3\n")
    (package / "words.txt").write_text("alpha\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = source_digest(["userstage"])
    assert source_digest(["userstage"]) == first
    (package / "words.txt").write_text("alpha\nbeta\n")  # data files count too
    second = source_digest(["userstage"])
    (package / "rules.py").write_text("LIMIT = 4\n")
    assert len({first, second, source_digest(["userstage"])}) == 3
    assert source_digest(["userstage.rules"]) != source_digest(["userstage"])
    with pytest.raises(ValueError, match="no module"):
        source_digest(["no_such_module_here"])
    assert {s.name: len(s.code_version()) for s in stages_of(BuildConfig())} == {
        name: 64 for name in ("ingest", "optout", "licenses", "quality", "exact_dedup",
                              "near_dedup", "decontam", "pii")}

"""Near-dedup on Spark: components, planted near-duplicates, partition independence, CLI."""
from __future__ import annotations

import random
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.near_dedup import connected_components, near_dedup, run_dedup
from pipeline.config import NearDedupConfig

WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
         "rho sigma tau upsilon phi chi psi omega").split()


def _document(seed: int, lines: int = 60) -> str:
    rng = random.Random(seed)
    return "\n".join(f"def f_{seed}_{i}({rng.choice(WORDS)}, {rng.choice(WORDS)}):\n"
                     f"    return {' + '.join(rng.choice(WORDS) for _ in range(6))}"
                     for i in range(lines))


def _edit(text: str, seed: int, share: float) -> str:
    """``text`` with ``share`` of its lines replaced."""
    rng = random.Random(seed)
    lines = text.split("\n")
    for index in rng.sample(range(len(lines)), int(len(lines) * share)):
        lines[index] = f"    changed_{seed}_{index} = {rng.choice(WORDS)}"
    return "\n".join(lines)


def _rows() -> list[dict]:
    """5 families of 4 near-duplicates (2% of lines changed) and 20 distinct documents."""
    rows = []
    for family in range(5):
        base = _document(1000 + family)
        for copy in range(4):
            text = base if copy == 0 else _edit(base, family * 10 + copy, 0.02)
            rows.append({"id": f"fam{family}-{copy}", "content": text, "repo": f"o/r{copy}",
                         "path": f"f{family}.py", "stars": 10 - copy})
    for index in range(20):
        rows.append({"id": f"solo{index:02d}", "content": _document(index), "repo": "o/solo",
                     "path": f"s{index}.py", "stars": 0})
    rows.append({"id": "short", "content": "x = 1", "repo": "o/solo", "path": "short.py",
                 "stars": 0})
    return rows


def _decisions(spark, rows: list[dict], partitions: int) -> dict[str, tuple]:
    return _decisions_with(spark, rows, NearDedupConfig(), partitions)


def _decisions_with(spark, rows: list[dict], config: NearDedupConfig, partitions: int = 2
                    ) -> dict[str, tuple]:
    frame = spark.createDataFrame(rows, "id string, content string, repo string, path string, "
                                        "stars bigint").repartition(partitions)
    out = near_dedup(frame, config).collect()
    assert len(out) == len(rows)
    return {row["id"]: (row["reason"], row["duplicate_of"], row["cluster_id"]) for row in out}


@pytest.fixture(scope="module")
def baseline(spark) -> dict[str, tuple]:
    return _decisions(spark, _rows(), 2)


def test_planted_near_duplicates_are_removed_for_the_keeper(baseline):
    decided = baseline
    for family in range(5):
        keeper = f"fam{family}-0"  # most stars
        assert decided[keeper] == (None, None, None)
        for copy in range(1, 4):
            assert decided[f"fam{family}-{copy}"] == ("near_duplicate", keeper, keeper)
    assert all(decided[f"solo{i:02d}"][0] is None for i in range(20))
    assert decided["short"][0] is None


@pytest.mark.parametrize("verify", [True, False])
def test_in_process_stage_decides_as_spark(spark, baseline, verify):
    from pipeline.dedup.near import NearDedupStage
    from pipeline.reasons import Reason

    config = NearDedupConfig(verify_jaccard=verify)
    expected = baseline if verify else _decisions_with(spark, _rows(), config)
    rows = [{**row, "reason": None} for row in _rows()]
    out = NearDedupStage(config).process_dataset(rows)
    decided = {row["id"]: (row["reason"], row.get("duplicate_of"), row.get("cluster_id"))
               for row in out}
    assert decided == expected
    assert NearDedupStage.reasons == (Reason.NEAR_DUPLICATE,)


@pytest.mark.parametrize("partitions", [1, 3, 8])
def test_result_does_not_depend_on_partitions_or_order(spark, baseline, partitions):
    rows = _rows()
    random.Random(partitions).shuffle(rows)
    assert _decisions(spark, rows, partitions) == baseline


def test_connected_components_of_a_chain_and_a_star(spark):
    edges = spark.createDataFrame(
        [("e", "d"), ("d", "c"), ("c", "b"), ("b", "a"), ("z", "y"), ("x", "y"), ("w", "y")],
        "src string, dst string")
    components = {row["id"]: row["component"] for row in connected_components(edges).collect()}
    assert components == {"a": "a", "b": "a", "c": "a", "d": "a", "e": "a",
                          "w": "w", "x": "w", "y": "w", "z": "w"}


def test_standalone_dedup_on_foreign_parquet_without_ids(spark, tmp_path):
    rows = _rows()
    table = pa.table({"text": [r["content"] for r in rows],
                      "source": [r["id"] for r in rows],  # no id column, other names
                      "content": [f"note {i}" for i in range(len(rows))]})  # not the text
    pq.write_table(table, tmp_path / "in.parquet")
    counts = run_dedup(spark, str(tmp_path / "in.parquet"), str(tmp_path / "out"),
                       NearDedupConfig(), text_column="text", id_column=None)
    assert counts == {"input": len(rows), "kept": len(rows) - 15, "near_duplicate": 15}
    kept = pq.read_table(tmp_path / "out" / "data")
    assert set(kept.column_names) == {"text", "source", "content", "id"}
    assert all(note.startswith("note ") for note in kept.column("content").to_pylist())
    removed = pq.read_table(tmp_path / "out" / "excluded").to_pylist()
    assert {r["reason"] for r in removed} == {"near_duplicate"}
    kept_ids = set(kept.column("id").to_pylist())
    assert all(r["duplicate_of"] in kept_ids and r["cluster_id"] for r in removed)


def test_cli_dedup_reports_counts(tmp_path):
    rows = _rows()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    run = subprocess.run([sys.executable, "-m", "jobs.cli", "dedup", "--input",
                          str(tmp_path / "in.parquet"), "--output", str(tmp_path / "out"),
                          "--master", "local[1]"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"input {len(rows)} = kept {len(rows) - 15} + near_duplicate 15" in run.stdout


def test_standalone_dedup_refuses_repeated_ids(spark, tmp_path):
    pq.write_table(pa.table({"content": ["same text here for both rows ok"] * 2}),
                   tmp_path / "in.parquet")
    with pytest.raises(ValueError, match="must be unique"):
        run_dedup(spark, str(tmp_path / "in.parquet"), str(tmp_path / "out"), NearDedupConfig(),
                  id_column=None)


def _dedup_table(spark, tmp_path, name: str, ids: list) -> list[dict]:
    rows = _rows()
    table = pa.table({"id": ids, "content": [r["content"] for r in rows],
                      "stars": [r["stars"] for r in rows]})
    pq.write_table(table, tmp_path / f"{name}.parquet")
    run_dedup(spark, str(tmp_path / f"{name}.parquet"), str(tmp_path / name), NearDedupConfig())
    return pq.read_table(tmp_path / name / "excluded").to_pylist()


def test_integer_ids_dedup_as_their_string_twins(spark, tmp_path):
    count = len(_rows())
    as_int = _dedup_table(spark, tmp_path, "ints", list(range(1000, 1000 + count)))
    as_str = _dedup_table(spark, tmp_path, "strs", [str(i) for i in range(1000, 1000 + count)])
    assert len(as_int) == 15
    assert all(isinstance(r["duplicate_of"], int) and isinstance(r["cluster_id"], int)
               for r in as_int)
    assert sorted((str(r["id"]), str(r["duplicate_of"]), str(r["cluster_id"])) for r in as_int) \
        == sorted((r["id"], r["duplicate_of"], r["cluster_id"]) for r in as_str)


def test_dedup_input_errors_are_one_line(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_dedup(spark, str(tmp_path / "missing"), str(tmp_path / "out"), NearDedupConfig())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no Parquet"):
        run_dedup(spark, str(tmp_path / "empty"), str(tmp_path / "out"), NearDedupConfig())
    pq.write_table(pa.table({"id": [0.5, 1.5], "content": ["a b c", "d e f"]}),
                   tmp_path / "floats.parquet")
    with pytest.raises(ValueError, match="id column 'id' has type double"):
        run_dedup(spark, str(tmp_path / "floats.parquet"), str(tmp_path / "out"),
                  NearDedupConfig())

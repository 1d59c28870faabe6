"""Jupyter notebooks as a source: both forms' text, the filters, hostile notebooks, and one build
through Spark. Notebooks are made here with nbformat's own API (raw JSON for broken ones)."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import nbformat
import pyarrow.parquet as pq
import pytest
from licensedcode.cache import get_licenses_db
from nbformat import v3, v4

from jobs.build import run_build, summary_table
from pipeline.config import BuildConfig, IngestConfig, NearDedupConfig, PiiConfig
from pipeline.dedup.near import NearDedupStage, candidate_groups
from pipeline.ingest import ingest_repository
from pipeline.ingest.manifest import RepoEntry
from pipeline.ingest.notebooks import notebook_records
from pipeline.reasons import Reason
from pipeline.schema import git_blob_sha, new_record, record_id

PYTHON = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
          "language_info": {"name": "python", "file_extension": ".py"}}
R_KERNEL = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"},
            "language_info": {"name": "R", "file_extension": ".r"}}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4).decode()


def _notebook(*cells, metadata: dict = PYTHON) -> bytes:
    return nbformat.writes(v4.new_notebook(cells=list(cells), metadata=metadata)).encode()


def _code(source: str, *outputs) -> nbformat.NotebookNode:
    return v4.new_code_cell(source, outputs=list(outputs))


def _stream(text: str) -> nbformat.NotebookNode:
    return v4.new_output("stream", name="stdout", text=text)


def _result(**data: str) -> nbformat.NotebookNode:
    return v4.new_output("execute_result", data=data, execution_count=1)


def _display(**data: str) -> nbformat.NotebookNode:
    return v4.new_output("display_data", data=data)


def _records(data: bytes, config: IngestConfig = IngestConfig()) -> dict[str, dict]:
    """The notebook's records by kind."""
    records = notebook_records(data, lambda kind: new_record(kind=kind, path="nb.ipynb"),
                               config, "ingest")
    return {record["kind"]: record for record in records}


def _structured(*cells, config: IngestConfig = IngestConfig()) -> str:
    return _records(_notebook(*cells), config)["notebook_structured"]["content"]


SMALL = (v4.new_markdown_cell("# Title\nIntro."),
         _code("x = 1\nx", _result(**{"text/plain": "1", "text/html": "<b>1</b>"})),
         _code("print('hi')", _stream("hi\n")),
         v4.new_markdown_cell("Done."),
         _code("y = 2"))


def test_a_small_notebook_in_both_forms():
    records = _records(_notebook(*SMALL))
    script, structured = records["notebook"], records["notebook_structured"]
    assert script["content"] == "# # Title\n# Intro.\n\nx = 1\nx\n\nprint('hi')\n\n# Done.\n\ny = 2\n"
    assert structured["content"] == (
        "<jupyter_start><jupyter_text># Title\nIntro.<jupyter_code>x = 1\nx\nprint('hi')"
        "<jupyter_output>hi\n<jupyter_text>Done.<jupyter_code>y = 2<jupyter_output><empty_output>")
    for record in records.values():
        assert (record["reason"], record["language"], record["encoding"]) == (None, "python",
                                                                              "utf-8")


def test_a_version_3_notebook_is_read_and_converted():
    cells = [v3.new_text_cell("markdown", source="# Old\nnotebook"),
             v3.new_code_cell(input="x = 1\nx", language="python", prompt_number=1,
                              outputs=[v3.new_output("pyout", output_text="1", prompt_number=1)]),
             v3.new_code_cell(input="print(x)", language="python", prompt_number=2,
                              outputs=[v3.new_output("stream", output_text="1\n", stream="stdout")])]
    notebook = v3.new_notebook(worksheets=[v3.new_worksheet(cells=cells)], metadata={"name": "old"})
    data = nbformat.writes(notebook, version=3).encode()
    assert json.loads(data)["nbformat"] == 3
    records = _records(data)
    assert records["notebook"]["content"] == "# # Old\n# notebook\n\nx = 1\nx\n\nprint(x)\n"
    assert records["notebook_structured"]["content"] == (
        "<jupyter_start><jupyter_text># Old\nnotebook<jupyter_code>x = 1\nx\nprint(x)"
        "<jupyter_output>1\n")
    assert {record["language"] for record in records.values()} == {"python"}  # from its cells


def test_consecutive_cells_of_a_type_are_grouped_with_the_last_code_cells_output():
    assert _structured(v4.new_markdown_cell("a"), v4.new_markdown_cell("b"),
                       _code("c1", _stream("out 1")), _code("c2", _stream("out 2")),
                       v4.new_markdown_cell("d"), _code("c3", _stream("out 3")), _code("c4")) == (
        "<jupyter_start><jupyter_text>a\nb<jupyter_code>c1\nc2<jupyter_output>out 2"
        "<jupyter_text>d<jupyter_code>c3\nc4<jupyter_output><empty_output>")


def test_raw_and_blank_cells_are_left_out_of_the_structured_form():
    assert _structured(_code("a = 1"), v4.new_raw_cell(".. rst directive"),
                       v4.new_markdown_cell("  \n"), _code("b = 2", _stream("2"))) == (
        "<jupyter_start><jupyter_code>a = 1\nb = 2<jupyter_output>2")


def test_only_the_first_text_output_is_kept_and_it_is_cut_at_1000_characters():
    long_text = "".join(f"line {i}\n" for i in range(400))
    assert _structured(_code("x", _stream("first\n"), _stream("second\n"))) == (
        "<jupyter_start><jupyter_code>x<jupyter_output>first\n")
    assert _structured(_code("x", _stream(long_text))) == (
        "<jupyter_start><jupyter_code>x<jupyter_output>" + long_text[:1000])
    assert IngestConfig().notebook_max_output_chars == 1000
    assert _structured(_code("x", _stream(long_text)),
                       config=IngestConfig(notebook_max_output_chars=10)).endswith(
        "<jupyter_output>line 0\nlin")


def test_image_html_and_error_outputs_are_dropped():
    image_only = _display(**{"image/png": PNG})
    html_only = _display(**{"text/html": "<table><tr><td>1</td></tr></table>"})
    error = v4.new_output("error", ename="NameError", evalue="name 'z' is not defined",
                          traceback=["\x1b[0;31mNameError\x1b[0m"])
    data = _notebook(_code("plot()", image_only, html_only, error),
                     _code("df", _result(**{"text/html": "<table/>", "text/plain": "   a\n0  1"})),
                     _code("show()", image_only, _stream("shown\n")))
    records = _records(data)
    assert records["notebook_structured"]["content"] == (
        "<jupyter_start><jupyter_code>plot()\ndf\nshow()<jupyter_output>shown\n")
    assert _structured(_code("plot()", image_only, html_only, error)) == (
        "<jupyter_start><jupyter_code>plot()<jupyter_output><empty_output>")
    assert _structured(_code("df", _result(**{"text/html": "<table/>", "text/plain": "   a\n0  1"}))) \
        == "<jupyter_start><jupyter_code>df<jupyter_output>   a\n0  1"
    for record in records.values():
        assert PNG[:40] not in record["content"] and "<table" not in record["content"]


def test_other_kernel_languages_give_scripts_in_that_language_and_no_structured_form():
    records = _records(_notebook(v4.new_markdown_cell("Fit a model."), _code("fit <- lm(y ~ x)"),
                                 metadata=R_KERNEL))
    script, structured = records["notebook"], records["notebook_structured"]
    assert (script["reason"], script["language"]) == (None, "r")
    assert script["content"] == "# Fit a model.\n\nfit <- lm(y ~ x)\n"
    assert structured["reason"] == Reason.UNSUPPORTED_LANGUAGE.value
    assert json.loads(structured["details"])["notebook_structured_languages"] == ["python"]


def test_a_notebook_without_a_kernel_language_is_of_no_language():
    records = _records(_notebook(_code("x = 1"), metadata={}))
    assert {r["reason"] for r in records.values()} == {Reason.UNSUPPORTED_LANGUAGE.value}
    assert json.loads(records["notebook"]["details"])["kernel_language"] is None


def _v4_json(**changes) -> bytes:
    notebook = json.loads(_notebook(*SMALL))
    notebook.update(changes)
    return json.dumps(notebook).encode()


@pytest.mark.parametrize("data, error", [
    (b'{"cells": [', "not UTF-8 JSON"),
    (b"\xff\xfe\x00{", "not UTF-8 JSON"),
    (b"[" * 200_000 + b"]" * 200_000, "not UTF-8 JSON"),
    (b"[1, 2]", "nbformat version None"),
    (b'{"nbformat": 2, "nbformat_minor": 0, "worksheets": []}', "nbformat version 2"),
    (_v4_json(cells="not a list"), "not a valid nbformat 4 notebook"),
    (_v4_json(cells=[{"cell_type": "spreadsheet", "source": "", "metadata": {}}]),
     "not a valid nbformat 4 notebook"),
    (_v4_json(metadata=None), "not a valid nbformat 4 notebook"),
])
def test_broken_notebooks_are_excluded_with_a_reason(data, error):
    records = _records(data)
    assert set(records) == {"notebook", "notebook_structured"}
    for record in records.values():
        assert record["reason"] == Reason.NOTEBOOK_INVALID.value and record["content"] is None
        assert json.loads(record["details"])["error"].startswith(error)


def test_a_notebook_without_text_in_its_cells_is_excluded_as_empty():
    for data in (_notebook(), _notebook(_code("  \n"), v4.new_markdown_cell(""))):
        assert {r["reason"] for r in _records(data).values()} == {Reason.NOTEBOOK_EMPTY.value}


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """A directory with a module, a notebook, a broken one and one with a 50 MB image."""
    root = tmp_path_factory.mktemp("notebooks") / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "app.py").write_text("print('app')\n")
    (root / "notebooks/small.ipynb").write_bytes(_notebook(*SMALL))
    (root / "notebooks/broken.ipynb").write_bytes(b'{"nbformat": 4, "cells": [')
    huge = base64.b64encode(os.urandom(37_500_000)).decode()  # 50 MB of base64
    (root / "notebooks/huge.ipynb").write_bytes(_notebook(
        _code("plot()", _display(**{"image/png": huge, "text/plain": "<Figure>"}))))
    return root


def _ingest(root: Path, tmp_path: Path, config: IngestConfig) -> list[dict]:
    entry = RepoEntry("acme/nb", str(root))
    return ingest_repository(entry, config, tmp_path, lambda path: False).records


def test_a_notebook_gives_its_two_records_and_no_file_record(repository, tmp_path):
    records = _ingest(repository, tmp_path, IngestConfig())
    assert [(r["path"], r["kind"], r["reason"]) for r in records] == [
        ("app.py", "file", None),
        ("notebooks/broken.ipynb", "notebook", "notebook_invalid"),
        ("notebooks/broken.ipynb", "notebook_structured", "notebook_invalid"),
        ("notebooks/huge.ipynb", "notebook", "too_large"),
        ("notebooks/huge.ipynb", "notebook_structured", "too_large"),
        ("notebooks/small.ipynb", "notebook", None),
        ("notebooks/small.ipynb", "notebook_structured", None),
    ]
    data = (repository / "notebooks/small.ipynb").read_bytes()
    for record in records[-2:]:
        assert record["blob_sha"] == git_blob_sha(data) and record["size"] == len(data)
        assert record["extension"] == "ipynb"
        assert record["id"] == record_id(record["kind"], "acme/nb", record["path"],
                                         git_blob_sha(data))
    assert records[-2]["id"] != records[-1]["id"]
    assert _ingest(repository, tmp_path, IngestConfig()) == records  # same input, same records


def test_a_50_mb_image_is_dropped(repository, tmp_path):
    """Above The Stack's 1 MB bound the notebook is never read; with the bound raised past it,
    it is read and its image dropped."""
    records = _ingest(repository / "notebooks", tmp_path,
                      IngestConfig(max_file_bytes=64_000_000))
    huge = [r for r in records if r["path"] == "huge.ipynb"]
    assert [r["reason"] for r in huge] == [None, None]
    assert huge[1]["content"] == "<jupyter_start><jupyter_code>plot()<jupyter_output><Figure>"


def test_near_dedup_compares_records_of_one_kind_only():
    code = "\n".join(f"total_{i} = compute(values_{i}, weight={i})" for i in range(30))
    records = _records(_notebook(v4.new_markdown_cell("Sums."), _code(code)))
    kept = [{**r, "id": r["kind"], "repo": "acme/nb", "stars": 0} for r in records.values()]
    texts = [r["content"] for r in kept]
    assert candidate_groups(texts, NearDedupConfig()) == [[0, 1]]  # near-copies by construction
    stage = NearDedupStage(NearDedupConfig())
    assert [r["reason"] for r in stage.process_dataset(kept)] == [None, None]
    same_kind = [kept[0], {**kept[0], "id": "other", "path": "copy.ipynb"}]
    assert [r["reason"] for r in stage.process_dataset(same_kind)].count("near_duplicate") == 1


ANALYSIS = (v4.new_markdown_cell("# Sales analysis\nWe load the figures and sum them by region."),
            _code("import csv\n\nwith open('sales.csv') as handle:\n"
                  "    rows = list(csv.DictReader(handle))\nlen(rows)", _result(**{"text/plain": "42"})),
            v4.new_markdown_cell("Totals per region:"),
            _code("totals = {}\nfor row in rows:\n    region = row['region']\n"
                  "    totals[region] = totals.get(region, 0) + float(row['amount'])\nprint(totals)",
                  _stream("{'north': 10.5, 'south': 7.25}\n")))


def test_a_build_releases_both_forms_with_their_kind_and_licence(spark, tmp_path):
    repo = tmp_path / "analysis"
    (repo / "notebooks").mkdir(parents=True)
    (repo / "LICENSE").write_text("Copyright (c) 2024 Acme\n\n" + get_licenses_db()["mit"].text)
    (repo / "report.py").write_text("def report(totals):\n    return sorted(totals.items())\n")
    (repo / "notebooks/sales.ipynb").write_bytes(_notebook(*ANALYSIS))
    (repo / "notebooks/broken.ipynb").write_text('{"nbformat": 4')
    manifest = tmp_path / "repos.jsonl"
    manifest.write_text(json.dumps({"name": "acme/analysis", "source": str(repo)}) + "\n")
    result = run_build(manifest, tmp_path / "out", BuildConfig(pii=PiiConfig(enabled=False)),
                       spark=spark)

    release = result.release_dir
    kept = {(row["kind"], row["path"]): row for path in sorted((release / "data").rglob("*.parquet"))
            for row in pq.read_table(path).to_pylist()}
    assert sorted(kept) == [("file", "report.py"), ("notebook", "notebooks/sales.ipynb"),
                            ("notebook_structured", "notebooks/sales.ipynb")]
    for kind in ("notebook", "notebook_structured"):
        row = kept[(kind, "notebooks/sales.ipynb")]
        assert (row["license"], row["license_class"], row["license_source"], row["language"]) == \
            ("MIT", "permissive", "LICENSE", "python")
        assert (release / "data" / kind / "python").is_dir()
    assert kept[("notebook_structured", "notebooks/sales.ipynb")]["content"].startswith(
        "<jupyter_start><jupyter_text># Sales analysis")
    assert "# # Sales analysis" in kept[("notebook", "notebooks/sales.ipynb")]["content"]

    excluded = [row for path in sorted((release / "excluded").rglob("*.parquet"))
                for row in pq.read_table(path).to_pylist()]
    assert sorted((r["path"], r["kind"], r["reason"]) for r in excluded
                  if r["path"].endswith(".ipynb")) == [
        ("notebooks/broken.ipynb", "notebook", "notebook_invalid"),
        ("notebooks/broken.ipynb", "notebook_structured", "notebook_invalid")]
    counts = result.manifest["counts"]
    assert counts["kept_by_kind"] == {"file": 1, "notebook": 1, "notebook_structured": 1}
    assert counts["excluded_by_kind"] == {"file": 1, "notebook": 1, "notebook_structured": 1}
    table = summary_table(result)
    assert "  notebook: ingested 2 = kept 1 + excluded 1" in table
    assert "  notebook_structured: ingested 2 = kept 1 + excluded 1" in table
    assert {"nbformat", "jupytext"} <= set(result.manifest["fingerprints"]["ingest"])

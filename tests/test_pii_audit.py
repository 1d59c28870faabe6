"""The audit: residual PII found by independent detectors, masked reports in HTML and Markdown."""
import random
import string

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.cli import main
from pii.audit import audit_release, mask, render_html, render_markdown
from pii.baseline import RegexBaselineDetector
from pipeline.schema import RECORD_SCHEMA, new_record


def _aws_like_id(rng: random.Random) -> str:
    return "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def _release(tmp_path, rows):
    shard = tmp_path / "rel" / "data" / "file" / "python" / "part-00000.parquet"
    shard.parent.mkdir(parents=True)
    records = [new_record(id=f"r{i}", kind="file", repo="o/r", path=f"f{i}.py",
                          language="python", **row) for i, row in enumerate(rows)]
    pq.write_table(pa.Table.from_pylist(records).select(RECORD_SCHEMA.names)
                   .cast(RECORD_SCHEMA), shard)
    return shard.parents[3]


def test_audit_counts_residual_and_redacted_and_masks_examples(tmp_path):
    key = _aws_like_id(random.Random(7))
    leaked = (f"# maintainer: Carlos Mendoza <carlos.mendoza@fastmail.net>\n"
              f"SERVER = '52.14.3.9'\naws_access_key_id = '{key}'\n")
    clean = "# by <NAME> <<EMAIL>>\nSERVER = '192.0.2.17'\nkey = '<KEY>'\n"
    release = _release(tmp_path, [
        {"content": leaked, "pii_spans": []},
        {"content": clean, "pii_spans": [
            {"start": 5, "end": 11, "label": "NAME", "score": 0.9, "detector": "ner"},
            {"start": 13, "end": 20, "label": "EMAIL", "score": 1.0, "detector": "email"}]},
    ])
    report = audit_release(release)
    assert report.files == 2
    assert report.redacted == {"NAME": 1, "EMAIL": 1}
    assert report.residual["EMAIL"] == 1 and report.residual["IP_ADDRESS"] == 1
    assert report.residual["KEY"] == 1 and report.residual["NAME"] == 1
    assert report.residual_by_language["python"]["EMAIL"] == 1
    for page in (render_markdown(report), render_html(report)):
        for raw in ("carlos.mendoza", "fastmail", "52.14.3.9", key, "Mendoza"):
            assert raw not in page
        assert "residual" in page and "python" in page


def test_audit_cli_writes_both_reports(tmp_path, capsys):
    release = _release(tmp_path, [{"content": "ping 34.201.7.77\n", "pii_spans": []}])
    assert main(["pii", "audit", str(release), "--out", str(tmp_path / "audit")]) == 0
    markdown = (tmp_path / "audit" / "audit.md").read_text()
    assert "| IP_ADDRESS | 0 | 1 |" in markdown
    assert (tmp_path / "audit" / "audit.html").read_text().startswith("<!doctype html>")
    assert "IP_ADDRESS=1" in capsys.readouterr().out


def test_audit_refuses_a_directory_that_is_not_a_release(tmp_path, capsys):
    assert main(["pii", "audit", str(tmp_path)]) == 2
    assert "not a release" in capsys.readouterr().err


def test_mask_shows_shape_only():
    assert mask("carlos@fastmail.net") == "c***@***.net"
    assert mask("hunter2") == "h****** (7 chars)"


def test_regex_baseline_finds_each_kind_and_skips_non_public_ips():
    key = _aws_like_id(random.Random(3))
    text = (f"mail ana.lima@corp.io from 52.14.3.9 not 10.1.2.3 nor 192.0.2.4\n"
            f"aws = '{key}'\npassword = 'Xq7#pLm2vR'\n")
    spans = RegexBaselineDetector().detect([text])[0]
    found = {(s.label, text[s.start:s.end]) for s in spans}
    assert found == {("EMAIL", "ana.lima@corp.io"), ("IP_ADDRESS", "52.14.3.9"),
                     ("KEY", key), ("PASSWORD", "Xq7#pLm2vR")}


def test_the_audit_page_leads_with_plots_and_folds_clean_languages_in_chromium(tmp_path):
    import shutil

    from playwright.sync_api import sync_playwright

    from pii.audit import AuditReport

    report = AuditReport(release="demo", files=3, megabytes=3.0)
    report.redacted.update({"EMAIL": 4, "NAME": 2})
    report.residual.update({"EMAIL": 1})
    report.residual_by_language["python"]["EMAIL"] = 1
    report.megabytes_by_language.update({"python": 2.0, "cobol": 0.5, "ada": 0.5})
    page_path = tmp_path / "audit.html"
    page_path.write_text(render_html(report), encoding="utf-8")
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is not installed: `make test` installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page()
        page.goto(page_path.as_uri())
        assert page.locator("h2").all_inner_texts() == [
            "Redacted by the build", "Residual per language", "Masked examples"]
        widths = page.locator("img").evaluate_all("(all) => all.map(i => i.naturalWidth)")
        assert len(widths) == 2 and all(width > 100 for width in widths)
        languages = page.locator("section:nth-of-type(2) table").first.locator("tbody tr td:first-child")
        assert languages.all_inner_texts() == ["python"]  # the rest folded
        assert not page.locator("details").first.get_attribute("open")
        page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
        browser.close()

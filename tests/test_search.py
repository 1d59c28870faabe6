"""Attribution search (optout/search.py, ``curate search``): a small release written without
Spark, indexed, then asked for snippets copied from its files, identifiers and misses."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from starlette.testclient import TestClient

from jobs.cli import main
from optout.membership import MembershipIndex
from optout.search import NoSearchIndex, ReleaseSearch, build_index, format_result
from optout.web import CSRF_FIELD, create_app
from pipeline.config import MembershipConfig, ShardConfig
from pipeline.shards import write_manifest, write_shard
from test_web import _chromium, live_server

PARSER = '''"""Reading settings."""
import json


def parse_json_file(path):
    """The settings of ``path``: a JSON object, with « défauts » filled in (naïve café: ✓)."""
    with open(path, encoding="utf-8") as handle:
        settings = json.load(handle)
    settings.setdefault("crème", "brûlée")
    return settings
'''
USER = ("def test_parse_json_file():\n    assert parse_json_file('t.json') == {}\n\n\n"
        + "".join(f"from settings import parse_json_file\n"
                  f"value_{i} = parse_json_file('s{i}.json')\n" for i in range(6)))
GEO = "".join(f"fn area_{i}(width: f64, height: f64) -> f64 {{\n    width * height * {i}.0\n}}\n"
              for i in range(40))
NOTE = ("Ce module lit les réglages; voir « Überblick » — 設定ファイルを読みます — and keeps them "
        "as they are, line by line.\n")
RECORDS = [  # (repository, path, licence, content), in release order
    ("acme/settings", "settings/reader.py", "MIT", PARSER),
    ("acme/app", "app/main.py", "Apache-2.0", USER),
    ("geo/shapes", "src/area.rs", "BSD-3-Clause", GEO),
    ("acme/settings", "docs/notes.md", "MIT", "# Notes\n" + NOTE * 3),
    ("evil/page", "<b>x</b>.html", "<i>MIT</i>",
     "<script>alert('owned')</script>\n<p>render_widget(&amp;)</p>\n"),
]


def write_release(out: Path, records: list[tuple[str, str, str, str]]) -> Path:
    """``out`` as a build's output directory holding v1.0.0: ``records`` in two shards, a
    manifest and the membership index (which the web page needs); ``out``."""
    release = out / "releases" / "v1.0.0"
    shards = []
    for number, group in enumerate((records[:2], records[2:])):
        table = pa.table({"id": [f"id-{repo}" for repo, *_ in group],
                          "repo": [repo for repo, *_ in group],
                          "path": [path for _, path, *_ in group],
                          "license": [licence for *_, licence, _ in group],
                          "content": [content for *_, content in group]})
        shard = write_shard(table, release, f"data/file/x/part-{number:05d}.parquet",
                            ShardConfig())
        shards.append({"path": shard.path, "bytes": shard.bytes})
    write_manifest(release, {"shards": shards})
    MembershipIndex(MembershipConfig(fpr_probes=1000)).write(release, {"shards": shards})
    (out / "CURRENT").write_text("v1.0.0\n")
    return out


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_release(tmp_path_factory.mktemp("search-release"), RECORDS)


@pytest.fixture(scope="module")
def index(release) -> ReleaseSearch:
    header = build_index(release)
    assert header["release"] == "v1.0.0" and header["records"] == len(RECORDS)
    assert header["index_bytes"] > 0 and header["fraction_of_shard_bytes"] > 0
    return ReleaseSearch(release)


def _text(line) -> str:
    return "".join(piece for piece, _ in line.pieces)


def _marked(line) -> str:
    return "".join(piece for piece, marked in line.pieces if marked)


def test_a_copied_snippet_is_found_exactly_with_its_lines(index):
    snippet = PARSER[PARSER.index("    \"\"\"The settings"):PARSER.index("    return")]
    assert len(snippet) > 99 and "café" in snippet
    result = index.search(snippet)
    assert result.mode == "exact" and result.total == 1
    hit = result.hits[0]
    assert (hit.repo, hit.path, hit.license, hit.id) == (
        "acme/settings", "settings/reader.py", "MIT", "id-acme/settings")
    assert [line.number for line in hit.lines] == [6, 7, 8, 9]
    assert "".join(_marked(line) for line in hit.lines) == snippet.replace("\n", "")
    # a browser sends CRLF line ends; any alignment of a short snippet is found too
    assert index.search(snippet.replace("\n", "\r\n")).hits[0].path == "settings/reader.py"
    for start in range(0, 60, 7):
        piece = GEO[start + 1000:start + 1110]
        found = index.search(piece)
        assert found.mode == "exact" and found.total == 1
        assert found.hits[0].repo == "geo/shapes"


def test_a_snippet_repeated_gives_every_place(index):
    result = index.search(NOTE)
    assert result.mode == "exact" and result.total == 3 and len(result.hits) == 1
    assert [line.number for line in result.hits[0].lines] == [2, 3, 4]
    assert index.exact(NOTE[:40]).total == 0  # under one n-gram: nothing to look up exactly


def test_a_short_identifier_ranks_the_defining_file_first(index):
    result = index.search("parse_json_file")
    assert result.mode == "ranked" and result.total == 2
    assert [hit.path for hit in result.hits] == ["settings/reader.py", "app/main.py"]
    assert [_marked(line) for line in result.hits[0].lines] == ["parse_json_file"]
    assert result.hits[0].lines[0].number == 5
    # its words in another spelling, and a word inside it
    assert index.search("ParseJsonFile").hits[0].path == "settings/reader.py"
    assert {hit.path for hit in index.search("json").hits} == {"settings/reader.py",
                                                                "app/main.py"}
    assert index.search("area_7 height").hits[0].repo == "geo/shapes"
    assert index.search("crème brûlée").hits[0].license == "MIT"


def test_a_miss_returns_nothing(index):
    assert index.search("frobnicate_quux").hits == []
    assert index.search("def frobnicate_quux(widget):\n    return widget.spin() + 1\n" * 3
                        ).hits == []
    assert index.search("(){};").hits == []
    assert index.search("_ __").mode == "ranked"  # names without words to split
    # 32 characters, 64 bytes of UTF-8: at the tokens' limit as tantivy counts it (bytes)
    assert index.search("ßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ frobnicate").hits == []  # no panic


def test_cli_query_and_the_message_without_an_index(release, index, tmp_path, capsys):
    snippet = PARSER[PARSER.index("def parse"):]
    assert main(["search", "query", snippet, "--release", str(release), "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "acme/settings  settings/reader.py  licence MIT" in out
    assert "«def parse_json_file(path):»" in out and "\x1b[" not in out
    bare = tmp_path / "bare"
    (bare / "data").mkdir(parents=True)
    (bare / "manifest.json").write_text(json.dumps({"shards": []}))
    assert main(["search", "query", "x", "--release", str(bare)]) == 2
    err = capsys.readouterr().err
    assert "has no search index" in err and f"curate search index {bare}" in err
    with pytest.raises(NoSearchIndex):
        ReleaseSearch(bare)
    stale = write_release(tmp_path / "stale", RECORDS[:1])
    assert main(["search", "index", str(stale)]) == 0
    assert "v1.0.0: 1 records" in capsys.readouterr().out
    manifest = stale / "releases" / "v1.0.0" / "manifest.json"
    manifest.write_text(manifest.read_text().replace("{", '{"changed": 1, ', 1))
    with pytest.raises(NoSearchIndex, match="another state of its manifest: rebuild it"):
        ReleaseSearch(stale)


def test_terminal_output_marks_matches_in_bold(index):
    text = format_result(index.search("parse_json_file"), tty=True)
    assert "\x1b[1;31mparse_json_file\x1b[0m" in text


# --- the web page ------------------------------------------------------------------------------

def _client(release: Path, tmp_path: Path) -> TestClient:
    return TestClient(create_app(release, tmp_path / "home"), raise_server_exceptions=False)


def _search(client: TestClient, query: str):
    token = re.search(f'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/").text).group(1)
    return client.post("/search", data={CSRF_FIELD: token, "query": query})


def test_the_page_has_a_search_box_only_with_an_index(release, index, tmp_path):
    assert 'action="/search"' in _client(release, tmp_path).get("/").text
    bare = write_release(tmp_path / "bare", RECORDS[:1])
    client = _client(bare, tmp_path)
    assert "Find where code comes from" not in client.get("/").text
    answer = _search(client, "parse_json_file")
    assert answer.status_code == 404 and "no search index" in answer.text


def test_results_are_escaped_and_marked(release, index, tmp_path):
    client = _client(release, tmp_path)
    page = _search(client, "render_widget")
    assert page.status_code == 200 and "1 file" in page.text
    assert "&lt;b&gt;x&lt;/b&gt;.html" in page.text and "&lt;i&gt;MIT&lt;/i&gt;" in page.text
    assert "&lt;p&gt;<mark>render_widget</mark>(&amp;amp;)&lt;/p&gt;" in page.text
    assert "<script" not in page.text and "<b>" not in page.text
    snippet = PARSER[PARSER.index("def parse"):].replace("\n", "\r\n")  # as a browser sends
    exact = _search(client, snippet)
    assert "1 place (found exactly)" in exact.text and "acme/settings" in exact.text
    assert "<mark>def parse_json_file(path):</mark>" in exact.text
    assert "Nothing in this release matches" in _search(client, "frobnicate_quux").text


def test_search_in_chromium(release, index, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    snippet = PARSER[PARSER.index("    with open"):]
    with live_server(create_app(release, tmp_path / "home")) as base_url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.set_default_timeout(20_000)
            page.goto(base_url)
            page.get_by_label("Paste code").fill(snippet)
            page.get_by_role("button", name="Search").click()
            expect(page.locator("#summary")).to_contain_text("1 place (found exactly)")
            hit = page.locator("section.hit").first
            expect(hit.locator("h2")).to_have_text("acme/settings · settings/reader.py")
            expect(hit.locator("td.license")).to_have_text("MIT")
            expect(hit.locator("mark").first).to_have_text(snippet.splitlines()[0])
            page.screenshot(path=tmp_path / "search.png", full_page=True)
        finally:
            browser.close()
    data = (tmp_path / "search.png").read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000

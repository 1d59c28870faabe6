"""Quality filters: each rule at, below and above its threshold, exemptions, order, stage."""
from __future__ import annotations

import dataclasses
import json
import random
from html.parser import HTMLParser

import pyarrow as pa
import pytest

from pipeline.config import FilterConfig
from pipeline.filters import (
    AlphanumericFractionFilter,
    DataFileSizeFilter,
    GeneratedFilter,
    HtmlVisibleTextFilter,
    MaxLineLengthFilter,
    MeanLineLengthFilter,
    QualityStage,
    VendoredFilter,
    XmlDeclarationFilter,
    quality_filters,
)
from pipeline.filters.measures import (
    LINE_BREAKS,
    alphanumeric_count,
    alphanumeric_fraction,
    html_visible_text_length,
    max_line_length,
    mean_line_length,
)
from pipeline.reasons import Reason, exclude
from pipeline.schema import content_hash, new_record, to_batch
from pipeline.runner import run_stage

CONFIG = FilterConfig()


def make_record(content: str | None, language: str = "python", path: str = "src/main.py",
                **fields: object) -> dict:
    extension = path.rpartition(".")[2] if "." in path.rpartition("/")[2] else ""
    return new_record(
        id=f"id-{path}-{len(content or '')}", kind="file", repo="acme/widgets", path=path,
        language=language, extension=extension, content=content,
        content_hash=content_hash(content) if content is not None else None, **fields,
    )


def details_of(rule, record: dict) -> dict | None:
    """What the rule says about the record, after checking that it applies."""
    assert rule.applies_to(record)
    return rule.violation(record)


# --- measures -------------------------------------------------------------------------------

def test_line_lengths_follow_str_splitlines():
    text = "ab\r\ncdef\rg\u2028hij\n"  # CRLF, CR and LINE SEPARATOR all end a line
    assert max_line_length(text) == 4
    assert mean_line_length(text) == (2 + 4 + 1 + 3) / 4
    assert max_line_length("") == 0 and mean_line_length("") == 0.0
    assert mean_line_length("\n\n") == 0.0  # two empty lines


def test_line_lengths_equal_splitlines_on_every_line_end():
    alphabet = "ab \t" + "".join(LINE_BREAKS) + "\r\n" * 3
    generator = random.Random(5)
    for _ in range(500):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 40)))
        lengths = [len(line) for line in text.splitlines()]
        assert max_line_length(text) == max(lengths, default=0), repr(text)
        assert mean_line_length(text) == (sum(lengths) / len(lengths) if lengths else 0.0), repr(text)


def test_alphanumeric_count_equals_str_isalnum_on_mixed_unicode():
    alphabet = "azAZ09 _-\n\t{}é中文٣²Ⅻ\u0301\U0001f600ß"
    generator = random.Random(7)
    for _ in range(300):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randrange(0, 200)))
        assert alphanumeric_count(text) == sum(c.isalnum() for c in text), text
    assert alphanumeric_count("ab\ud800") == 2  # a lone surrogate is no letter, and no crash
    assert alphanumeric_fraction("") == 0.0


class _ReferenceVisibleText(HTMLParser):
    """The stdlib parser's view of visible text, as an oracle on well-formed pages."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.length = 0
        self.raw_depth = 0
        self.run = ""

    def _end_run(self):
        self.length += 1 if self.run and not self.run.strip(" \t\n\r\f") else len(self.run)
        self.run = ""

    def handle_starttag(self, tag, attrs):
        self._end_run()
        self.raw_depth += tag in ("script", "style")

    def handle_startendtag(self, tag, attrs):
        self._end_run()

    def handle_endtag(self, tag):
        self._end_run()
        self.raw_depth -= tag in ("script", "style")

    def handle_comment(self, data):
        self._end_run()

    def handle_decl(self, decl):
        self._end_run()

    def handle_data(self, data):
        if not self.raw_depth:
            self.run += data

    def visible(self, page: str) -> int:
        self.feed(page)
        self.close()
        self._end_run()
        return self.length


def random_page(generator: random.Random, depth: int = 0) -> str:
    words = ["lorem", "ipsum", "&amp;", "&lt;b&gt;", "caf&eacute;", "3 < 4", "a > b",
             "\n   ", "it's", '"quoted"']
    parts = []
    for _ in range(generator.randrange(1, 5)):
        pick = generator.random()
        if pick < 0.35 and depth < 4:
            tag = generator.choice(["div", "p", "span", "a", "li", "h1", "td"])
            attributes = generator.choice(["", " class='x'", ' title="a>b"', " data-n=1 hidden"])
            parts.append(f"<{tag}{attributes}>{random_page(generator, depth + 1)}</{tag}>")
        elif pick < 0.45:
            parts.append("<script type='module'>if (a < b) { s = '<p>x</p>'; }</script>")
        elif pick < 0.5:
            parts.append("<STYLE>.a > .b { color: red }</STYLE>")
        elif pick < 0.55:
            parts.append("<!-- hidden <b>note</b> -->")
        elif pick < 0.6:
            parts.append("<br/>\n  ")
        else:
            parts.append(" ".join(generator.choice(words) for _ in range(generator.randrange(1, 6))))
    return "".join(parts)


def test_html_visible_text_agrees_with_html_parser_on_well_formed_pages():
    generator = random.Random(11)
    for _ in range(300):
        page = "<!DOCTYPE html>\n<html><body>\n" + random_page(generator) + "\n</body></html>\n"
        assert html_visible_text_length(page) == _ReferenceVisibleText().visible(page), page


@pytest.mark.parametrize("page, visible", [
    ("<p>Hello &amp; bye</p>", len("Hello & bye")),
    ("<p>a</p>\n    \n<p>b</p>", 3),  # whitespace between tags counts once
    ("<script>var x = '<p>not text</p>';</script>ok", 2),
    ("<style media='all'>p { a: b }</style>ok", 2),
    ("<!-- comment -->ok<!-- unterminated comment hides the rest", 2),
    ("ok<a href='x", 2),  # an unterminated tag hides the rest
    ("<div title=\"a > b\">ok</div>", 2),  # '>' inside a quoted value does not end the tag
    ("3 < 4 and 5 > 2", 15),  # '<' not followed by a tag name is text
    ("<?php echo 1 ?><![CDATA[x]]><!DOCTYPE html>ok", 2),
    ("", 0),
])
def test_html_visible_text_cases(page, visible):
    assert html_visible_text_length(page) == visible


@pytest.mark.parametrize("page", [
    "<a" * 500_000, "<a b='" * 200_000, "<!--" * 250_000, "<script>" + "x<" * 500_000,
    "</" * 500_000, "<!" * 500_000, "<?" * 500_000,
])
def test_html_visible_text_is_linear_on_unterminated_markup(page):
    # html.parser needs minutes on these (quadratic); the scanner reads each once.
    assert html_visible_text_length(page) == 0


# --- rules ----------------------------------------------------------------------------------

def test_max_line_length_at_below_and_above_threshold():
    rule = MaxLineLengthFilter(1000, CONFIG.line_length_exempt)
    short_lines = "x = 1\n" * 20
    assert details_of(rule, make_record(short_lines + "y" * 999)) is None
    assert details_of(rule, make_record(short_lines + "y" * 1000)) is None
    assert details_of(rule, make_record(short_lines + "y" * 1001)) == {
        "value": 1001, "threshold": 1000}


def test_mean_line_length_at_below_and_above_threshold():
    rule = MeanLineLengthFilter(100.0, CONFIG.line_length_exempt)
    assert details_of(rule, make_record("a" * 50 + "\n" + "b" * 150 + "\n")) is None  # 100.0
    assert details_of(rule, make_record("a" * 50 + "\n" + "b" * 149)) is None  # 99.5
    assert details_of(rule, make_record("a" * 50 + "\n" + "b" * 151)) == {
        "value": 100.5, "threshold": 100.0}


@pytest.mark.parametrize("language", ["markdown", "restructuredtext", "tex", "text"])
def test_line_length_rules_skip_prose_languages(language):
    paragraph = make_record("word " * 400, language=language, path="docs/guide.txt")
    for rule in quality_filters(CONFIG):
        if isinstance(rule, (MaxLineLengthFilter, MeanLineLengthFilter)):
            assert not rule.applies_to(paragraph)
    out, _ = run_stage(QualityStage(CONFIG), [paragraph])
    assert out[0]["reason"] is None
    code = make_record("word " * 400, language="python")  # the same text as code is dropped
    assert run_stage(QualityStage(CONFIG), [code])[0][0]["reason"] == Reason.MAX_LINE_LENGTH.value


def test_alphanumeric_fraction_at_below_and_above_threshold():
    rule = AlphanumericFractionFilter(0.25)
    assert details_of(rule, make_record("ab" + "-" * 6)) is None  # exactly 0.25
    assert details_of(rule, make_record("abc" + "-" * 6)) is None
    assert details_of(rule, make_record("a" + "-" * 4)) == {"value": 0.2, "threshold": 0.25}
    assert details_of(rule, make_record("")) == {"value": 0.0, "threshold": 0.25}
    assert details_of(rule, make_record(" \n\t\n")) == {"value": 0.0, "threshold": 0.25}


def test_xml_declaration_only_within_the_window_and_only_for_xml():
    rule = XmlDeclarationFilter(100)
    declaration = '<?xml version="1.0"?>\n<root/>'
    assert details_of(rule, make_record(declaration, "xml", "a.xml")) == {
        "value": 0, "threshold": 100}
    # the 14 characters of "<?xml version=" must lie inside the first 100
    assert details_of(rule, make_record(" " * 86 + declaration, "xml", "a.xml")) == {
        "value": 86, "threshold": 100}
    assert details_of(rule, make_record(" " * 87 + declaration, "xml", "a.xml")) is None
    assert details_of(rule, make_record("<root><a/></root>", "xml", "a.xml")) is None
    assert not rule.applies_to(make_record(declaration, "xslt", "a.xsl"))


def html_page(visible_chars: int, markup_chars: int) -> str:
    """A page with exactly ``visible_chars`` of visible text and ``markup_chars`` of the rest."""
    opening, closing = "<p>", "</p>"
    padding = markup_chars - len(opening) - len(closing) - len("<!---->")
    assert padding >= 0
    return f"<!--{'c' * padding}-->{opening}{'t' * visible_chars}{closing}"


def test_html_visible_text_at_below_and_above_thresholds():
    rule = HtmlVisibleTextFilter(0.2, 100)

    def check(visible, markup):
        record = make_record(html_page(visible, markup), "html", "index.html")
        assert html_visible_text_length(record["content"]) == visible
        return details_of(rule, record)

    assert check(100, 400) is None  # 100 characters, exactly 20%
    assert check(101, 400) is None
    assert check(99, 396) == {"visible_chars": 99, "visible_fraction": 0.2,
                              "min_chars": 100, "min_fraction": 0.2}
    assert check(200, 801) == {"visible_chars": 200, "visible_fraction": 200 / 1001,
                               "min_chars": 100, "min_fraction": 0.2}
    assert check(300, 100) is None
    assert details_of(rule, make_record("", "html", "empty.html"))["visible_chars"] == 0
    assert not rule.applies_to(make_record("<p>x</p>", "xml", "a.xml"))


def test_html_rule_does_not_count_scripts_styles_or_comments():
    text = "t" * 150
    page = f"<html><script>{'s' * 300}</script><style>{'y' * 300}</style><!--{'c' * 300}-->" \
           f"<p>{text}</p></html>"
    details = details_of(HtmlVisibleTextFilter(0.2, 100), make_record(page, "html", "a.html"))
    assert details["visible_chars"] == 150 and details["visible_fraction"] < 0.2


def test_data_file_size_window_for_json_and_yaml_only():
    rule = DataFileSizeFilter(50, 5000, ("json", "yaml"))

    def check(size, language="json"):
        return details_of(rule, make_record("x" * size, language, f"data.{language}"))

    assert check(49) == {"value": 49, "min": 50, "max": 5000}
    assert check(50) is None
    assert check(5000, "yaml") is None
    assert check(5001, "yaml") == {"value": 5001, "min": 50, "max": 5000}
    assert not rule.applies_to(make_record("x" * 10, "python"))


@pytest.mark.parametrize("path, value", [
    ("node_modules/lodash/index.js", "node_modules/"),
    ("web/node_modules/@scope/pkg/lib/a.js", "node_modules/"),
    ("vendor/github.com/pkg/errors/errors.go", "vendor/"),
    ("app/Vendor/AFNetworking/AFHTTPClient.m", "Vendor/"),
    ("static/vendors/chart/chart.js", "vendors/"),
    ("third_party/abseil/strings.cc", "third_party/"),
    ("lib/third-party/x.c", "third-party/"),
    ("deps/3rdparty/zlib/inflate.c", "3rdparty/"),
    ("bower_components/angular/angular.js", "bower_components/"),
    ("venv/lib/python3.11/site-packages/six.py", "site-packages/"),
    (".venv/bin/activate_this.py", ".venv/"),
    (".yarn/releases/yarn-3.6.0.cjs", ".yarn/"),
    ("Pods/Alamofire/Source/Request.swift", "Pods/"),
    ("android/gradle/wrapper/gradle-wrapper.properties", "gradle/wrapper/"),
])
def test_vendored_directories(path, value):
    assert VendoredFilter().violation(make_record("x = 1\n", path=path)) == {
        "rule": "directory", "value": value}


@pytest.mark.parametrize("path", [
    "static/js/app.min.js", "css/site-min.css", "js/jquery.js", "js/jquery-3.6.0.js",
    "js/jquery-ui.css", "assets/bootstrap.bundle.js", "js/modernizr-2.8.3.js", "gradlew",
    "android/gradlew.bat", "mvnw", "build-aux/config.guess", "m4/libtool.m4",
])
def test_vendored_files(path):
    name = path.rpartition("/")[2]
    assert VendoredFilter().violation(make_record("x = 1\n", path=path)) == {
        "rule": "file", "value": name}


@pytest.mark.parametrize("path", [
    "src/vendor.py",  # a file, not a directory, named vendor
    "shop/vendors_list/views.py", "deploy/pods/nginx.yaml",  # Pods only at the root
    "lib/minimal.js", "js/jquery.myplugin.js", "src/admin.js", "dist/app.js",
    "external/lib.c", "types/index.d.ts", "node_modules",
    "src/pip/_vendor/requests/api.py",  # left to dedup (see VENDORED_PATHS)
])
def test_not_vendored(path):
    assert VendoredFilter().violation(make_record("x = 1\n", path=path)) is None


@pytest.mark.parametrize("path", [
    "package-lock.json", "web/yarn.lock", "Cargo.lock", "poetry.lock", "Gemfile.lock",
    "api/user_pb2.py", "api/user_pb2_grpc.py", "api/user.pb.go", "proto/user.pb.cc",
    "proto/user.pb.h", "Forms/Main.Designer.cs", "lib/model.g.dart",
    "pkg/apis/v1/zz_generated.deepcopy.go", "dist/app.js.map", "src/__generated__/Query.graphql.ts",
])
def test_generated_by_path(path):
    details = GeneratedFilter(1000).violation(make_record("x = 1\n", path=path))
    assert details is not None and details["rule"] in ("file", "directory")


@pytest.mark.parametrize("header, language", [
    ("// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: user.proto\n", "go"),
    ("# -*- coding: utf-8 -*-\n# Generated by the protocol buffer compiler.  DO NOT EDIT!\n",
     "python"),
    (("//------------------------------------------------------------------------------\n"
      "// <auto-generated>\n//     This code was generated by a tool.\n"), "c-sharp"),
    ("# Generated by Django 4.2.1 on 2023-05-04 10:00\n\nfrom django.db import migrations\n",
     "python"),
    ("/**\n * @generated SignedSource<<abc>>\n */\n", "javascript"),
    ("/* Autogenerated by Thrift Compiler (0.9.3) */\n", "java"),
    ("<!-- Generated by Doxygen 1.9.1 -->\n<html>\n", "html"),
    ("/*\n * This file is automatically generated; do not modify.\n */\n", "c"),
    (("#!/bin/sh\n# Guess values for system-dependent variables and create Makefiles.\n"
      "# Generated by GNU Autoconf 2.71.\n"), "shell"),
])
def test_generated_by_header_banner(header, language):
    record = make_record(header + "int main() { return 0; }\n" * 5, language)
    details = GeneratedFilter(1000).violation(record)
    assert details is not None and details["rule"] == "header" and details["threshold"] == 1000


@pytest.mark.parametrize("header", [
    '"""Values generated by the RNG are uniform in [0, 1)."""\n',  # a docstring
    "# Values generated by the RNG are uniform in [0, 1).\n",  # a comment, not a banner
    "ident = next_id()  # auto-generated id, do not edit\n",  # a trailing comment
    'BANNER = "Code generated by mytool. DO NOT EDIT."\n',  # a string the code writes
    "# This module generates code from templates.\n",
])
def test_not_generated_by_ordinary_text(header):
    record = make_record(header + "def f():\n    return 1\n")
    assert GeneratedFilter(1000).violation(record) is None


def test_generated_banner_counts_only_within_the_header_window():
    banner = "// Code generated by stringer. DO NOT EDIT.\n"
    body = "package main\n" + "var x = 1\n" * 10
    inside = make_record(body + banner, "go", "main.go")
    window = len(body) + len("// Code generated")
    assert GeneratedFilter(window).violation(inside)["line"] == 12
    assert GeneratedFilter(len(body)).violation(inside) is None
    deep = make_record(body * 200 + banner, "go", "main.go")  # past the default 1000
    assert GeneratedFilter(CONFIG.generated_header_chars).violation(deep) is None


def test_kept_record_without_text_is_a_clear_error():
    with pytest.raises(TypeError, match="acme/widgets.*src/main.py.*NoneType"):
        AlphanumericFractionFilter(0.25).violation(make_record(None))


# --- stage ----------------------------------------------------------------------------------

def test_quality_filters_order_and_switches():
    names = [type(rule).__name__ for rule in quality_filters(CONFIG)]
    assert names == ["VendoredFilter", "GeneratedFilter", "XmlDeclarationFilter",
                     "DataFileSizeFilter", "HtmlVisibleTextFilter", "MaxLineLengthFilter",
                     "MeanLineLengthFilter", "AlphanumericFractionFilter"]
    off = dataclasses.replace(CONFIG, drop_vendored=False, drop_generated=False)
    assert [type(rule).__name__ for rule in quality_filters(off)] == names[2:]
    reasons = {rule.reason for rule in quality_filters(CONFIG)}
    assert len(reasons) == len(names)


def test_first_violated_rule_wins_and_its_details_are_recorded():
    long_symbols = "-" * 2000  # too long a line and too few alphanumerics
    records = [
        make_record(long_symbols, path="node_modules/x/index.js", language="javascript"),
        make_record(long_symbols, path="src/a.py"),
        make_record("-" * 90 + "\nab\n", path="src/b.py"),
        make_record('<?xml version="1.0"?>' + "<a>text</a>" * 3, "xml", "pom.xml"),
        make_record('{"a": 1}\n', "json", "config.json"),  # too small, and few alphanumerics
        make_record("def f():\n    return 1\n", path="src/ok.py"),
    ]
    out, counters = run_stage(QualityStage(CONFIG), records)
    assert [r["reason"] for r in out] == [
        "vendored", "max_line_length", "alphanumeric_fraction", "xml_declaration",
        "data_file_size", None]
    assert {r["stage"] for r in out[:5]} == {"quality"} and out[5]["stage"] is None
    assert json.loads(out[1]["details"]) == {"threshold": 1000, "value": 2000}
    assert json.loads(out[0]["details"]) == {"rule": "directory", "value": "node_modules/"}
    assert json.loads(out[4]["details"]) == {"max": 5000, "min": 50, "value": 9}
    assert out[5] == records[5]
    assert counters.records_in == 6 and counters.kept == 1
    assert counters.kept + sum(counters.excluded.values()) == counters.records_in


def test_stage_passes_already_excluded_records_unchanged():
    earlier = exclude(make_record("-" * 2000, path="src/gpl.py"), Reason.NON_PERMISSIVE,
                      "licenses", license="GPL-3.0-only")
    fresh = make_record("-" * 2000, path="src/mit.py")
    out, counters = run_stage(QualityStage(CONFIG), [earlier, fresh])
    assert out[0] == earlier
    assert out[1]["reason"] == Reason.MAX_LINE_LENGTH.value
    assert counters.to_dict()["excluded"] == {"license_non_permissive": 1, "max_line_length": 1}


def synthetic_corpus(count: int, seed: int) -> list[dict]:
    generator = random.Random(seed)
    kinds = [
        ("python", "pkg/mod{}.py", lambda: "def f(x):\n    return x + 1\n" * generator.randrange(1, 50)),
        ("javascript", "web/node_modules/m{}/i.js", lambda: "module.exports = 1;\n"),
        ("json", "data/d{}.json", lambda: '{"k": ' + "1" * generator.randrange(0, 8000) + "}"),
        ("html", "site/p{}.html", lambda: random_page(generator)),
        ("markdown", "docs/d{}.md", lambda: "word " * generator.randrange(10, 400)),
        ("go", "x/g{}.go", lambda: "// Code generated by x. DO NOT EDIT.\npackage x\n"),
        ("c", "src/c{}.c", lambda: "/*" + "*" * generator.randrange(10, 300) + "*/\n"),
    ]
    records = []
    for index in range(count):
        language, path, make = generator.choice(kinds)
        records.append(make_record(make(), language, path.format(index)))
    return records


def test_stage_is_deterministic_and_accounts_for_every_record():
    records = synthetic_corpus(400, seed=3)
    first, counters = run_stage(QualityStage(CONFIG), records)
    second, _ = run_stage(QualityStage(CONFIG), [dict(r) for r in records])
    assert to_batch(first).to_pylist() == to_batch(second).to_pylist()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, to_batch(first).schema) as writer:
        writer.write_batch(to_batch(first))
    again = pa.BufferOutputStream()
    with pa.ipc.new_stream(again, to_batch(second).schema) as writer:
        writer.write_batch(to_batch(second))
    assert sink.getvalue().to_pybytes() == again.getvalue().to_pybytes()
    assert [r["id"] for r in first] == [r["id"] for r in records]
    assert counters.records_in == len(records)
    assert counters.kept + sum(counters.excluded.values()) == len(records)
    assert counters.kept > 0 and len(counters.excluded) >= 4


def test_stage_over_arrow_batches_matches_record_processing():
    records = synthetic_corpus(120, seed=5)
    stage = QualityStage(CONFIG)
    from_batches = [row for batch in stage.process_batches([to_batch(records)])
                    for row in batch.to_pylist()]
    assert from_batches == to_batch(stage.process(records)).to_pylist()

"""The real-code recall set (pii/realset.py) on a fake sdist built here: no download."""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from pii.entities import EMAIL, NAME, USERNAME, Span
from pii.realset import (Occurrence, Value, file_kind, find_occurrences, metadata_values,
                         person_names, read_package, score_occurrences, summarise)

PKG_INFO = """\
Metadata-Version: 2.1
Name: fake
Version: 1.0
Author: Ada Example; The Fake Developers
Author-email: Ada Example <ada@example.org>, "Bob Sample and others" <Bob.Sample@example.net>
Maintainer: UNKNOWN
Maintainer-email: Fake Team <team@example.com>, solo <solo@example.com>

Long description mentioning ada@example.org, not read as a header.
"""
INIT = '"""Fake."""\n__author__ = "Ada Example"\n__email__ = "ADA@example.org"\nada_example = 1\n'
README = "Fake\n====\n\nBy Ada Example and Bob Sample (bob.sample@example.net).\nada example\n"


def _sdist(tmp_path: Path) -> Path:
    """A fake sdist: PKG-INFO, a module, a README, a binary file and an AUTHORS file."""
    members = {"PKG-INFO": PKG_INFO.encode(), "fake/__init__.py": INIT.encode(),
               "README.rst": README.encode(), "fake/logo.png": b"\x89PNG\0\0Ada Example",
               "AUTHORS": b"Ada Example <ada@example.org>\n"}
    path = tmp_path / "fake-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"fake-1.0/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_metadata_values_split_people_and_skip_organisations():
    values, skipped = metadata_values(PKG_INFO)
    assert values == [Value(NAME, "Ada Example"), Value(NAME, "Bob Sample"),
                      Value(EMAIL, "ada@example.org"), Value(EMAIL, "Bob.Sample@example.net"),
                      Value(EMAIL, "team@example.com"), Value(EMAIL, "solo@example.com")]
    # "The Fake Developers", "others", "Fake Team"; "UNKNOWN", "solo"
    assert skipped == {"organisation": 3, "one_word": 2}


@pytest.mark.parametrize("field, names", [
    ("Eve Example, Mallory Sample", ["Eve Example", "Mallory Sample"]),
    ("Eve Example & Mallory O'Sample-Test", ["Eve Example", "Mallory O'Sample-Test"]),
    ("Eve R. Example", ["Eve R. Example"]),
    ("Acme Widgets Inc.", []), ("Python Packaging Authority", []), ("John Doe", []),
    ("eve2000 example", []), ("", []),
])
def test_person_names(field, names):
    assert person_names(field)[0] == names


def test_find_occurrences_offsets_and_case():
    values = [Value(NAME, "Ada Example"), Value(EMAIL, "ada@example.org")]
    found = find_occurrences(INIT, values)
    assert [(o.label, INIT[o.start:o.end]) for o in found] == [
        (NAME, "Ada Example"), (EMAIL, "ADA@example.org")]  # not in ada_example
    text = "Ada Examples; xada@example.org; ada@example.org.uk; ada example; ada@example.org."
    assert [text[o.start:o.end] for o in find_occurrences(text, values)] == ["ada@example.org"]


def test_read_package_reads_like_the_build(tmp_path):
    package = read_package(_sdist(tmp_path), "pypi/fake")
    assert [v.text for v in package.values if v.label == NAME] == ["Ada Example", "Bob Sample"]
    # PKG-INFO and AUTHORS have no language, the logo is binary: left out as in a build.
    assert package.skipped_files == {"unsupported_language": 2, "binary": 1}
    assert package.kept_files == 2
    by_path = {f["path"]: f for f in package.files}
    assert set(by_path) == {"README.rst", "fake/__init__.py"}
    readme = by_path["README.rst"]
    assert (readme["language"], readme["kind"]) == ("restructuredtext", "readme")
    assert by_path["fake/__init__.py"]["kind"] == "source"
    assert [(o.label, README[o.start:o.end]) for o in readme["occurrences"]] == [
        (NAME, "Ada Example"), (NAME, "Bob Sample"), (EMAIL, "bob.sample@example.net")]


@pytest.mark.parametrize("path, language, kind", [
    ("AUTHORS.rst", "restructuredtext", "authors"), ("docs/changelog.md", "markdown", "changelog"),
    ("CHANGES.rst", "restructuredtext", "changelog"), ("LICENSE.txt", None, "license"),
    ("pyproject.toml", "toml", "metadata"), ("docs/conf.py", "python", "docs"),
    ("tests/test_x.py", "python", "tests"), ("src/pkg/core.py", "python", "source"),
])
def test_file_kind(path, language, kind):
    assert file_kind(path, language) == kind


def test_score_needs_every_character_covered_by_the_same_entity():
    occurrences = [Occurrence(0, 11, NAME, "Ada Example"), Occurrence(20, 35, EMAIL, "x"),
                   Occurrence(40, 51, NAME, "Ada Example"), Occurrence(60, 71, NAME, "x")]
    spans = [Span(0, 3, NAME), Span(4, 11, NAME),  # a gap at 3: not covered
             Span(20, 28, EMAIL), Span(28, 40, EMAIL),  # two adjacent spans cover it
             Span(38, 51, USERNAME),  # a wider span of another label
             Span(60, 70, NAME)]  # one character short
    assert score_occurrences(occurrences, spans) == [
        (False, False, True), (True, True, True), (False, True, False), (False, False, True)]
    assert score_occurrences(occurrences[:1], [Span(20, 35, NAME)]) == [(False, False, False)]


def test_summarise_micro_and_macro():
    def hit(package, label, found, kind="source", touched=False):
        return {"package": package, "kind": kind, "language": "python", "label": label,
                "found": found, "covered_any": found, "touched": found or touched}

    hits = ([hit("a", NAME, True)] * 3 + [hit("a", NAME, False, "docs", touched=True)]
            + [hit("b", NAME, False)] + [hit("a", EMAIL, True)])
    summary = summarise(hits)
    assert summary[NAME]["occurrences"] == 5 and summary[NAME]["found"] == 3
    assert summary[NAME]["recall"] == pytest.approx(3 / 5)
    assert summary[NAME]["macro_recall"] == pytest.approx((3 / 4 + 0) / 2)
    assert summary[NAME]["packages"] == 2
    assert summary[NAME]["by_kind"]["docs"]["recall"] == 0
    assert summary[NAME]["found_in_part"] == 1
    assert summary[EMAIL]["recall"] == 1 and summary[EMAIL]["packages"] == 1

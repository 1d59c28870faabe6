"""Licence detection, resolution, policy and scan, with the real ScanCode index.

Every licence text comes from ScanCode's installed licence database at run time.
"""
from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import stat
import tarfile
import zipfile

import pytest

from licenses.detect import LicenseDetector, get_detector, normalise_license_text
from licenses.files import is_license_file, is_notice_file
from licenses.policy import CATEGORY_CLASSES, LicensePolicyStage, classify, permissive_ids
from licenses.resolve import assign_licenses, decide_directory, resolve_directory
from licenses.scan import scan_path
from pipeline.config import LicenseConfig
from pipeline.reasons import Reason
from pipeline.schema import new_record
from pipeline.runner import run_stage

CONFIG = LicenseConfig()


@pytest.fixture(scope="module")
def detector() -> LicenseDetector:
    """The process-wide detector: ScanCode's index loads once for the module."""
    return get_detector()


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    from licensedcode.cache import get_licenses_db

    db = get_licenses_db()
    return {key: db[key].text for key in ("mit", "gpl-2.0", "gpl-3.0", "apache-2.0", "bsd-new",
                                          "bsd-simplified", "python", "psf-2.0")}


def with_copyright(text: str, holder: str = "Example Corp") -> str:
    return f"Copyright (c) 2024 {holder}\n\n{text}"


# --- licence file names -------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "LICENSE", "LICENCE", "license.txt", "LICENSE.md", "sub/dir/COPYING", "COPYING.LESSER",
    "COPYING3", "NOTICE", "NOTICE.txt", "UNLICENSE", "COPYRIGHT", "copyright.rst",
    "LICENSE-MIT", "LICENSE_APACHE", "MIT-LICENSE", "dmp.py.LICENSE", "LICENSES",
    "THIRD-PARTY-NOTICES.txt", "ThirdPartyNoticeText.txt", "LICENSE-APACHE-2.0.txt",
    "LICENSE.BSD", "COPYING.v3", "icon_LICENSE.md",
])
def test_license_file_names(path):
    assert is_license_file(path)


@pytest.mark.parametrize("path", [
    "license.py", "licenses.json", "src/license_checker.go", "README.md", "licensed.txt",
    "noticeboard.md", "LICENSE/", "setup.py", "copyright_utils.js",
    "docs/userguide/license_migration.rst", "license-checker.txt", "LICENSE_header_template",
])
def test_not_license_file_names(path):
    assert not is_license_file(path)


def test_notice_files_are_second_rank():
    assert is_notice_file("NOTICE")
    assert is_notice_file("a/NOTICE.md")
    assert is_notice_file("LICENSES_bundled.txt")
    assert is_notice_file("THIRD-PARTY-NOTICES.txt")
    assert not is_notice_file("LICENSE")
    assert not is_notice_file("COPYING")
    assert not is_notice_file("setup.py")


# --- policy -------------------------------------------------------------------------------

@pytest.mark.parametrize("expression,expected", [
    ("MIT", "permissive"),
    ("mit", "permissive"),
    ("Apache-2.0 AND BSD-3-Clause", "permissive"),
    ("MIT AND GPL-2.0-only", "non_permissive"),
    ("MIT OR GPL-2.0-only", "permissive"),
    ("(MIT AND GPL-3.0-only) OR Apache-2.0", "permissive"),
    ("(MIT AND GPL-3.0-only) OR LGPL-2.1-only", "non_permissive"),
    ("GPL-2.0-only WITH Classpath-exception-2.0", "non_permissive"),
    ("Apache-2.0 WITH LLVM-exception", "permissive"),
    ("MPL-2.0", "non_permissive"),
    ("Artistic-2.0", "non_permissive"),
    ("Python-2.0 AND 0BSD", "permissive"),
    ("Made-Up-License-1.0", "non_permissive"),
    ("MIT License", "non_permissive"),  # not an SPDX id
    ("(MIT", "non_permissive"),  # does not parse
    ("LicenseRef-scancode-unknown-license-reference", "non_permissive"),
    ("MIT AND LicenseRef-scancode-generic-cla", "permissive"),
    ("LicenseRef-scancode-warranty-disclaimer", "no_license"),
    (None, "no_license"),
    ("", "no_license"),
    ("  ", "no_license"),
])
def test_classify(expression, expected):
    assert classify(expression) == expected


def test_allow_list_sources():
    ids = permissive_ids()
    for spdx in ("mit", "apache-2.0", "bsd-3-clause", "isc", "0bsd", "psf-2.0", "python-2.0",
                 "zlib", "unlicense", "cc0-1.0", "blueoak-1.0.0", "wtfpl", "hpnd"):
        assert spdx in ids
    for copyleft in ("gpl-2.0-only", "lgpl-2.1-only", "agpl-3.0-only", "mpl-2.0",
                     "epl-2.0", "artistic-2.0", "cc-by-sa-4.0"):
        assert copyleft not in ids


@pytest.mark.parametrize("category", sorted(CATEGORY_CLASSES))
def test_an_id_outside_the_allow_list_takes_the_class_of_its_scancode_category(category):
    from licensedcode.cache import get_licenses_db

    outside = sorted(key for key, licence in get_licenses_db().items()
                     if licence.category == category
                     and f"licenseref-scancode-{key}" not in permissive_ids()
                     and (licence.spdx_license_key or "").lower() not in permissive_ids())
    assert outside, f"ScanCode has no licence of category {category} outside the allow-list"
    for key in outside[:3]:
        assert classify(f"LicenseRef-scancode-{key}") == CATEGORY_CLASSES[category]
        assert classify(f"MIT AND LicenseRef-scancode-{key}") == CATEGORY_CLASSES[category]
    assert set(CATEGORY_CLASSES) >= {licence.category for licence in get_licenses_db().values()}


@pytest.mark.parametrize("expression", ["LicenseRef-scancode-other-permissive", "Python-2.0.1",
                                        "LicenseRef-scancode-public-domain-disclaimer"])
def test_ids_scancode_calls_permissive_are_kept(expression):
    assert classify(expression) == "permissive"


def test_policy_stage_excludes_with_reasons():
    records = [
        new_record(id=str(n), kind="file", repo="o/r", path=f"f{n}.py", license=license_,
                   license_class=license_class, license_source=source)
        for n, (license_, license_class, source) in enumerate([
            ("MIT", "permissive", "LICENSE"),
            ("GPL-2.0-only", "non_permissive", "COPYING"),
            (None, "no_license", None),
        ])
    ]
    out, counters = run_stage(LicensePolicyStage(CONFIG), records)
    assert [r["reason"] for r in out] == [
        None, Reason.NON_PERMISSIVE.value, Reason.NO_LICENSE.value]
    assert all(r["stage"] == "licenses" for r in out[1:])
    assert json.loads(out[1]["details"]) == {"license": "GPL-2.0-only", "license_source": "COPYING"}
    assert counters.kept == 1 and counters.records_in == 3

    keep_all = LicenseConfig(keep_classes=("permissive", "no_license", "non_permissive"))
    out, _ = run_stage(LicensePolicyStage(keep_all), records)
    assert all(r["reason"] is None for r in out)


# --- detection and its cache --------------------------------------------------------------

def test_normalisation_drops_copyright_lines_only():
    text = ("Copyright (c) 2020 Alice\n(c) 2021 Bob\nAuthors: Carol\n\n\nPermission is granted.\n"
            "Copyright [yyyy] [name of copyright owner]\n"
            "Copyright (C) 1989, 1991 Free Software Foundation, Inc.\n"
            "Copyright 2019 Google LLC. Licensed under the Apache License, Version 2.0\n"
            "(c) You must retain all notices\n")
    normalised = normalise_license_text(text)
    assert normalised.text.split("\n") == [
        "Permission is granted.",
        "Copyright [yyyy] [name of copyright owner]",
        "Copyright (C) 1989, 1991 Free Software Foundation, Inc.",
        "Copyright 2019 Google LLC. Licensed under the Apache License, Version 2.0",
        "(c) You must retain all notices",
    ]
    assert normalised.source_lines == (6, 7, 8, 9, 10)


def test_detects_full_text_with_original_lines(detector, texts):
    detection = detector.detect(with_copyright(texts["mit"]))
    assert detection.expression == "MIT"
    [match] = detection.matches
    assert (match.rule_kind, match.score, match.coverage) == ("text", 100.0, 100.0)
    assert match.matched_length > 100
    assert match.start_line == 3  # after the copyright line and the blank line
    assert match.end_line == 2 + len(texts["mit"].strip().splitlines())


def test_cache_hit_for_same_text_with_another_copyright(texts):
    cached = LicenseDetector()
    first = cached.detect(with_copyright(texts["bsd-new"], "Alice"))
    second = cached.detect(with_copyright(texts["bsd-new"], "Bob and Carol, 2001-2024"))
    assert cached.cache_info() == {"hits": 1, "misses": 1, "entries": 1}
    assert first == second
    assert first.expression == "BSD-3-Clause"

    uncached = LicenseDetector(use_cache=False)
    uncached.detect(with_copyright(texts["bsd-new"], "Alice"))
    assert uncached.detect(with_copyright(texts["bsd-new"], "Bob")) == first
    assert uncached.cache_info() == {"hits": 0, "misses": 2, "entries": 0}


def test_cache_is_bounded(texts):
    small = LicenseDetector(cache_entries=1)
    small.detect(texts["mit"])
    small.detect(texts["bsd-new"])
    small.detect(texts["mit"])
    assert small.cache_info() == {"hits": 0, "misses": 3, "entries": 1}


def test_empty_text_has_no_licence(detector):
    detection = detector.detect("Copyright (c) 2024 Nobody\n\n")
    assert detection.expression is None and detection.matches == ()


# --- resolution of one directory ----------------------------------------------------------

def test_text_outweighs_mentions_in_a_psf_style_licence(detector, texts):
    history = (
        "\nRelease history\n\n"
        "    Release   Derived from   Year   Owner   GPL-compatible? (1)\n"
        "    1.0       0.9            2001   Foo     yes\n"
        "    1.1       1.0            2002   Foo     no\n\n"
        "(1) GPL-compatible doesn't mean that we're distributing this software under\n"
        "    the GPL. All licenses here are GPL-compatible: they allow you to distribute\n"
        "    a modified version without making your changes open source.\n"
    )
    detection = detector.detect(with_copyright(texts["mit"]) + history)
    assert "GPL" in detection.expression  # ScanCode reports the mentions ...
    decision = decide_directory({"LICENSE": detection}, CONFIG)
    assert (decision.expression, decision.license_class) == ("MIT", "permissive")  # ... we do not


def test_python_licence_text_with_its_gpl_table_is_permissive(detector, texts):
    decision = resolve_directory({"LICENSE": texts["python"]}, detector, CONFIG)
    assert decision.license_class == "permissive"
    assert "GPL" not in decision.expression


def test_distinct_full_texts_combine_with_and(detector, texts):
    decision = resolve_directory(
        {"LICENSE": with_copyright(texts["mit"]), "COPYING": texts["gpl-2.0"]}, detector, CONFIG)
    assert decision.expression == "GPL-2.0-only AND MIT"
    assert decision.license_class == "non_permissive"
    assert decision.files == ("COPYING", "LICENSE")


def test_dual_licence_or_statement_is_permissive(detector, texts):
    statement = "Dual licensed under the MIT or GPL Version 2 licenses.\n\n"
    decision = resolve_directory(
        {"LICENSE": statement + with_copyright(texts["mit"]), "COPYING": texts["gpl-2.0"]},
        detector, CONFIG)
    assert decision.expression == "GPL-2.0-only OR MIT"
    assert decision.license_class == "permissive"


def test_notice_file_decides_only_when_nothing_else_does(detector, texts):
    apache_notice = ('Licensed under the Apache License, Version 2.0 (the "License"); you may not '
                     "use this file except in compliance with the License. You may obtain a copy "
                     "of the License at\n\n    http://www.apache.org/licenses/LICENSE-2.0\n")
    alone = resolve_directory({"NOTICE": apache_notice}, detector, CONFIG)
    assert (alone.expression, alone.license_class, alone.files) == (
        "Apache-2.0", "permissive", ("NOTICE",))

    bundled = ("This product bundles libfoo, which is available under the GNU General Public "
               "License version 2.\n")
    assert detector.detect(bundled).expression == "GPL-2.0-only"
    beside = resolve_directory({"NOTICE": bundled, "LICENSE": texts["mit"]}, detector, CONFIG)
    assert (beside.expression, beside.files) == ("MIT", ("LICENSE",))


def test_reference_only_files(detector, texts):
    reference = "See LICENSE file for details.\n"
    assert detector.detect(reference).expression == "LicenseRef-scancode-unknown-license-reference"
    alone = resolve_directory({"COPYING": reference}, detector, CONFIG)
    assert alone.license_class == "non_permissive"  # a pointer to nothing known: not permissive
    beside = resolve_directory({"COPYING": reference, "LICENSE": texts["mit"]}, detector, CONFIG)
    assert (beside.expression, beside.license_class, beside.files) == (
        "MIT", "permissive", ("LICENSE",))
    tag = resolve_directory({"LICENSE": "License: MIT\n"}, detector, CONFIG)
    assert (tag.expression, tag.license_class) == ("MIT", "permissive")


def test_a_disclaimer_does_not_outweigh_a_licence_reference(detector, texts):
    disclaimer = texts["mit"][texts["mit"].upper().index("THE SOFTWARE IS PROVIDED"):]
    text = "This software is released under the MIT license.\n\n" + disclaimer
    kinds = {(m.license, m.rule_kind) for m in detector.detect(text).matches}
    assert ("MIT", "reference") in kinds
    assert ("LicenseRef-scancode-warranty-disclaimer", "text") in kinds
    decision = resolve_directory({"LICENSE": text}, detector, CONFIG)
    assert (decision.expression, decision.license_class) == ("MIT", "permissive")


def test_low_score_partial_match_is_ignored(detector, texts):
    lines = texts["apache-2.0"].splitlines()
    middle = "\n".join(lines[len(lines) * 3 // 10: len(lines) * 7 // 10])
    detection = detector.detect(with_copyright(texts["mit"]) + "\n\n" + middle)
    low = [m for m in detection.matches if m.score < CONFIG.min_match_score]
    assert low and any(classify(m.license) == "non_permissive" for m in low)
    for config in (CONFIG, dataclasses.replace(CONFIG, min_match_coverage=0.0)):
        decision = decide_directory({"LICENSE": detection}, config)
        assert all(classify(part) == "permissive" for part in decision.expression.split(" AND "))
        assert decision.license_class == "permissive"
    no_bounds = dataclasses.replace(CONFIG, min_match_score=0.0, min_match_coverage=0.0)
    assert decide_directory({"LICENSE": detection}, no_bounds).license_class == "non_permissive"


def test_no_licence_files_decide_nothing(detector):
    decision = resolve_directory({"COPYRIGHT": "Copyright (c) 2024 Somebody\n"}, detector, CONFIG)
    assert (decision.expression, decision.license_class, decision.files) == (None, "no_license", ())


# --- assignment to every file of a repository ---------------------------------------------

def records_for(paths: list[str]) -> list[dict]:
    return [new_record(id=path, kind="file", repo="o/r", path=path) for path in paths]


def test_nearest_enclosing_directory_decides(detector, texts):
    records = records_for(["setup.py", "LICENSE", "pkg/mod.py", "vendor/gpl/lib.c",
                           "vendor/gpl/deep/er/x.h", "vendor/other.c", "vendor/gpl/NOTICE"])
    license_files = {
        "LICENSE": with_copyright(texts["mit"]),
        "vendor/gpl/COPYING": texts["gpl-2.0"],
        "vendor/gpl/NOTICE": "Built with care.\n",  # decides nothing
        "vendor/empty/LICENSE": "Copyright (c) 2024 Nobody\n",  # decides nothing
    }
    out = assign_licenses(records, license_files, None, detector, CONFIG)
    got = {r["path"]: (r["license"], r["license_class"], r["license_source"]) for r in out}
    mit = ("MIT", "permissive", "LICENSE")
    gpl = ("GPL-2.0-only", "non_permissive", "vendor/gpl/COPYING")
    assert got == {
        "setup.py": mit, "LICENSE": mit, "pkg/mod.py": mit, "vendor/other.c": mit,
        "vendor/gpl/lib.c": gpl, "vendor/gpl/deep/er/x.h": gpl, "vendor/gpl/NOTICE": gpl,
    }
    assert out == assign_licenses(records, license_files, None, detector, CONFIG)  # deterministic
    assert records[0]["license"] is None  # inputs are not changed


def test_files_without_any_licence(detector):
    out = assign_licenses(records_for(["a.py", "b/c.py"]), {}, None, detector, CONFIG)
    assert {(r["license"], r["license_class"], r["license_source"]) for r in out} == {
        (None, "no_license", None)}


def test_metadata_licence_wins(detector, texts):
    records = records_for(["a.py", "sub/b.py"])
    license_files = {"LICENSE": texts["mit"], "sub/COPYING": texts["gpl-2.0"]}
    out = assign_licenses(records, license_files, "Apache-2.0", detector, CONFIG)
    assert {(r["license"], r["license_class"], r["license_source"]) for r in out} == {
        ("Apache-2.0", "permissive", "metadata")}
    copyleft = assign_licenses(records, license_files, "AGPL-3.0-only", detector, CONFIG)
    assert {r["license_class"] for r in copyleft} == {"non_permissive"}
    no_assertion = assign_licenses(records, license_files, "NOASSERTION", detector, CONFIG)
    assert [r["license_source"] for r in no_assertion] == ["LICENSE", "sub/COPYING"]


# --- scan ---------------------------------------------------------------------------------

def test_scan_a_file(tmp_path, detector, texts):
    path = tmp_path / "LICENSE.txt"
    path.write_text(with_copyright(texts["bsd-new"]), encoding="utf-8")
    result = scan_path(str(path), detector)
    assert result == {
        "path": str(path), "license": "BSD-3-Clause", "license_class": "permissive",
        "basis": "license_files", "files": ["LICENSE.txt"], "details": {},
        "detections": [{"path": "LICENSE.txt", "detected": "BSD-3-Clause"}], "manifests": [],
    }
    assert json.loads(json.dumps(result)) == result


def test_scan_a_directory_reads_root_licence_files_only(tmp_path, detector, texts):
    (tmp_path / "LICENSE").write_text(texts["mit"], encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "COPYING").write_text(texts["gpl-2.0"], encoding="utf-8")
    outside = tmp_path.parent / f"{tmp_path.name}-outside-COPYING"
    outside.write_text(texts["gpl-2.0"], encoding="utf-8")
    os.symlink(outside, tmp_path / "COPYING")  # a link: never followed
    (tmp_path / "README.md").write_text("Licensed under the GPL.\n", encoding="utf-8")
    result = scan_path(str(tmp_path), detector)
    assert (result["license"], result["license_class"]) == ("MIT", "permissive")
    assert result["files"] == ["LICENSE"]
    assert result["detections"] == [{"path": "COPYING", "error": "symlink"},
                                    {"path": "LICENSE", "detected": "MIT"}]


def add_tar_member(archive: tarfile.TarFile, name: str, text: str = "",
                   link_to: str | None = None) -> None:
    info = tarfile.TarInfo(name)
    data = text.encode("utf-8")
    if link_to is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link_to
        archive.addfile(info)
    else:
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("suffix", [".tar.gz", ".tgz"])
def test_scan_a_tarball_in_memory(tmp_path, detector, texts, suffix):
    path = tmp_path / f"pkg-1.0{suffix}"
    with tarfile.open(path, "w:gz") as archive:
        add_tar_member(archive, "pkg-1.0/LICENSE", with_copyright(texts["mit"]))
        add_tar_member(archive, "pkg-1.0/NOTICE", "Built with care.\n")
        add_tar_member(archive, "pkg-1.0/src/COPYING", texts["gpl-2.0"])  # not the root
        add_tar_member(archive, "pkg-1.0/COPYING", link_to="/etc/passwd")  # link: skipped
        add_tar_member(archive, "../COPYING", texts["gpl-2.0"])  # traversal: ignored
        add_tar_member(archive, "/LICENSE.GPL", texts["gpl-2.0"])  # absolute: ignored
    before = sorted(os.listdir(tmp_path))
    result = scan_path(str(path), detector)
    assert sorted(os.listdir(tmp_path)) == before  # nothing extracted
    assert (result["license"], result["license_class"]) == ("MIT", "permissive")
    assert result["files"] == ["LICENSE"]
    assert result["detections"] == [
        {"path": "COPYING", "error": "symlink"},
        {"path": "LICENSE", "detected": "MIT"},
        {"path": "NOTICE", "detected": None},
    ]


def test_scan_a_zip_without_top_directory(tmp_path, detector, texts):
    path = tmp_path / "repo.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("COPYING", texts["gpl-2.0"])
        archive.writestr("src/main.c", "int main(void) { return 0; }\n")
        link = zipfile.ZipInfo("LICENSE")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")  # a link: skipped
    result = scan_path(str(path), detector)
    assert (result["license"], result["license_class"]) == ("GPL-2.0-only", "non_permissive")
    assert result["files"] == ["COPYING"]
    assert result["detections"] == [{"path": "COPYING", "detected": "GPL-2.0-only"},
                                    {"path": "LICENSE", "error": "symlink"}]


def test_scan_oversized_licence_member_is_reported(tmp_path, detector, texts):
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("LICENSE", texts["mit"])
        archive.writestr("NOTICE", "x" * 2_000)
    result = scan_path(str(path), detector, LicenseConfig(max_license_file_bytes=1_500))
    assert result["license"] == "MIT"
    assert result["detections"][1] == {"path": "NOTICE", "error": "larger than 1500 bytes"}


def test_scan_unreadable_paths_give_errors(tmp_path, detector):
    missing = scan_path(str(tmp_path / "missing-LICENSE"), detector)
    assert set(missing) == {"path", "error"} and "No such file" in missing["error"]
    corrupt = tmp_path / "broken.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b not really gzip")
    assert "error" in scan_path(str(corrupt), detector)
    bad_zip = tmp_path / "broken.zip"
    bad_zip.write_bytes(b"PK\x03\x04 truncated")
    assert "error" in scan_path(str(bad_zip), detector)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(damaged, "w:gz") as archive:
        add_tar_member(archive, "pkg/LICENSE", "MIT License\n")
        add_tar_member(archive, "pkg/data.txt", random.Random(0).randbytes(200_000).hex())
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])  # truncated download
    assert "EOFError" in scan_path(str(damaged), detector)["error"]
    flipped = bytearray(whole)
    flipped[len(whole) // 2] ^= 0xFF  # one damaged byte
    damaged.write_bytes(bytes(flipped))
    assert "error" in scan_path(str(damaged), detector)
    binary = tmp_path / "LICENSE"
    binary.write_bytes(b"\x00\x01\x02binary")
    assert "binary" in scan_path(str(binary), detector)["error"]

"""Package manifests as licence statements, the agreement leak, and `curate licenses scan
--explain`, with the real ScanCode index.

Every licence text comes from ScanCode's installed licence database at run time; the
terms-of-service text is generated here, in our own words.
"""
from __future__ import annotations

import json

import pytest

from jobs.cli import main
from licenses.detect import parse_spdx
from licenses.manifests import PROPRIETARY, declarations, is_manifest
from licenses.policy import classify, names_unfree_terms, scancode_categories
from licenses.resolve import (MENTION, STATEMENT, assign_licenses, match_roles,
                              resolve_directory)
from licenses.scan import format_explanation, scan_path
from pipeline.config import LicenseConfig
from pipeline.schema import new_record
from test_licenses import detector, texts  # noqa: F401  (ScanCode's detector, licence texts)

CONFIG = LicenseConfig()


# --- reading manifests (pure) -------------------------------------------------------------

def declared(path: str, text: str) -> list[tuple[str, str, str | None]]:
    return [(d.field, d.value, d.file) for d in declarations(path, text)]


def test_manifest_names():
    for path in ("package.json", "a/pyproject.toml", "PKG-INFO", "x.dist-info/METADATA",
                 "crates/c/Cargo.toml"):
        assert is_manifest(path)
    for path in ("package-lock.json", "setup.cfg", "LICENSE", "metadata.json", "cargo.lock"):
        assert not is_manifest(path)


@pytest.mark.parametrize("text,expected", [
    ('{"license": "MIT"}', [("license", "MIT", None)]),
    ('{"license": "(ISC OR GPL-3.0)"}', [("license", "(ISC OR GPL-3.0)", None)]),
    ('{"license": {"type": "BSD-3-Clause", "url": "http://x"}}',
     [("license.type", "BSD-3-Clause", None)]),
    ('{"licenses": [{"type": "MIT"}, "Apache-2.0"]}',
     [("licenses[0].type", "MIT", None), ("licenses[1]", "Apache-2.0", None)]),
    ('{"license": "SEE LICENSE IN EULA.md"}', [("license", "EULA.md", "pkg/EULA.md")]),
    ('{"license": "UNLICENSED"}', [("license: UNLICENSED", PROPRIETARY, None)]),
    ('{"name": "x"}', []),
    ('{"license": ', []),  # broken JSON states nothing
    ('["MIT"]', []),
])
def test_package_json(text, expected):
    assert declared("pkg/package.json", text) == expected


@pytest.mark.parametrize("text,expected", [
    ('[project]\nlicense = "MIT OR Apache-2.0"\n', [("[project] license", "MIT OR Apache-2.0", None)]),
    ('[project]\nlicense = {text = "BSD"}\n', [("[project] license.text", "BSD", None)]),
    ('[project]\nlicense = {file = "../COPYING"}\n', [("[project] license.file", "../COPYING", "COPYING")]),
    ('[project]\nlicense-expression = "Apache-2.0"\n',
     [("[project] license-expression", "Apache-2.0", None)]),
    ('[tool.black]\nline-length = 99\n', []),
    ('[project\n', []),  # broken TOML states nothing
])
def test_pyproject(text, expected):
    assert declared("sub/pyproject.toml", text) == expected


def test_core_metadata():
    pkg_info = ("Metadata-Version: 2.4\nName: x\nLicense-Expression: MIT\n"
                "License: Free for all\nClassifier: License :: OSI Approved\n\nLong description\n")
    assert declared("PKG-INFO", pkg_info) == [
        ("License-Expression", "MIT", None), ("License", "Free for all", None)]
    assert declared("x.dist-info/METADATA", "Metadata-Version: 2.1\nLicense: UNKNOWN\n") == []


def test_cargo():
    text = '[package]\nname = "c"\nlicense = "MIT/Apache-2.0"\nlicense-file = "LICENSE.txt"\n'
    assert declared("c/Cargo.toml", text) == [
        ("[package] license", "MIT OR Apache-2.0", None),
        ("[package] license-file", "LICENSE.txt", "c/LICENSE.txt")]


@pytest.mark.parametrize("statement,expected", [
    ("MIT", "MIT"), ("apache-2.0", "Apache-2.0"), ("GPL-2.0+", "GPL-2.0-or-later"),
    ("GPL-2.0", "GPL-2.0-only"), ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
    ("BSD", None), ("MIT License", None), ("GPL-2.0 MIT", None), ("(MIT", None),
])
def test_spdx_expressions_in_scancode_reading(statement, expected):
    assert parse_spdx(statement) == expected


# --- manifests in a directory's decision --------------------------------------------------

@pytest.mark.parametrize("path,text,expected", [
    ("package.json", '{"license": "ISC"}', "ISC"),
    ("package.json", '{"license": {"type": "MIT"}}', "MIT"),
    ("package.json", '{"licenses": [{"type": "MIT"}, {"type": "GPL-2.0"}]}', "GPL-2.0-only AND MIT"),
    ("package.json", '{"license": "UNLICENSED"}', PROPRIETARY),
    ("pyproject.toml", '[project]\nlicense = "BSD-2-Clause"\n', "BSD-2-Clause"),
    ("pyproject.toml", '[project]\nlicense = {text = "MIT License"}\n', "MIT"),
    ("pyproject.toml", '[project]\nlicense-expression = "GPL-3.0-or-later"\n', "GPL-3.0-or-later"),
    ("PKG-INFO", "Metadata-Version: 2.4\nLicense-Expression: Apache-2.0\n", "Apache-2.0"),
    ("METADATA", "Metadata-Version: 2.1\nLicense: MIT\n", "MIT"),
    ("Cargo.toml", '[package]\nlicense = "MIT/Apache-2.0"\n', "Apache-2.0 OR MIT"),
])
def test_each_manifest_format_decides_a_directory_without_licence_files(
        detector, path, text, expected):
    decision = resolve_directory({path: text}, detector, CONFIG)
    assert (decision.expression, decision.basis, decision.files) == (expected, "manifests", (path,))
    assert decision.license_class == classify(expected)


def test_free_text_licence_goes_through_scancode(tmp_path, detector):
    """"License: BSD" is no SPDX id: ScanCode's detection reads it, as its package detection
    does (a statement with no match is tried again as "license <statement>")."""
    text = "Metadata-Version: 2.1\nName: x\nLicense: BSD\n"
    decision = resolve_directory({"PKG-INFO": text}, detector, CONFIG)
    assert (decision.expression, decision.license_class) == ("BSD-3-Clause", "permissive")
    (tmp_path / "PKG-INFO").write_text(text, encoding="utf-8")
    [entry] = scan_path(str(tmp_path), detector)["manifests"]
    assert (entry["read_as"], entry["license"]) == ("free text", "BSD-3-Clause")


def test_a_statement_nothing_is_detected_in_decides_nothing(detector, texts):
    records = [new_record(id=p, kind="file", repo="o/r", path=p) for p in ("a.py", "tests/t.py")]
    license_texts = {"LICENSE": texts["mit"], "tests/PKG-INFO": "Metadata-Version: 2.1\nLicense: PSF\n"}
    out = assign_licenses(records, license_texts, None, detector, CONFIG)
    assert [(r["license"], r["license_source"]) for r in out] == [("MIT", "LICENSE")] * 2


def test_licence_file_outranks_the_manifest_and_the_disagreement_is_recorded(detector, texts):
    files = {"LICENSE": texts["mit"], "package.json": '{"license": "GPL-3.0-only"}',
             "PKG-INFO": "Metadata-Version: 2.4\nLicense-Expression: MIT\n"}
    decision = resolve_directory(files, detector, CONFIG)
    assert (decision.expression, decision.license_class, decision.basis, decision.files) == (
        "MIT", "permissive", "license_files", ("LICENSE",))
    assert decision.details == {"manifest_disagrees": {
        "manifests": ["PKG-INFO", "package.json"], "license": "GPL-3.0-only AND MIT",
        "license_class": "non_permissive"}}
    agreeing = resolve_directory({"LICENSE": texts["mit"], "pyproject.toml":
                                  '[project]\nlicense = "MIT"\n'}, detector, CONFIG)
    assert (agreeing.expression, agreeing.details) == ("MIT", {})


def test_a_package_with_only_a_manifest_takes_its_licence(detector, texts):
    """A nested package with a manifest and no licence file is decided by its manifest, not
    by the repository's licence above it; one with neither inherits; the pointer of a
    manifest to a file is read from the repository's texts."""
    paths = ["setup.py", "vendor/lib/index.js", "vendor/other/x.js", "crates/c/src/lib.rs",
             "crates/d/src/lib.rs"]
    records = [new_record(id=p, kind="file", repo="o/r", path=p) for p in paths]
    license_texts = {
        "LICENSE": texts["apache-2.0"],
        "vendor/lib/package.json": '{"name": "lib", "license": "GPL-3.0-or-later"}',
        "crates/c/Cargo.toml": '[package]\nname = "c"\nlicense-file = "../../LICENSE"\n',
        "crates/d/Cargo.toml": '[package]\nname = "d"\nlicense-file = "COPYING.txt"\n',
    }
    out = assign_licenses(records, license_texts, None, detector, CONFIG)
    got = {r["path"]: (r["license"], r["license_class"], r["license_source"]) for r in out}
    assert got == {
        "setup.py": ("Apache-2.0", "permissive", "LICENSE"),
        "vendor/lib/index.js": ("GPL-3.0-or-later", "non_permissive", "vendor/lib/package.json"),
        "vendor/other/x.js": ("Apache-2.0", "permissive", "LICENSE"),
        "crates/c/src/lib.rs": ("Apache-2.0", "permissive", "crates/c/Cargo.toml"),
        # a pointer to a file that was not read: an unknown reference, not permissive
        "crates/d/src/lib.rs": ("LicenseRef-scancode-unknown-license-reference",
                                "non_permissive", "crates/d/Cargo.toml"),
    }


def test_no_licence_file_and_no_manifest_is_no_licence(detector):
    records = [new_record(id="a.py", kind="file", repo="o/r", path="a.py")]
    out = assign_licenses(records, {"package.json": '{"name": "x"}'}, None, detector, CONFIG)
    assert (out[0]["license"], out[0]["license_class"]) == (None, "no_license")


# --- the agreement leak -------------------------------------------------------------------

AGREEMENT = [
    "EXAMPLE CLOUD SDK TERMS OF SERVICE",
    "These terms form a binding agreement between you and Example Widgets Inc. (the Vendor) "
    "about the Example software development kit and the hosted services it talks to (the "
    "Service). By installing the Service you accept these terms.",
    "This is commercial software. A paid licence from the Vendor is required for any use of it.",
    "1. Use. While you pay the fees of your order form, the Vendor lets you use the Service for "
    "your internal business only. The licence is limited, revocable and not transferable.",
    "2. Restrictions. You shall not copy, modify, sell, rent, sublicense or distribute the "
    "Service, nor reverse engineer it, except where the law allows it despite this term.",
    "3. Ownership. The Service is licensed, not sold; the Vendor keeps all rights in it.",
    "4. Third-party components. The Service bundles open source components under their own "
    "notices, reproduced below; they do not limit these terms for the Service as a whole.",
]


def terms_of_service(notices: list[str]) -> str:
    """A vendor's terms of service (our own words) quoting the given licence notices."""
    quoted = [f"Component {n}:\n\nCopyright (c) 2019 Some Author\n\n{notice.strip()}"
              for n, notice in enumerate(notices, start=1)]
    return "\n\n".join(AGREEMENT + quoted + ["5. Governing law. Delaware law governs these terms."])


def test_an_agreement_quoting_mit_and_bsd_notices_is_not_permissive(detector, texts):
    text = terms_of_service([texts["mit"], texts["bsd-new"]])
    detection = detector.detect(text)
    roles = {m.license: role for m, role in match_roles(detection, CONFIG)}
    commercial = "LicenseRef-scancode-commercial-license"
    # What ScanCode reports: the two quoted texts in full, and the agreement's 4-token
    # notice, which alone would be a mention beside them (the file is mostly licence text).
    assert scancode_categories()[commercial.lower()] == "Commercial"
    assert [m.matched_length for m in detection.matches if m.license == commercial] == [4]
    assert detection.text_fraction >= CONFIG.min_text_coverage
    assert [roles[key] for key in (commercial, "MIT", "BSD-3-Clause")] == [STATEMENT] * 3
    decision = resolve_directory({"LICENSE": text}, detector, CONFIG)
    assert decision.expression == f"BSD-3-Clause AND {commercial} AND MIT"
    assert decision.license_class == "non_permissive"
    # a manifest saying MIT does not change it: the licence file wins
    with_manifest = resolve_directory({"LICENSE": text, "package.json": '{"license": "MIT"}'},
                                      detector, CONFIG)
    assert with_manifest.license_class == "non_permissive"
    assert with_manifest.details["manifest_disagrees"]["license"] == "MIT"


def test_only_an_explicit_or_offers_a_permissive_choice():
    commercial = "LicenseRef-scancode-commercial-license"
    assert names_unfree_terms(f"{commercial} AND MIT")
    assert not names_unfree_terms(f"{commercial} OR MIT")
    assert classify(f"{commercial} OR MIT") == "permissive"
    assert names_unfree_terms("LicenseRef-scancode-unknown")
    assert names_unfree_terms(PROPRIETARY)
    # free licences and pointers name no unfree terms: a GPL mention stays a mention
    for expression in ("GPL-2.0-only", "MPL-2.0", "MIT",
                       "LicenseRef-scancode-unknown-license-reference",
                       "LicenseRef-scancode-warranty-disclaimer"):
        assert not names_unfree_terms(expression)


@pytest.mark.parametrize("key,expected", [
    ("python", "Python-2.0"), ("psf-2.0", "PSF-2.0"), ("apache-2.0", "Apache-2.0"),
    ("mit", "MIT"), ("bsd-new", "BSD-3-Clause"), ("bsd-simplified", "BSD-2-Clause"),
])
def test_free_licence_texts_stay_as_they_were(detector, texts, key, expected):
    decision = resolve_directory({"LICENSE": texts[key]}, detector, CONFIG)
    assert (decision.expression, decision.license_class) == (expected, "permissive")


def test_python_licence_with_gpl_mentions_stays_permissive(detector, texts):
    """The Python licence's history names the GPL (compatibility notes): copyleft mentions
    beside a full licence text are still dropped; only unfree terms became statements."""
    history = ("\nRelease history\n\n"
               "    Release   Derived from   Year   Owner   GPL-compatible? (1)\n"
               "    2.1       2.0+1.6.1      2001   PSF     yes\n\n"
               "(1) GPL-compatible doesn't mean that we're distributing Python under\n"
               "    the GPL. All Python licenses, unlike the GPL, let you distribute\n"
               "    a modified version without making your changes open source.\n")
    text = texts["python"] + "\n" + history
    roles = match_roles(detector.detect(text), CONFIG)
    gpl = [role for m, role in roles if "GPL" in m.license and m.rule_kind != "clue"]
    assert gpl and set(gpl) == {MENTION}
    decision = resolve_directory({"LICENSE": text}, detector, CONFIG)
    assert decision.license_class == "permissive"
    assert decision.expression.startswith("Python-2.0") and "GPL" not in decision.expression


# --- curate licenses scan --explain -------------------------------------------------------

def test_scan_reads_root_manifests(tmp_path, detector):
    (tmp_path / "package.json").write_text('{"license": "MIT"}', encoding="utf-8")
    result = scan_path(str(tmp_path), detector)
    assert (result["license"], result["basis"], result["files"]) == ("MIT", "manifests",
                                                                    ["package.json"])
    assert result["manifests"] == [{"path": "package.json", "field": "license",
                                    "declared": "MIT", "read_as": "SPDX expression",
                                    "license": "MIT"}]
    single = scan_path(str(tmp_path / "package.json"), detector)
    assert (single["license"], single["files"]) == ("MIT", ["package.json"])


def test_explain_prints_the_chain_of_evidence(tmp_path, detector, texts, capsys):
    (tmp_path / "LICENSE").write_text(terms_of_service([texts["mit"]]), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[project]\nlicense = "MIT"\n', encoding="utf-8")
    result = scan_path(str(tmp_path), detector, explain=True)
    text = format_explanation(result)
    lines = text.splitlines()
    assert lines[0] == (f"{tmp_path}: LicenseRef-scancode-commercial-license AND MIT "
                        "(non_permissive)")
    assert "  LICENSE (licence file; licence text and notices cover" in text
    assert any(line.startswith("    LicenseRef-scancode-commercial-license  [Commercial -> "
                               "non_permissive]  notice, score 100.0") and
               line.endswith(": statement") for line in lines)
    assert any(line.startswith("    MIT  [Permissive -> permissive]  text, score 100.0, "
                               "coverage 100.0, 161 tokens") for line in lines)
    assert ("  pyproject.toml [project] license = 'MIT', read as SPDX expression: MIT"
            in lines)
    assert lines[-2] == ("decision: the licence files of the directory decide (they outrank "
                         "its manifests); from LICENSE")
    assert lines[-1] == ("disagreement: the manifests (pyproject.toml) declare MIT "
                         "(permissive); the licence files win")

    assert main(["licenses", "scan", "--explain", str(tmp_path)]) == 0
    assert capsys.readouterr().out == text + "\n"
    assert main(["licenses", "scan", "--explain", "--json", str(tmp_path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["evidence"]["rule"].startswith("the licence files of the directory decide")
    [licence_file] = printed["evidence"]["license_files"]
    assert {m["counts_as"] for m in licence_file["matches"]} >= {"statement"}
    assert printed["details"]["manifest_disagrees"]["manifests"] == ["pyproject.toml"]

"""Licence agreement of ``curate licenses scan`` on packages never used while writing the rules.

Issue 10 asks for the agreement of the scanner's class (permissive / no_license /
non_permissive) with each package's own metadata licence, on real packages that are NOT the
demo's (``jobs/demo.py``), not installed in the project's environment and not used in an
earlier evaluation. The lists below were written down BEFORE any of them was downloaded or
scanned (issue 10, blind measurement), from memory of the most-downloaded PyPI and npm
packages, skipping the excluded ones; a few well-known copyleft, proprietary and custom-terms
packages are listed apart so that the worst error (copyleft or proprietary called
permissive) has a chance to show. The rules were not changed after seeing the result.

Steps (each cached under ``out/license-agreement/``; a rerun downloads only what is missing):

1. ``pip download --no-deps --no-binary NAME NAME`` (the sdist of the latest release; only
   NAME itself is built from source, its build backend may come as a wheel, as
   :func:`jobs.demo.download_sdist` does) and ``npm pack NAME``; a package that fails (no
   sdist, metadata preparation fails) is skipped and listed with pip's or npm's reason.
2. Extract each archive under ``src/`` (``tarfile``'s ``data`` filter: no links out, no
   absolute paths).
3. The metadata label, from the package's own metadata, as ``jobs/demo.py`` documents its
   labels: PyPI ``PKG-INFO`` ``License-Expression``; else ``License`` when it is a valid SPDX
   expression; else the trove ``License ::`` classifiers (:data:`CLASSIFIER_SPDX`; several
   classifiers label only when they all give one class); else the ``License`` free text when it
   is one of a few common names (:data:`FREE_TEXT_SPDX`); else no label (not scored). npm
   ``package.json`` ``license`` (or the old ``licenses`` list): a valid SPDX expression;
   ``UNLICENSED`` is proprietary; any other value (``SEE LICENSE IN ...``, a URL, a sentence)
   states custom terms: npm's documentation asks packages under a licence that is not an SPDX
   licence to say so, so its class is ``non_permissive`` (decided before any scan). The class of
   an SPDX label is :func:`licenses.policy.classify`'s.
4. :func:`licenses.scan.scan_path` (``curate licenses scan``) on each extracted package root;
   a class different from the label's is a miss, explained with ``--explain``'s chain of
   evidence (written to ``out/license-agreement/explain/``).

Markdown on stdout. Run: ``.venv/bin/python bench/license_agreement.py [--out DIR]``.
"""
from __future__ import annotations

import argparse
import email.parser
import importlib.metadata
import json
import re
import subprocess
import sys
import tarfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from license_expression import ExpressionError, get_spdx_licensing

from jobs.demo import DEMO_PACKAGES
from licenses.detect import get_detector
from licenses.policy import classify
from licenses.scan import format_explanation, scan_path

ROOT = Path(__file__).resolve().parent.parent

# PyPI, written before any download: the most-downloaded packages as remembered (pypistats /
# "top PyPI packages", 2024-25), in about that order, skipping the demo's, those installed in
# .venv and those of earlier evaluations (bottle, docutils, markdown, sqlparse, tornado);
# jsonschema and traitlets, first listed, are installed in .venv: tenacity and backoff took
# their places (before any download).
PYPI_TOP = (
    "boto3", "botocore", "s3transfer", "jmespath", "rsa", "pyasn1", "pyasn1-modules", "pyjwt",
    "cachetools", "google-auth", "googleapis-common-protos", "requests-oauthlib", "oauthlib",
    "tenacity", "sqlalchemy", "psutil", "aiohttp", "multidict", "yarl", "frozenlist",
    "aiosignal", "async-timeout", "exceptiongroup", "decorator", "isodate", "greenlet",
    "pyopenssl", "openpyxl", "requests-toolbelt", "sniffio", "azure-core", "msal", "coverage",
    "mypy-extensions", "proto-plus", "deprecated", "gitpython", "tabulate", "websocket-client",
    "sortedcontainers", "joblib", "threadpoolctl", "ptyprocess", "backoff", "jedi", "parso",
    "prompt-toolkit", "mccabe", "pycodestyle", "isort", "python-dotenv", "gunicorn", "redis",
    "celery", "pymysql", "alembic", "blinker", "marshmallow",
)
# PyPI, popular packages under copyleft terms (also written before any download).
PYPI_COPYLEFT = (
    "psycopg", "ldap3", "html2text", "pyinstaller", "urwid", "pycountry", "ansible-core",
    "pynput", "fuzzywuzzy", "pyphen", "launchpadlib", "python-xlib", "pyenchant",
    "mysql-connector-python",
)
# npm, written before any download: popular packages not bundled with npm
# (/usr/lib/node_modules/npm) and not among those of earlier evaluations.
NPM_TOP = (
    "react", "react-dom", "vue", "typescript", "webpack", "minimist", "yargs", "dotenv",
    "body-parser", "classnames", "prop-types", "rxjs", "tslib", "core-js", "qs", "ws",
    "fs-extra", "prettier", "js-yaml", "postcss", "dayjs", "date-fns", "handlebars", "marked",
)
# npm, popular packages under copyleft, dual, proprietary or custom terms.
NPM_SPECIAL = (
    "pm2", "jszip", "ckeditor5", "tinymce", "highcharts", "mapbox-gl", "gsap", "caniuse-lite",
    "axe-core", "dompurify",
)
EARLIER_PYPI = frozenset({"bottle", "docutils", "markdown", "sqlparse", "tornado"})
EARLIER_NPM = frozenset({"express", "lodash", "moment", "axios", "jquery", "underscore", "async",
                         "bluebird", "socket.io", "mocha", "uuid", "commander"})

# Trove classifiers -> SPDX (the version a classifier leaves open is the lowest it allows: the
# class does not depend on it). A classifier not here ("OSI Approved" alone, "Freely
# Distributable", ...) gives no label.
CLASSIFIER_SPDX = {
    "License :: OSI Approved :: MIT License": "MIT",
    "License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
    "License :: OSI Approved :: BSD License": "BSD-3-Clause",
    "License :: OSI Approved :: Zero-Clause BSD (0BSD)": "0BSD",
    "License :: OSI Approved :: Apache Software License": "Apache-2.0",
    "License :: OSI Approved :: ISC License (ISCL)": "ISC",
    "License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
    "License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
    "License :: OSI Approved :: Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "License :: OSI Approved :: Zope Public License": "ZPL-2.1",
    "License :: OSI Approved :: Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "License :: OSI Approved :: Academic Free License (AFL)": "AFL-3.0",
    "License :: OSI Approved :: Universal Permissive License (UPL)": "UPL-1.0",
    "License :: Public Domain": "LicenseRef-scancode-public-domain",
    "License :: CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
    "License :: OSI Approved :: GNU General Public License (GPL)": "GPL-1.0-or-later",
    "License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "License :: OSI Approved :: GNU General Public License v2 or later (GPLv2+)":
        "GPL-2.0-or-later",
    "License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "License :: OSI Approved :: GNU General Public License v3 or later (GPLv3+)":
        "GPL-3.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v2 or later (LGPLv2+)":
        "LGPL-2.0-or-later",
    "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "License :: OSI Approved :: GNU Lesser General Public License v3 or later (LGPLv3+)":
        "LGPL-3.0-or-later",
    "License :: OSI Approved :: GNU Library or Lesser General Public License (LGPL)":
        "LGPL-2.0-or-later",
    "License :: OSI Approved :: GNU Affero General Public License v3": "AGPL-3.0-only",
    "License :: OSI Approved :: GNU Affero General Public License v3 or later (AGPLv3+)":
        "AGPL-3.0-or-later",
    "License :: OSI Approved :: Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "License :: OSI Approved :: Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "License :: OSI Approved :: European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "License :: OSI Approved :: Artistic License": "Artistic-2.0",
    "License :: Other/Proprietary License": "LicenseRef-scancode-proprietary-license",
}
# The License field's free text -> SPDX, for a few common names only (lowercased, a trailing
# "license"/"licence" and punctuation dropped).
FREE_TEXT_SPDX = {
    "mit": "MIT", "bsd": "BSD-3-Clause", "new bsd": "BSD-3-Clause", "bsd-3": "BSD-3-Clause",
    "3-clause bsd": "BSD-3-Clause", "bsd 3-clause": "BSD-3-Clause", "modified bsd":
    "BSD-3-Clause", "bsd-2": "BSD-2-Clause", "2-clause bsd": "BSD-2-Clause",
    "apache": "Apache-2.0", "apache 2.0": "Apache-2.0", "apache 2": "Apache-2.0",
    "apache-2": "Apache-2.0", "apache software": "Apache-2.0", "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0", "psf": "PSF-2.0", "isc": "ISC",
    "gpl": "GPL-1.0-or-later", "gplv2": "GPL-2.0-only", "gplv2+": "GPL-2.0-or-later",
    "gplv3": "GPL-3.0-only", "gplv3+": "GPL-3.0-or-later", "lgpl": "LGPL-2.0-or-later",
    "lgplv3": "LGPL-3.0-only", "lgplv3+": "LGPL-3.0-or-later", "mpl 2.0": "MPL-2.0",
    "mpl-2.0": "MPL-2.0", "public domain": "LicenseRef-scancode-public-domain",
}
# npm's values for custom or missing terms.
NPM_CUSTOM = "custom terms (not an SPDX expression)"
_SPDX = get_spdx_licensing()


def spdx_expression(value: str | None) -> str | None:
    """``value`` when it is an SPDX expression of known ids only, else None."""
    if not value or "\n" in value.strip():
        return None
    try:
        info = _SPDX.validate(value.strip(), strict=False)
    except (ExpressionError, AttributeError):  # license_expression 30.x: its own error path
        return None                              # raises AttributeError on some texts
    if info.errors or info.invalid_symbols or not info.normalized_expression:
        return None
    return info.normalized_expression


def _same_class(labels: list[str]) -> str | None:
    distinct = sorted(set(labels))
    if not distinct or len({classify(label) for label in distinct}) != 1:
        return None
    return " AND ".join(distinct) if len(distinct) > 1 else distinct[0]


def pypi_label(pkg_info: str) -> tuple[str | None, str]:
    """(SPDX label or None, where it came from) from a PKG-INFO."""
    headers = email.parser.HeaderParser().parsestr(pkg_info)
    expression = spdx_expression(headers.get("License-Expression"))
    if expression:
        return expression, "License-Expression"
    free = (headers.get("License") or "").strip()
    expression = spdx_expression(free)
    if expression:
        return expression, "License (SPDX)"
    classifiers = [c.strip() for c in headers.get_all("Classifier") or []
                   if c.strip().startswith("License ::")]
    mapped = [CLASSIFIER_SPDX.get(c) for c in classifiers]
    if classifiers and all(mapped):
        label = _same_class(mapped)
        if label:
            return label, "classifier" + ("s" if len(classifiers) > 1 else "")
        return None, f"classifiers of different classes: {classifiers}"
    key = re.sub(r"[\s.,;]*licen[cs]e[\s.,;]*$", "", free.lower()).strip(" .,;")
    if key in FREE_TEXT_SPDX:
        return FREE_TEXT_SPDX[key], f"License free text {free!r}"
    return None, (f"no label: License {free[:60]!r}, classifiers {classifiers}"
                  if free or classifiers else "no label: no licence metadata")


def npm_label(package_json: str) -> tuple[str | None, str]:
    """(label or None, where it came from) from a package.json; custom terms are NPM_CUSTOM."""
    data = json.loads(package_json)
    value = data.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    if value is None and isinstance(data.get("licenses"), list):
        values = [v.get("type") if isinstance(v, dict) else v for v in data["licenses"]]
        spdx = [spdx_expression(v) if isinstance(v, str) else None for v in values]
        if values and all(spdx):
            label = _same_class(spdx)
            return label, "licenses list" if label else f"licenses of different classes {values}"
        return None, f"no label: licenses {values!r}"
    if not isinstance(value, str) or not value.strip():
        return None, "no label: no license field"
    if value.strip() == "UNLICENSED":
        return "LicenseRef-scancode-proprietary-license", "license UNLICENSED"
    expression = spdx_expression(value)
    if expression:
        return expression, "license"
    return NPM_CUSTOM, f"license {value.strip()[:70]!r}"


def label_class(label: str) -> str:
    return "non_permissive" if label == NPM_CUSTOM else classify(label)


# ---------------------------------------------------------------------------------------------
# Downloads and extraction.

def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def check_lists() -> list[str]:
    """Clashes of the lists with the demo, earlier evaluations and npm's bundle (fatal), and
    with the distributions installed in .venv NOW (a note: the lists were checked against
    .venv when written, 2026-12-06 06:31 UTC; other sessions install packages into the shared
    .venv later, e.g. greenlet with playwright at 06:32)."""
    demo = {package.name for package in DEMO_PACKAGES}
    installed = {_normalised(d.metadata["Name"] or "") for d in importlib.metadata.distributions()}
    notes = []
    for name in PYPI_TOP + PYPI_COPYLEFT:
        clash = [what for what, names in (("demo", demo), ("earlier evaluation", EARLIER_PYPI))
                 if _normalised(name) in names]
        if clash:
            raise SystemExit(f"{name}: in the list but also {', '.join(clash)}")
        if _normalised(name) in installed:
            notes.append(f"{name} is installed in .venv now (it was not when the list was "
                         "written)")
    bundled = {p.name for p in Path("/usr/lib/node_modules/npm/node_modules").glob("*")}
    for name in NPM_TOP + NPM_SPECIAL:
        if name in bundled or name in EARLIER_NPM:
            raise SystemExit(f"npm {name}: bundled with npm or used before")
    return notes


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"\w*(Error|Exception)\b", line)]
    errors = [line for line in lines if "ERROR" in line or "error" in line.lower()]
    return (exceptions or errors or lines or ["no output"])[-1][:200]


def fetch_pypi(name: str, work: Path) -> tuple[Path | None, str]:
    sdists = work / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    failed = work / "failed" / f"pypi-{name}.txt"
    if failed.exists():
        return None, failed.read_text()
    found = [p for p in sdists.iterdir()
             if _normalised(p.name).startswith(_normalised(name) + "-")
             and re.match(r"\d", _normalised(p.name)[len(_normalised(name)) + 1:])]
    if found:
        return sorted(found)[-1], "cached"
    scratch = work / "partial" / name
    scratch.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
               name, "--dest", str(scratch), name]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        reason = _last_error(done.stderr) if done.returncode else ""
    except subprocess.TimeoutExpired:
        reason = "pip did not finish in 600 s"
    archives = [p for p in scratch.iterdir() if p.name.endswith((".tar.gz", ".zip"))]
    if reason or len(archives) != 1:
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(reason or f"pip left {[p.name for p in scratch.iterdir()]}")
        return None, failed.read_text()
    target = sdists / archives[0].name
    archives[0].replace(target)
    return target, "downloaded"


def fetch_npm(name: str, work: Path) -> tuple[Path | None, str]:
    tarballs = work / "npm"
    tarballs.mkdir(parents=True, exist_ok=True)
    failed = work / "failed" / f"npm-{name}.txt"
    if failed.exists():
        return None, failed.read_text()
    stem = name.lstrip("@").replace("/", "-")
    found = sorted(p for p in tarballs.glob(f"{stem}-*.tgz")
                   if re.match(r"\d", p.name[len(stem) + 1:]))
    if found:
        return found[-1], "cached"
    done = subprocess.run(["npm", "pack", "--silent", name], cwd=tarballs, capture_output=True,
                          text=True, timeout=600, check=False)
    created = done.stdout.strip().splitlines()
    if done.returncode or not created or not (tarballs / created[-1]).exists():
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(_last_error(done.stderr or done.stdout))
        return None, failed.read_text()
    return tarballs / created[-1], "downloaded"


def extract(archive: Path, target: Path) -> Path:
    """The package root of ``archive`` extracted under ``target`` (its one top directory)."""
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as handle:
                for member in handle.infolist():
                    if member.filename.startswith("/") or ".." in member.filename.split("/"):
                        raise ValueError(f"{archive}: unsafe member {member.filename}")
                handle.extractall(partial)
        else:
            with tarfile.open(archive) as handle:
                handle.extractall(partial, filter="data")
        partial.rename(target)
    tops = [p for p in target.iterdir()]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else target


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "license-agreement")
    parser.add_argument("--workers", type=int, default=2, help="concurrent downloads")
    args = parser.parse_args(argv)
    notes = check_lists()
    work = args.out
    started = time.time()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        pypi = dict(zip(PYPI_TOP + PYPI_COPYLEFT,
                        pool.map(lambda n: fetch_pypi(n, work), PYPI_TOP + PYPI_COPYLEFT)))
        npm = dict(zip(NPM_TOP + NPM_SPECIAL,
                       pool.map(lambda n: fetch_npm(n, work), NPM_TOP + NPM_SPECIAL)))
    download_s = time.time() - started

    packages, skipped = [], []
    for ecosystem, fetched, manifest, labeller in (("pypi", pypi, "PKG-INFO", pypi_label),
                                                   ("npm", npm, "package.json", npm_label)):
        for name, (archive, how) in fetched.items():
            if archive is None:
                skipped.append((ecosystem, name, how))
                continue
            stem = archive.name.removesuffix(".tar.gz").removesuffix(".tgz").removesuffix(".zip")
            root = extract(archive, work / "src" / f"{ecosystem}-{stem}")
            meta = root / manifest
            if not meta.is_file():
                skipped.append((ecosystem, name, f"no {manifest} at the package root"))
                continue
            label, source = labeller(meta.read_text(encoding="utf-8", errors="replace"))
            version = stem[len(stem) - len(stem.split("-")[-1]):]
            packages.append({"ecosystem": ecosystem, "name": name, "version": version,
                             "root": root, "label": label, "label_source": source})

    detector = get_detector()
    scan_started = time.time()
    explain_dir = work / "explain"
    explain_dir.mkdir(parents=True, exist_ok=True)
    for package in packages:
        result = scan_path(str(package["root"]), detector, explain=True)
        package["scan"] = result
        (explain_dir / f"{package['ecosystem']}-{package['name']}.txt").write_text(
            format_explanation(result) + "\n", encoding="utf-8")
    scan_s = time.time() - scan_started

    scored = [p for p in packages if p["label"] is not None]
    unlabelled = [p for p in packages if p["label"] is None]
    for package in scored:
        package["expected"] = label_class(package["label"])
        package["got"] = package["scan"].get("license_class", "error")
        package["agree"] = package["expected"] == package["got"]
    agree = sum(p["agree"] for p in scored)
    worst = [p for p in scored if p["got"] == "permissive" and p["expected"] != "permissive"]
    by_files = [p for p in scored if p["scan"].get("basis") == "license_files"]

    print(f"# Licence agreement on unseen packages ({time.strftime('%Y-%m-%d')})\n")
    print(f"Listed: {len(PYPI_TOP + PYPI_COPYLEFT)} PyPI, {len(NPM_TOP + NPM_SPECIAL)} npm; "
          f"scanned {len(packages)} (PyPI {sum(p['ecosystem'] == 'pypi' for p in packages)}, npm "
          f"{sum(p['ecosystem'] == 'npm' for p in packages)}); skipped {len(skipped)}; "
          f"downloads {download_s:.0f} s (cached ones free), scans {scan_s:.0f} s.\n")
    for note in notes:
        print(f"Note: {note}.\n")
    print(f"**Agreement on the class: {agree}/{len(scored)} = {agree / max(len(scored), 1):.1%}** "
          f"of the packages with a metadata label ({len(unlabelled)} without one, not scored). "
          f"Non-permissive label called permissive (the worst error): {len(worst)}. Permissive "
          f"label called non-permissive or no_license: "
          f"{sum(1 for p in scored if p['expected'] == 'permissive' and not p['agree'])}.\n")
    files_agree = sum(p["agree"] for p in by_files)
    print(f"Decided by licence files: {len(by_files)} (agree {files_agree}); by manifests only: "
          f"{sum(p['scan'].get('basis') == 'manifests' for p in scored)}; by notice files: "
          f"{sum(p['scan'].get('basis') == 'notice_files' for p in scored)}; nothing: "
          f"{sum(p['scan'].get('basis') == 'none' for p in scored)}.\n")
    expected_classes = sorted({p["expected"] for p in scored})
    print("| label class | packages | agree |\n|---|---:|---:|")
    for cls in expected_classes:
        group = [p for p in scored if p["expected"] == cls]
        print(f"| {cls} | {len(group)} | {sum(p['agree'] for p in group)} |")
    print("\n| package | metadata label (source) | scan | class | basis | |")
    print("|---|---|---|---|---|---|")
    for p in packages:
        verdict = "not scored" if p["label"] is None else ("agree" if p["agree"] else "**MISS**")
        scan = p["scan"]
        print(f"| {p['ecosystem']}/{p['name']} {p['version']} | {p['label'] or '-'} "
              f"({p['label_source']}) | {scan.get('license') or scan.get('error') or '-'} | "
              f"{scan.get('license_class', 'error')} | {scan.get('basis', '-')} | {verdict} |")
    misses = [p for p in scored if not p["agree"]]
    print("\nMisses:" if misses else "\nMisses: none.")
    shown = explain_dir.relative_to(ROOT) if explain_dir.is_relative_to(ROOT) else explain_dir
    for p in misses:
        scan = p["scan"]
        disagreement = scan.get("details", {}).get("manifest_disagrees")
        print(f"- {p['ecosystem']}/{p['name']}: label {p['label']} ({p['expected']}), scan "
              f"{scan.get('license')} ({p['got']}) by {scan.get('basis')} from "
              f"{', '.join(scan.get('files', [])) or '-'}"
              + (f"; manifests declare {disagreement['license']}" if disagreement else "")
              + f" (explain: {shown}/{p['ecosystem']}-{p['name']}.txt)")
    if skipped:
        print("\nSkipped:")
        for ecosystem, name, why in skipped:
            print(f"- {ecosystem}/{name}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

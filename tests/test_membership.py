"""The membership index (Bloom filter of 50-character n-grams, repositories per owner) written
with every release, ``curate membership user`` and ``check``, and the index after ``curate
optout apply``.

The releases are test_optout_build's (its ``before``, ``applied`` and ``homes`` fixtures,
imported), built from its repositories plus two longer files: this module's ``corpus``
fixture overrides that module's, and the imported fixtures build from it.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from optout.membership import (FILTER_FILE, HEADER_FILE, INDEX_DIR, REPOS_FILE, BloomFilter,
                               MembershipIndex, Presence, ReleaseMembership, all_ngrams,
                               ngram_count, ngram_hashes, presence, random_probes,
                               stored_ngrams)
from pipeline.config import BuildConfig, MembershipConfig
from test_build import _read
from test_optout_build import (REPOS, _curate, _published, applied, before,  # noqa: F401
                               homes, write_corpus)

# A module of octo-cat's (opted out once verified) and one of acme's (kept), each longer than
# the 199 characters a verdict needs, and unlike each other (near dedup keeps both).
OPTED_OUT_MODULE = "".join(
    f"def alpha_stage_{i}(rows, limit={i + 3}):\n"
    f"    \"\"\"Stage {i}: the rows under {i * 7 + 11}, each scaled by {i + 2}.\"\"\"\n"
    f"    return [row * {i + 2} for row in rows if row < limit * {i + 11}]\n\n"
    for i in range(12))
KEPT_MODULE = "package lib\n\n" + "".join(
    f"// Scale{i} multiplies x by {i + 5} and adds {i * i + 1}.\n"
    f"func Scale{i}(x int) int {{\n\treturn x*{i + 5} + {i * i + 1}\n}}\n\n" for i in range(12))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """test_optout_build's repositories with the two modules added."""
    repos = {**REPOS, "Octo-Cat/alpha": {**REPOS["Octo-Cat/alpha"], "stages.py": OPTED_OUT_MODULE},
             "acme/lib": {**REPOS["acme/lib"], "scale.go": KEPT_MODULE}}
    return write_corpus(tmp_path_factory.mktemp("membership-corpus"), repos)


def _index_files(release: Path) -> dict[str, bytes]:
    return {path: (release / path).read_bytes() for path in (FILTER_FILE, HEADER_FILE, REPOS_FILE)}


def _ngrams_of(records: list[dict]) -> set[str]:
    return {ngram for record in records for ngram in stored_ngrams(record["content"], 50, 50)}


# --- the filter -----------------------------------------------------------------------------

def test_ngrams_and_their_count():
    text = "".join(chr(0x3b1 + i % 20) for i in range(175))  # Greek: characters, not bytes
    assert stored_ngrams(text, 50, 50) == [text[0:50], text[50:100], text[100:150]]
    assert len(all_ngrams(text, 50)) == 126 and all_ngrams(text[:49], 50) == []
    contents = pa.array([text, None, "x" * 49, "x" * 50, "x" * 99, "x" * 100])
    assert ngram_count(contents, 50, 50) == 3 + 0 + 0 + 1 + 1 + 2
    assert ngram_count(contents, 50, 10) == 13 + 0 + 0 + 1 + 5 + 6


def test_no_false_negatives_and_the_measured_rate_is_the_configured_one():
    items = ngram_hashes(random_probes(20_000, 50, seed=1))
    bloom = BloomFilter.sized(len(items), 1e-3)
    assert (bloom.m, bloom.k) == (287_552, 10)  # 14.4 bits an item, rounded up to 64
    bloom.add(items)
    assert bloom.contains(items).all()
    rate = bloom.contains(ngram_hashes(random_probes(100_000, 50, seed=2))).mean()
    assert 0.5e-3 < rate < 2e-3  # 1e-3 within its sampling error (1e-4) many times over
    assert random_probes(3, 50, seed=1) == random_probes(3, 50, seed=1) != \
        random_probes(3, 50, seed=2)


def test_verdicts():
    def classes(found: list[bool]) -> Presence:
        return presence(np.array(found), stride=4)

    # class 1 (offsets 1, 5, 9, ...) lines up with the release: all found
    assert classes([i % 4 == 1 for i in range(40)]) == Presence(40, 4, 10, 10)
    assert classes([i % 4 == 1 for i in range(40)]).verdict == "likely in the release"
    assert classes([i in (1, 5, 9) for i in range(40)]).verdict == "partly in the release"
    assert classes([i in (1, 5) for i in range(40)]).verdict == "not in the release"  # 2 < 3
    assert classes([i in (1, 5) for i in range(11)]).verdict == "too short to tell"
    assert classes([False] * 12).verdict == "not in the release"


# --- written with the release -----------------------------------------------------------------

def test_the_manifest_records_the_index_and_it_adds_up(before):
    release, manifest = before.release_dir, before.manifest
    kept = _read(release, "data")
    recorded = manifest["membership"]
    header = json.loads((release / HEADER_FILE).read_text())
    assert {key: recorded[key] for key in header} == header
    assert (header["ngram_chars"], header["stride"], header["fpr"], header["k"]) == \
        (50, 50, 1e-3, 10)
    assert header["count"] == sum(len(r["content"]) // 50 for r in kept)
    assert recorded["filter_bytes"] * 8 == header["m"] >= header["count"] * 14.37
    for entry in recorded["files"]:
        data = (release / entry["path"]).read_bytes()
        assert entry["bytes"] == len(data)
    assert recorded["files"][0]["bytes"] == recorded["filter_bytes"]
    assert recorded["release_shard_bytes"] == sum(s["bytes"] for s in manifest["shards"])
    assert recorded["release_content_bytes"] == sum(len(r["content"].encode()) for r in kept)
    assert recorded["fraction_of_shard_bytes"] == \
        recorded["filter_bytes"] / recorded["release_shard_bytes"]
    assert recorded["fraction_of_content_bytes"] == \
        recorded["filter_bytes"] / recorded["release_content_bytes"]
    assert recorded["fpr_probes"] == 100_000 and 0 <= recorded["measured_fpr"] < 5e-3
    assert recorded["repositories"] == len({r["repo"] for r in kept})


def test_the_index_is_the_same_bytes_for_the_same_release(before, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(before.release_dir, copy)
    shutil.rmtree(copy / INDEX_DIR)
    step = MembershipIndex(BuildConfig().membership)
    assert step.write(copy, before.manifest) == before.manifest["membership"]
    assert _index_files(copy) == _index_files(before.release_dir)
    other = MembershipIndex(dataclasses.replace(MembershipConfig(), fpr=1e-2))
    assert other.write(copy, before.manifest)["k"] == 7
    assert _index_files(copy)[FILTER_FILE] != _index_files(before.release_dir)[FILTER_FILE]


def test_every_ngram_of_a_kept_file_is_found(before):
    index = ReleaseMembership(before.release_dir)
    ngrams = sorted(_ngrams_of(_read(before.release_dir, "data")))
    assert len(ngrams) > 50 and index.bloom.contains(ngram_hashes(ngrams)).all()


# --- curate membership ----------------------------------------------------------------------

def _check(capsys, release: Path, text: str, tmp_path: Path) -> tuple[str, str]:
    """``curate membership check`` of ``text`` as a file: its verdict line and its counts."""
    path = tmp_path / "query.txt"
    path.write_text(text, encoding="utf-8")
    code, out, error = _curate(capsys, "membership", "check", str(path), "--release",
                               str(release))
    assert (code, error) == (0, "")
    verdict, counts = out.splitlines()
    return verdict.removeprefix(f"{path}: "), counts


def test_check_a_released_file_a_misaligned_snippet_and_other_code(before, tmp_path, capsys):
    out = before.release_dir.parent.parent
    verdict, counts = _check(capsys, out, KEPT_MODULE, tmp_path)
    windows = len(KEPT_MODULE) - 49
    assert verdict == "likely in the release (v1.0.0)"
    assert f"{windows} n-grams of 50 characters checked" in counts
    assert f"best alignment: {len(KEPT_MODULE) // 50} of {len(KEPT_MODULE) // 50} found " \
           "(100.0%)" in counts
    snippet = KEPT_MODULE[123:123 + 420]  # starts 23 characters after a stored n-gram
    assert _check(capsys, out, snippet, tmp_path)[0] == "likely in the release (v1.0.0)"
    other = KEPT_MODULE.replace("Scale", "Grow").replace("x", "value")  # in every window
    assert _check(capsys, out, other, tmp_path)[0] == "not in the release (v1.0.0)"
    half = KEPT_MODULE[:len(KEPT_MODULE) // 3] + other[len(KEPT_MODULE) // 3:]
    assert _check(capsys, out, half, tmp_path)[0] == "partly in the release (v1.0.0)"
    assert _check(capsys, out, KEPT_MODULE[:120], tmp_path) == (
        "too short to tell (v1.0.0) (a text under 199 characters may hold fewer than 3 of "
        "the release's n-grams)", "  71 n-grams of 50 characters checked (every window); "
        "best alignment: 2 of 2 found (100.0%)")


def test_user_lists_repositories_and_files_case_insensitively(before, capsys):
    code, out, _ = _curate(capsys, "membership", "user", "OCTO-cat", "--release",
                           str(before.release_dir))
    kept = _read(before.release_dir, "data")
    files = {repo: sum(r["repo"] == repo for r in kept) for repo in ("Octo-Cat/alpha",
                                                                    "octo-cat/beta")}
    assert code == 0 and out.splitlines() == [
        f"OCTO-cat in v1.0.0: 2 repositories, {sum(files.values())} files",
        *(f"  {repo}\t{count}" for repo, count in files.items())]
    assert _curate(capsys, "membership", "user", "octo", "--release",
                   str(before.release_dir))[1] == "octo: no repository in v1.0.0\n"


def test_after_apply_the_opted_out_code_is_gone_from_the_index(applied, capsys, tmp_path):
    old, new = applied / "releases" / "v1.0.0", applied / "releases" / "v1.0.1"
    assert _check(capsys, old, OPTED_OUT_MODULE, tmp_path)[0] == "likely in the release (v1.0.0)"
    assert _check(capsys, applied, OPTED_OUT_MODULE, tmp_path)[0] == \
        "not in the release (v1.0.1)"
    assert _check(capsys, applied, KEPT_MODULE, tmp_path)[0] == "likely in the release (v1.0.1)"
    kept = _read(new, "data")
    removed = [r for r in _read(old, "data") if r["id"] not in {k["id"] for k in kept}]
    gone = sorted(_ngrams_of(removed) - _ngrams_of(kept))  # not also in a kept file
    assert len(gone) > 20
    assert not ReleaseMembership(new).bloom.contains(ngram_hashes(gone)).any()
    assert ReleaseMembership(old).bloom.contains(ngram_hashes(gone)).all()
    code, out, _ = _curate(capsys, "membership", "user", "octo-cat", "--release", str(applied))
    assert (code, out) == (0, "octo-cat: no repository in v1.0.1\n")
    manifest = json.loads((new / "manifest.json").read_text())
    old_count = json.loads((old / "manifest.json").read_text())["membership"]["count"]
    assert manifest["membership"]["count"] == old_count - sum(len(r["content"]) // 50
                                                              for r in removed)
    for entry in manifest["membership"]["files"]:
        assert (new / entry["path"]).stat().st_size == entry["bytes"]


def test_bad_input_gets_one_line(before, tmp_path, capsys, monkeypatch):
    release = str(before.release_dir)
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "short.txt").write_text("x = 1\n")
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe" * 40)
    bare = _published(before, tmp_path, "bare")
    shutil.rmtree(bare / "releases" / "v1.0.0" / INDEX_DIR)
    monkeypatch.delenv("STACK_CURATE_RELEASE", raising=False)
    for argv, message in (
            (["check", str(tmp_path / "nope.py"), "--release", release], "no such file"),
            (["check", str(tmp_path / "empty.txt"), "--release", release], "is empty"),
            (["check", str(tmp_path / "short.txt"), "--release", release],
             "holds 6 characters, fewer than one 50-character n-gram"),
            (["check", str(tmp_path / "binary.bin"), "--release", release], "not UTF-8"),
            (["check", str(tmp_path / "short.txt"), "--release", str(bare)],
             "has no membership index (membership/ngrams.json)"),
            (["check", str(tmp_path / "short.txt"), "--release", str(tmp_path)],
             "is not a release"),
            (["user", "octo-cat"], "pass --release DIR"),
            (["user", "octo_cat", "--release", release], "may hold only ASCII letters"),
    ):
        code, out, error = _curate(capsys, "membership", *argv)
        assert (code, out) == (2, "") and message in error and error.count("\n") == 1
    monkeypatch.setenv("STACK_CURATE_RELEASE", str(before.release_dir.parent.parent))
    assert _curate(capsys, "membership", "user", "acme")[1].startswith(
        "acme in v1.0.0: 2 repositories")

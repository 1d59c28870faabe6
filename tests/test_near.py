"""Near-dedup inside a candidate group: LSH parameters, band hashes, clusters that do not chain."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from pipeline.config import NearDedupConfig
from pipeline.dedup.keep import keep_key
from pipeline.dedup.minhash import minhash_signatures
from pipeline.dedup.near import band_hashes, cluster_group, optimal_bands
from pipeline.dedup.shingles import jaccard, shingle_set
from pipeline.schema import content_hash, new_record

THRESHOLD, NGRAM = 0.7, 5
REPO_ROOT = Path(__file__).resolve().parents[1]


def _record(repo: str, text: str, stars: int = 0, license_class: str = "permissive",
            path: str = "src/module.py") -> dict:
    return new_record(id=f"{repo}:{path}", kind="file", repo=repo, path=path, content=text,
                      content_hash=content_hash(text), license_class=license_class, stars=stars)


def _words(start: int, stop: int) -> str:
    return " ".join(f"word{i}" for i in range(start, stop))


def _signatures(records: list[dict]) -> np.ndarray:
    return minhash_signatures([record["content"] for record in records], ngram=NGRAM)


def _outcome(marked: list[dict]) -> dict[str, str | None]:
    return {record["repo"]: record["duplicate_of"] for record in marked}


def test_optimal_bands_matches_datasketch_and_the_config():
    assert optimal_bands(0.7, 256) == (25, 10)
    config = NearDedupConfig()
    assert optimal_bands(config.threshold, config.num_perm) == (config.bands, config.rows)
    for threshold, num_perm, weights in ((0.5, 128, (0.5, 0.5)), (0.85, 200, (0.3, 0.7)),
                                         (0.9, 64, (0.5, 0.5))):
        assert optimal_bands(threshold, num_perm, *weights) == _optimal_param(
            threshold, num_perm, *weights)
    with pytest.raises(ValueError):
        optimal_bands(1.0, 256)


def test_band_hashes_are_deterministic_and_follow_the_band_values():
    signatures = np.random.default_rng(7).integers(0, 2**32, size=(5, 256), dtype=np.uint64)
    signatures[1, :10] = signatures[0, :10]  # band 0 equal, all else differs
    hashes = band_hashes(signatures, 25, 10)
    assert hashes.shape == (5, 25) and hashes.dtype == np.uint64
    assert hashes[0, 0] == hashes[1, 0] and (hashes[0, 1:] != hashes[1, 1:]).all()
    assert len(set(hashes.ravel().tolist())) == hashes.size - 1
    assert (band_hashes(signatures.astype(np.uint32), 25, 10) == hashes).all()
    assert (band_hashes(signatures[:, :250], 25, 10) == hashes).all()  # unused tail ignored
    # another interpreter with another hash seed gives the same values
    script = ("import numpy as np, sys; from pipeline.dedup.near import band_hashes; "
              "s = np.array(eval(sys.stdin.read()), dtype=np.uint64); "
              "print(band_hashes(s, 25, 10).tolist())")
    other = subprocess.run([sys.executable, "-c", script], input=repr(signatures.tolist()),
                           capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345"}, cwd=REPO_ROOT)
    assert json.loads(other.stdout) == hashes.tolist()
    with pytest.raises(ValueError):
        band_hashes(signatures, 26, 10)
    with pytest.raises(ValueError):
        band_hashes(signatures.astype(np.float64), 25, 10)


def test_chain_does_not_remove_the_far_end():
    # shingles of words a..b are the 5-grams starting at a..b-5:
    # J(A, B) = J(B, C) = 86/106 = 0.81, J(A, C) = 76/116 = 0.66
    a, b, c = _words(0, 100), _words(10, 110), _words(20, 120)
    assert jaccard(shingle_set(a), shingle_set(c)) < THRESHOLD
    group = [_record("o/c", c, stars=1), _record("o/b", b, stars=5), _record("o/a", a, stars=9)]
    marked = cluster_group(group, THRESHOLD, NGRAM, verify=True)
    # A is kept first; B matches A; C matches only the removed B, so C stays
    assert _outcome(marked) == {"o/a": None, "o/b": "o/a:src/module.py", "o/c": None}
    # with B the best record, both ends are within the threshold of B
    group[1]["stars"] = 99
    assert _outcome(cluster_group(group, THRESHOLD, NGRAM, verify=True)) == {
        "o/b": None, "o/a": "o/b:src/module.py", "o/c": "o/b:src/module.py"}


def _python_file(seed: int) -> str:
    rng = random.Random(seed)
    names = [f"name_{rng.randrange(10**6)}" for _ in range(40)]
    lines = [f"def {names[i]}({names[i + 1]}, {names[i + 2]}):\n"
             f"    return {names[i + 1]} * {rng.randrange(100)} + {names[i + 2]}\n"
             for i in range(0, 36, 3)]
    return "\n".join(lines)


def _edited(text: str, seed: int, edits: int) -> str:
    rng = random.Random(seed)
    words = text.split(" ")
    for _ in range(edits):
        words[rng.randrange(len(words))] = f"edit_{rng.randrange(10**6)}"
    return " ".join(words)


def _planted_group() -> list[dict]:
    original, other = _python_file(1), _python_file(2)
    return [
        _record("small/fork", _edited(original, 3, 2), stars=3),
        _record("big/upstream", original, stars=500),
        _record("copyleft/popular", _edited(original, 4, 1), stars=10_000,
                license_class="non_permissive"),
        _record("other/project", other, stars=1),
        _record("other/fork", _edited(other, 5, 2), stars=0),
    ]


@pytest.mark.parametrize("verify", [True, False])
def test_planted_near_duplicates_point_at_the_keep_rule_choice(verify):
    group = _planted_group()
    marked = cluster_group(group, THRESHOLD, NGRAM, verify=verify,
                           signatures=None if verify else _signatures(group))
    assert [r["repo"] for r in marked] == [r["repo"] for r in sorted(group, key=keep_key)]
    assert _outcome(marked) == {
        "big/upstream": None,  # permissive beats more stars under another licence
        "small/fork": "big/upstream:src/module.py",
        "copyleft/popular": "big/upstream:src/module.py",
        "other/project": None,  # a distinct file is not removed
        "other/fork": "other/project:src/module.py",
    }
    for record in marked:
        if record["reason"] is None:
            assert record["details"] is None and record["stage"] is None
            continue
        details = json.loads(record["details"])
        assert record["reason"] == "near_duplicate" and record["stage"] == "near_dedup"
        assert record["cluster_id"] == record["duplicate_of"]
        assert details["threshold"] == THRESHOLD and details["similarity"] >= THRESHOLD
        assert details["method"] == ("jaccard" if verify else "minhash")


@pytest.mark.parametrize("verify", [True, False])
def test_result_does_not_depend_on_input_order(verify):
    group = _planted_group() + [_record(f"more/r{i}", _edited(_python_file(1), 10 + i, 4 + i),
                                        stars=i % 3) for i in range(8)]
    signatures = _signatures(group)
    expected = cluster_group(group, THRESHOLD, NGRAM, verify=verify, signatures=signatures)
    for seed in range(4):
        order = list(range(len(group)))
        random.Random(seed).shuffle(order)
        assert cluster_group([group[i] for i in order], THRESHOLD, NGRAM, verify=verify,
                             signatures=signatures[order]) == expected


def test_short_documents_are_always_kept():
    group = [_record("o/a", "x = 1", stars=2), _record("o/b", "x = 1 ", stars=1),
             _record("o/c", "", stars=0)]
    same = np.zeros((3, 256), dtype=np.uint64)  # short texts' sketches are all alike
    for verify in (True, False):
        marked = cluster_group(group, THRESHOLD, NGRAM, verify=verify, signatures=same)
        assert all(record["reason"] is None for record in marked)


def test_verification_rejects_a_minhash_false_positive():
    group = [_record("o/a", _python_file(11), stars=2), _record("o/b", _python_file(12))]
    same = np.tile(np.arange(256, dtype=np.uint64), (2, 1))  # a collision on every position
    estimated = cluster_group(group, THRESHOLD, NGRAM, verify=False, signatures=same)
    assert _outcome(estimated) == {"o/a": None, "o/b": "o/a:src/module.py"}
    assert json.loads(estimated[1]["details"])["similarity"] == 1.0
    verified = cluster_group(group, THRESHOLD, NGRAM, verify=True, signatures=same)
    assert all(record["reason"] is None for record in verified)


def _reference(records: list[dict], threshold: float) -> dict[str, str | None]:
    """The rule spelled out: compare each record with every kept one, in keep order."""
    shingles = {r["id"]: shingle_set(r["content"], NGRAM) for r in records}
    kept: list[str] = []
    outcome: dict[str, str | None] = {}
    for record in sorted(records, key=keep_key):
        scores = [(jaccard(shingles[record["id"]], shingles[k]), -i, k)
                  for i, k in enumerate(kept)]
        best = max(scores, default=None)
        if shingles[record["id"]] and best is not None and best[0] >= threshold:
            outcome[record["repo"]] = best[2]
        else:
            outcome[record["repo"]] = None
            if shingles[record["id"]]:
                kept.append(record["id"])
    return outcome


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.85])
def test_exact_clusters_equal_the_plain_rule_on_a_mutation_tree(threshold):
    rng = random.Random(int(threshold * 100))
    texts = [_python_file(99)]
    for i in range(60):  # each text an edit of an earlier one: similarities on both sides
        texts.append(_edited(rng.choice(texts), 1000 + i, rng.randrange(1, 12)))
    group = [_record(f"o/r{i:02d}", text, stars=rng.randrange(5)) for i, text in enumerate(texts)]
    marked = cluster_group(group, threshold, NGRAM, verify=True)
    assert _outcome(marked) == _reference(group, threshold)
    kept = [shingle_set(r["content"]) for r in marked if r["reason"] is None]
    assert all(jaccard(x, y) < threshold for i, x in enumerate(kept) for y in kept[i + 1:])
    removed = sum(r["reason"] is not None for r in marked)
    assert 0 < removed < len(group) - 1  # the tree spans both sides of the threshold


@pytest.mark.parametrize("threshold, unique, shared", [
    (0.7, 3, 7),  # 7/10: A's prefix reaches exactly one shared shingle
    (7 / 12, 45, 63),  # 63/108: float threshold x 108 = 63.00000000000001 rounds up
])
def test_a_pair_exactly_at_the_threshold_is_found(threshold, unique, shared):
    # A = unique words + the common part, B = the common part: A has `unique` shingles of
    # its own (all before the shared ones in the index order) and `shared` in common
    common = _words(1000, 1000 + shared + NGRAM - 1)
    a, b = _words(0, unique) + " " + common, common
    assert jaccard(shingle_set(a), shingle_set(b)) == threshold
    for stars_a, stars_b in ((2, 1), (1, 2)):
        group = [_record("o/a", a, stars=stars_a), _record("o/b", b, stars=stars_b)]
        removed = [r for r in cluster_group(group, threshold, NGRAM, verify=True) if r["reason"]]
        assert len(removed) == 1 and json.loads(removed[0]["details"])["similarity"] == threshold


def test_bad_groups_are_refused():
    record = _record("o/a", _python_file(1))
    with pytest.raises(ValueError, match="twice"):
        cluster_group([record, dict(record)], THRESHOLD, NGRAM, verify=True)
    with pytest.raises(ValueError, match="signature"):
        cluster_group([record], THRESHOLD, NGRAM, verify=False)
    with pytest.raises(ValueError, match="content"):
        cluster_group([dict(record, content=None)], THRESHOLD, NGRAM, verify=True)

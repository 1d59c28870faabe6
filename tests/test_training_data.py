"""The training data path: metadata, FIM, packing, ranks, held-out split, exact resume."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from training_release import write_release

from training.config import DataConfig
from training.data import (LanguageStream, PackedStream, encode_segments, fim_segments,
                           heldout_tokens, metadata_prefix, pack, star_bucket)
from training.release import is_heldout, iter_contents, language_shards
from training.tokenizer import SPECIAL_TOKENS, train_tokenizer

CONFIG = DataConfig(seq_len=64, shuffle_buffer=8, heldout_fraction=0.1)
RECORD = {"id": "x", "repo": "octo/cat", "path": "src/main.py", "stars": 42, "content": "x"}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_release(tmp_path_factory.mktemp("release"))


@pytest.fixture(scope="module")
def tokenizer(release):
    return train_tokenizer(iter_contents(release), vocab_size=400)


def test_star_buckets_are_starcoders():
    assert [star_bucket(s) for s in (None, 0, 1, 10, 11, 100, 101, 1000, 1001, 10**6)] == [
        "0", "0", "1-10", "1-10", "10-100", "10-100", "100-1000", "100-1000", "1000+", "1000+"]


def test_metadata_prefix_parts_rate_and_seed():
    assert metadata_prefix(RECORD, np.random.default_rng(0), 1.0) == (
        "<reponame>octo/cat<filename>src/main.py<gh_stars>10-100\n")
    assert metadata_prefix(RECORD, np.random.default_rng(0), 0.0) == ""
    draws = [metadata_prefix(RECORD, np.random.default_rng(7), 0.2) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(1)
    headers = [metadata_prefix(RECORD, rng, 0.2) for _ in range(4000)]
    for tag in ("<reponame>", "<filename>", "<gh_stars>"):
        share = sum(tag in header for header in headers) / len(headers)
        assert 0.17 < share < 0.23, (tag, share)
    assert sum(header == "" for header in headers) / len(headers) == pytest.approx(0.8 ** 3,
                                                                                   abs=0.03)


def test_fim_is_character_level_psm_or_spm_at_the_configured_rates():
    text = "def héllo(世界):\n    return '✓'\n"
    assert fim_segments(text, np.random.default_rng(0), 0.0, 0.5) == [text]
    rng = np.random.default_rng(3)
    modes = {"none": 0, "psm": 0, "spm": 0}
    for _ in range(4000):
        segments = fim_segments(text, rng, 0.5, 0.5)
        if len(segments) == 1:
            modes["none"] += 1
            continue
        if segments[1] == "<fim_suffix>":  # SPM: <pre><suf>suffix<mid>prefix middle
            _, _, suffix, mid, prefix, middle = segments
            modes["spm"] += 1
        else:                               # PSM: <pre>prefix<suf>suffix<mid>middle
            _, prefix, _, suffix, mid, middle = segments
            modes["psm"] += 1
        assert mid == "<fim_middle>" and prefix + middle + suffix == text
    assert modes["none"] / 4000 == pytest.approx(0.5, abs=0.03)
    assert modes["psm"] / 4000 == pytest.approx(0.25, abs=0.03)
    assert modes["spm"] / 4000 == pytest.approx(0.25, abs=0.03)
    first = [fim_segments(text, np.random.default_rng(9), 1.0, 0.5) for _ in range(2)]
    assert first[0] == first[1]


def test_segments_encode_special_tokens_as_single_ids(tokenizer):
    segments = ["<fim_prefix>", "a = ", "<fim_suffix>", "\n", "<fim_middle>", "1",
                "<|endoftext|>"]
    ids = encode_segments(tokenizer, segments)
    assert [i for i in ids if i < len(SPECIAL_TOKENS)] == [1, 3, 2, 0]
    assert tokenizer.decode(ids, skip_special_tokens=False) == "".join(segments)


def test_packing_loses_no_token():
    documents = [list(range(start, start + size)) for start, size in
                 ((0, 5), (100, 1), (200, 23), (300, 7), (400, 40))]
    stream = iter(documents)
    rows, carry = pack([], stream, 8, 3)
    more, carry = pack(carry, stream, 8, 2)
    assert all(len(row) == 8 for row in rows + more)
    assert sum(rows + more, []) + carry == sum(documents, [])  # 40 in rows, 36 carried


def test_stream_is_seeded_and_resumes_at_the_exact_next_batch(release, tokenizer):
    def stream(seed=0):
        return PackedStream(release, tokenizer, CONFIG, seed=seed)

    first, second = stream(), stream()
    batches = [first.next_batch(4) for _ in range(3)]
    assert all(b.equal(c) for b, c in zip(batches, [second.next_batch(4) for _ in range(3)]))
    assert not stream(seed=1).next_batch(4).equal(batches[0])
    for _ in range(60):  # well past one epoch of every language
        first.next_batch(4)
    state = json.loads(json.dumps(first.state_dict()))
    expected = [first.next_batch(4) for _ in range(3)]
    resumed = stream()
    resumed.load_state_dict(state)
    assert all(b.equal(c) for b, c in zip(expected, [resumed.next_batch(4) for _ in range(3)]))


def _epoch_ids(stream: LanguageStream) -> set[str]:
    ids = set()
    while stream.epoch == 0:
        ids.add(stream._next_record()["id"])
    return ids


def test_ranks_split_the_training_records_and_never_see_held_out_ones(release):
    shards = language_shards(release)["python"]
    ranks = [_epoch_ids(LanguageStream("python", shards, CONFIG, 0, rank, 2)) for rank in (0, 1)]
    everything = _epoch_ids(LanguageStream("python", shards, CONFIG, 0, 0, 1))
    assert ranks[0].isdisjoint(ranks[1]) and ranks[0] | ranks[1] == everything
    assert abs(len(ranks[0]) - len(ranks[1])) <= 6
    assert not any(is_heldout(i, CONFIG.heldout_fraction) for i in everything)
    assert 40 <= len(everything) < 60  # 60 records, ~10% held out


def test_held_out_tokens_per_language(release, tokenizer):
    tokens = heldout_tokens(release, tokenizer, CONFIG.heldout_fraction, 300)
    assert set(tokens) == {"go", "javascript", "python"}
    assert all(0 < len(ids) <= 300 and 0 in ids for ids in tokens.values())


def test_language_weights_steer_the_mix(release, tokenizer):
    config = dataclasses.replace(CONFIG, language_weights={"go": 0.0, "python": 20.0})
    stream = PackedStream(release, tokenizer, config, seed=0)
    assert stream.languages == ["javascript", "python"]
    assert stream.probabilities["python"] > 0.9

"""curate tokenizer train: byte-level BPE with StarCoder's special tokens (issue 13)."""
from __future__ import annotations

import pytest
from training_release import write_release

from jobs.cli import main
from training.tokenizer import SPECIAL_TOKENS, load_tokenizer

SAMPLES = [
    "def f(x):\n    return x * 2  # doubled\n",
    "fn main() { println!(\"héllo, 世界 🚀\"); }\n",
    "const s = `Ünïcode ✓ ${x}`;\t\r\n",
    "SELECT naïve FROM café WHERE 1 = 1;",
    "\x00\x7f odd bytes and \ufeff BOM",
]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tok")
    release = write_release(root / "release")
    assert main(["tokenizer", "train", "--release", str(release), "--out", str(root / "tok"),
                 "--vocab-size", "600"]) == 0
    return root / "tok"


def test_round_trip_on_multilingual_code(tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    for text in SAMPLES:
        assert tokenizer.decode(tokenizer.encode(text).ids, skip_special_tokens=False) == text


def test_special_tokens_are_atomic_and_first(tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    for index, token in enumerate(SPECIAL_TOKENS):
        assert tokenizer.token_to_id(token) == index
        assert tokenizer.encode(f"x{token}y").ids.count(index) == 1
    text = "<fim_prefix>def f(<fim_suffix>)\n<fim_middle>x<|endoftext|>"
    ids = tokenizer.encode(text).ids
    assert [i for i in ids if i < len(SPECIAL_TOKENS)] == [1, 3, 2, 0]
    assert tokenizer.decode(ids, skip_special_tokens=False) == text


def test_transformers_autotokenizer_loads_it_offline(tokenizer_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    fast = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert fast.eos_token == "<|endoftext|>" and fast.eos_token_id == 0
    assert set(SPECIAL_TOKENS) <= set(fast.all_special_tokens)
    for text in SAMPLES:
        assert fast.decode(fast(text)["input_ids"]) == text
    assert len(fast) <= 600

"""StarCoder's tokenizer recipe: byte-level BPE trained with ``tokenizers`` on a release, with
StarCoder's special tokens, saved as a ``PreTrainedTokenizerFast`` (AutoTokenizer loads it)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from training.release import iter_contents

EOS = "<|endoftext|>"
FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD = ("<fim_prefix>", "<fim_middle>", "<fim_suffix>",
                                               "<fim_pad>")
FILENAME, GH_STARS, REPONAME = "<filename>", "<gh_stars>", "<reponame>"
# StarCoder's special tokens in the order of its vocabulary (bigcode/starcoder tokenizer.json,
# ids 0-18).
SPECIAL_TOKENS = (
    EOS, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD, FILENAME, GH_STARS,
    "<issue_start>", "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>",
    "<jupyter_code>", "<jupyter_output>", "<empty_output>", "<commit_before>", "<commit_msg>",
    "<commit_after>", REPONAME,
)
VOCAB_SIZE = 49_152  # StarCoder's vocabulary (Li et al. 2023, §5.1)
MIN_FREQUENCY = 2    # a merge seen once teaches nothing (tokenizers' BpeTrainer option)


def new_tokenizer() -> Tokenizer:
    """An untrained byte-level BPE with StarCoder's pre-tokenizer: digits split one by one,
    then GPT-2's byte-level regex (bigcode/starcoder tokenizer.json)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_tokenizer(texts: Iterable[str], vocab_size: int = VOCAB_SIZE) -> Tokenizer:
    """A byte-level BPE trained on ``texts``; every byte is in the alphabet, so any text
    round-trips, and the special tokens come first and are never split."""
    tokenizer = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=MIN_FREQUENCY,
                                  special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, out: Path) -> Path:
    """Write ``out`` as transformers' fast tokenizer files (tokenizer.json and its config)."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=EOS, eos_token=EOS, unk_token=EOS,
        additional_special_tokens=list(SPECIAL_TOKENS[1:]))
    fast.save_pretrained(str(out))
    return Path(out)


def train_release_tokenizer(release: Path, out: Path, vocab_size: int = VOCAB_SIZE) -> Path:
    """``curate tokenizer train``: train on every document of ``release`` and save to ``out``."""
    return save_tokenizer(train_tokenizer(iter_contents(release), vocab_size), out)


def load_tokenizer(directory: Path) -> Tokenizer:
    """The raw ``tokenizers`` object saved by :func:`save_tokenizer` (the data path's)."""
    return Tokenizer.from_file(str(Path(directory) / "tokenizer.json"))

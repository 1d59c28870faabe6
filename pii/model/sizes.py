"""Encoder sizes: a table of named shapes and the BERT config each one builds.

| name  | layers | hidden | heads | ffn  | vocab  | source |
|-------|--------|--------|-------|------|--------|--------|
| tiny  | 2      | 64     | 2     | 256  | 1,024  | tests: trains in seconds on one CPU thread |
| mini  | 2      | 128    | 2     | 512  | 8,192  | BERT-Tiny's shape (1); 1.5 M parameters (2) |
| small | 4      | 256    | 4     | 1024 | 8,192  | BERT-Mini's shape (1); 5.4 M parameters (2); the default |
| base  | 12     | 768    | 12    | 3072 | 49,152 | StarEncoder (3); StarCoder's vocabulary (4) |

(1) Turc et al. 2019, "Well-Read Students Learn Better" (the small BERTs of google-research/bert).
(2) CPU forward throughput, BertForTokenClassification, batch 16x512, measured by the lead with
    2 threads: mini 57k tokens/s, small 13k tokens/s; measured here with 1 thread: mini 41k,
    small 5.1k (tiny 44k). In fp16 small's weights take 10.8 MB, under the 25 MB shipping limit.
(3) bigcode/starencoder model card: 12 layers, 768 hidden, 12 heads, 3072 ffn (about 125 M).
(4) Li et al. 2023, "StarCoder: may the source be with you!": a 49,152-token BPE.

Any other shape is written ``"<layers>x<hidden>"`` (e.g. ``"3x192"``): 64-dimensional heads and a
feed-forward of 4x hidden, as in BERT (Devlin et al. 2019) and Turc et al. 2019, and vocab 8,192.
Every size has 512 positions: the inference window (BERT's maximum length).

Vocabulary, measured here on the demo release's shards (2,778 files, 25.8 M characters; BPE trained
on the even-numbered files, characters per token measured on the odd-numbered ones):

| vocab  | chars/token |
|--------|-------------|
| 4,096  | 3.19        |
| 8,192  | 3.49        |
| 16,384 | 3.69        |
| 32,768 | 3.82        |

8,192 is the default: each doubling beyond it shortens sequences by only 4-6% while it doubles the
embedding table, which is the bulk of a small model (2.1 M of small's 5.4 M parameters).
"""
from __future__ import annotations

import dataclasses
import re

from transformers import BertConfig

MAX_POSITIONS = 512  # BERT's maximum sequence length (Devlin et al. 2019); the inference window
HEAD_DIM = 64  # BERT-base/large and the small BERTs of Turc et al. 2019 use 64-dimensional heads
FFN_MULT = 4  # feed-forward width = 4 x hidden in BERT and Turc et al. 2019
DEFAULT_VOCAB = 8192  # the chars/token table above (measured on the demo shards)


@dataclasses.dataclass(frozen=True)
class ModelSize:
    """The shape of a BERT-style encoder and the vocabulary size of its tokenizer."""

    name: str
    layers: int
    hidden: int
    heads: int
    ffn: int
    vocab_size: int

    def __post_init__(self) -> None:
        if min(self.layers, self.hidden, self.heads, self.ffn, self.vocab_size) <= 0:
            raise ValueError(f"model size {self.name!r}: every dimension must be positive")
        if self.hidden % self.heads:
            raise ValueError(f"model size {self.name!r}: hidden {self.hidden} is not a multiple "
                             f"of heads {self.heads}")


SIZES: dict[str, ModelSize] = {size.name: size for size in (
    ModelSize("tiny", layers=2, hidden=64, heads=2, ffn=256, vocab_size=1024),
    ModelSize("mini", layers=2, hidden=128, heads=2, ffn=512, vocab_size=DEFAULT_VOCAB),
    ModelSize("small", layers=4, hidden=256, heads=4, ffn=1024, vocab_size=DEFAULT_VOCAB),
    ModelSize("base", layers=12, hidden=768, heads=12, ffn=3072, vocab_size=49152),
)}
DEFAULT_SIZE = "small"  # runs at a useful speed on CPU and ships in fp16 under 25 MB (table above)

_SHAPE = re.compile(r"(\d+)x(\d+)")


def resolve_size(size: str | ModelSize) -> ModelSize:
    """A ModelSize from a table name, a ``"<layers>x<hidden>"`` shape, or a ModelSize itself."""
    if isinstance(size, ModelSize):
        return size
    if size in SIZES:
        return SIZES[size]
    shape = _SHAPE.fullmatch(size)
    if shape is None:
        raise ValueError(f"unknown model size {size!r}: use one of {', '.join(SIZES)} "
                         f"or '<layers>x<hidden>' such as '3x192'")
    layers, hidden = int(shape[1]), int(shape[2])
    if hidden % HEAD_DIM:
        raise ValueError(f"model size {size!r}: hidden must be a multiple of {HEAD_DIM}")
    return ModelSize(size, layers=layers, hidden=hidden, heads=hidden // HEAD_DIM,
                     ffn=FFN_MULT * hidden, vocab_size=DEFAULT_VOCAB)


def bert_config(size: ModelSize, vocab_size: int, pad_token_id: int, **labels) -> BertConfig:
    """The BertConfig of ``size`` for a tokenizer of ``vocab_size`` tokens (labels: id2label, label2id)."""
    return BertConfig(vocab_size=vocab_size, hidden_size=size.hidden,
                      num_hidden_layers=size.layers, num_attention_heads=size.heads,
                      intermediate_size=size.ffn, max_position_embeddings=MAX_POSITIONS,
                      pad_token_id=pad_token_id, **labels)

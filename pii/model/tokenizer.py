"""A byte-level BPE tokenizer trained on code, saved so ``AutoTokenizer`` loads it offline.

Byte-level BPE (GPT-2; StarCoder's tokenizer is one too) needs no unknown token: every byte has a
token. Offsets come back as Python character offsets: a token that holds part of a multi-byte
character (a CJK character or an emoji split into byte tokens) gets the whole character's offsets,
so every token's offsets slice the text exactly (tests/test_pii_model.py checks CJK and emoji).
A token may begin with the space before a word (``" foo"``); span decoding strips it.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from pii.model.sizes import MAX_POSITIONS

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"  # BERT's special tokens
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)  # ids 0..4 in this order
MIN_PAIR_FREQUENCY = 2  # a pair seen once is noise; the tokenizers library's BPE examples use 2
TEXT_COLUMN = "content"  # the shards' text column (pipeline/schema)


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE of at most ``vocab_size`` tokens (specials included) on ``texts``."""
    if vocab_size <= len(SPECIAL_TOKENS) + 256:
        raise ValueError(f"vocab_size {vocab_size} leaves no room for merges: it must exceed "
                         f"{len(SPECIAL_TOKENS) + 256} (specials + 256 bytes)")
    backend = Tokenizer(models.BPE())
    # add_prefix_space=False: a space would shift every offset of the text by one
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=MIN_PAIR_FREQUENCY,
                                  special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = backend.token_to_id(CLS), backend.token_to_id(SEP)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=PAD, unk_token=UNK,
                                   cls_token=CLS, sep_token=SEP, mask_token=MASK,
                                   model_max_length=MAX_POSITIONS)


def read_shard_texts(shards_dir: str | Path) -> list[str]:
    """The non-empty ``content`` values of every Parquet file under ``shards_dir``, in path order."""
    root = Path(shards_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"shards directory {root} does not exist")
    paths = sorted(root.rglob("*.parquet"))
    if not paths:
        raise ValueError(f"no Parquet files under {root}")
    texts: list[str] = []
    for path in paths:
        columns = pq.read_schema(path).names
        if TEXT_COLUMN not in columns:
            raise ValueError(f"{path} has no {TEXT_COLUMN!r} column (columns: {', '.join(columns)})")
        column = pq.read_table(path, columns=[TEXT_COLUMN]).column(TEXT_COLUMN)
        texts.extend(text for text in column.to_pylist() if text)
    if not texts:
        raise ValueError(f"the Parquet files under {root} hold no non-empty {TEXT_COLUMN!r}")
    return texts


def encode_with_offsets(tokenizer, texts: list[str]) -> tuple[list[list[int]], list[list[tuple[int, int]]]]:
    """Token ids and character offsets of each text, without special tokens or truncation."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"tokenizer {type(tokenizer).__name__} is not a fast (Rust) tokenizer: "
                         "character offsets need a tokenizer.json")
    backend = tokenizer.backend_tokenizer
    if backend.truncation is None and backend.padding is None:
        # the Rust tokenizer itself: the same ids and offsets, without transformers' conversion
        # of every encoding into Python dicts (a tenth of the cascade's time on real code)
        encodings = backend.encode_batch(texts, add_special_tokens=False)
        return [encoding.ids for encoding in encodings], [encoding.offsets for encoding in encodings]
    encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True,
                        return_attention_mask=False, return_token_type_ids=False, verbose=False)
    return encoded["input_ids"], encoded["offset_mapping"]


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special-token ids the tokenizer puts before and after one sequence (BERT: [CLS], [SEP])."""
    encoded = tokenizer("a", add_special_tokens=True, return_special_tokens_mask=True)
    ids, special = encoded["input_ids"], encoded["special_tokens_mask"]
    if all(special):
        raise ValueError(f"tokenizer {type(tokenizer).__name__} turns text into special tokens only")
    first = special.index(0)
    last = len(special) - special[::-1].index(0)
    return ids[:first], ids[last:]


def position_limit(model, tokenizer) -> int:
    """The most tokens (special ones included) the model and tokenizer take in one sequence."""
    limit = tokenizer.model_max_length
    config_max = getattr(model.config, "max_position_embeddings", None)
    if config_max is not None:
        positions = getattr(getattr(model.base_model, "embeddings", None), "position_embeddings", None)
        # RoBERTa-style embeddings number positions from padding_idx + 1
        padding_idx = getattr(positions, "padding_idx", None)
        limit = min(limit, config_max - (padding_idx + 1 if padding_idx is not None else 0))
    return limit

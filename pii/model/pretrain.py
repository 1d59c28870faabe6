"""Masked-language-model pretraining of the encoder on the pipeline's own shards.

Trains the byte-level BPE on the shard texts, packs them into windows of ``seq_len`` tokens
(``[CLS]`` + tokens + ``[SEP]``, documents joined by ``[SEP]``, as RoBERTa's FULL-SENTENCES packing
but with BERT's special tokens), masks 15% of the tokens of each batch (of those, 80% become
``[MASK]``, 10% a random token, 10% stay: BERT, Devlin et al. 2019, §3.1) and trains a
BertForMaskedLM built from a config. The output directory loads with ``AutoModelForMaskedLM`` and
``AutoTokenizer`` and is what ``finetune(init_dir=...)`` starts from.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import BertForMaskedLM

from pii.model.runtime import resolve_device, thread_limit
from pii.model.sizes import (
    DEFAULT_SIZE,
    MAX_POSITIONS,
    ModelSize,
    bert_config,
    resolve_size,
)
from pii.model.tokenizer import read_shard_texts, train_tokenizer
from pii.model.training import (
    Hyperparameters,
    parameter_count,
    save_checkpoint,
    seed_everything,
    train_steps,
)

MASK_PROB = 0.15  # BERT (Devlin et al. 2019, §3.1)
MASK_TOKEN_SHARE, RANDOM_TOKEN_SHARE = 0.8, 0.1  # of masked positions; the other 10% stay (BERT §3.1)
# RoBERTa-base's peak is 6e-4 (Liu et al. 2019, Table 9). Measured here (mini, 32x128, 150 steps on
# a fifth of the demo shards): final loss 7.54 at 2e-4; 6.95, 6.91, 6.91 at 5e-4, 1e-3, 2e-3.
PRETRAIN_LR = 5e-4
ENCODE_CHUNK = 1024  # texts tokenized per call: bounds the Python lists alive at once


def pack_windows(token_ids: Sequence[np.ndarray], seq_len: int, cls_id: int, sep_id: int,
                 pad_id: int) -> np.ndarray:
    """Rows of ``seq_len`` ids: ``[CLS]`` + a slice of the ``[SEP]``-joined stream + ``[SEP]``.

    The stream's tail fills a last, padded row, so no token is dropped.
    """
    if seq_len < 3:
        raise ValueError(f"seq_len must be at least 3 ([CLS], a token, [SEP]), got {seq_len}")
    sep = np.array([sep_id], dtype=np.int32)
    stream = np.concatenate([part for ids in token_ids for part in (ids, sep)])
    body = seq_len - 2
    rows = math.ceil(len(stream) / body)
    packed = np.full((rows, seq_len), pad_id, dtype=np.int32)
    packed[:, 0] = cls_id
    for row in range(rows):
        chunk = stream[row * body:(row + 1) * body]
        packed[row, 1:1 + len(chunk)] = chunk
        packed[row, 1 + len(chunk)] = sep_id
    return packed


def mask_tokens(ids: torch.Tensor, special: torch.Tensor, mask_id: int, vocab_size: int,
                first_regular_id: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of a batch: (inputs, labels), labels -100 where no prediction is asked."""
    chosen = (torch.rand(ids.shape, generator=generator) < MASK_PROB) & ~special
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    draw = torch.rand(ids.shape, generator=generator)
    to_mask = chosen & (draw < MASK_TOKEN_SHARE)
    to_random = chosen & (draw >= MASK_TOKEN_SHARE) & (draw < MASK_TOKEN_SHARE + RANDOM_TOKEN_SHARE)
    random_ids = torch.randint(first_regular_id, vocab_size, ids.shape, generator=generator)
    inputs = torch.where(to_mask, torch.full_like(ids, mask_id), ids)
    inputs = torch.where(to_random, random_ids, inputs)
    return inputs, labels


def masked_lm_loss(model: BertForMaskedLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """MLM cross-entropy with the vocabulary head run on the masked positions only.

    Same loss as ``BertForMaskedLM(labels=...)``, which scores every position: with a vocabulary
    of 8,192 and 15% masking the head would otherwise cost about as much as the encoder.
    """
    hidden = model.bert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])[0]
    chosen = batch["labels"] != -100
    if not chosen.any():  # nothing masked in this batch: no signal, zero loss
        return hidden.sum() * 0.0
    logits = model.cls(hidden[chosen])
    return torch.nn.functional.cross_entropy(logits.float(), batch["labels"][chosen])


def _mlm_batches(packed: np.ndarray, batch_size: int, tokenizer, seed: int) -> Iterator[dict]:
    """Endless MLM batches: rows in a fresh seeded order each epoch, masks from a seeded generator."""
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    specials = torch.tensor(sorted(tokenizer.all_special_ids))
    first_regular_id = max(tokenizer.all_special_ids) + 1  # tokenizer.py puts specials first
    while True:
        order = rng.permutation(len(packed))
        for begin in range(0, len(order), batch_size):
            ids = torch.from_numpy(packed[order[begin:begin + batch_size]].astype(np.int64))
            special = torch.isin(ids, specials)
            inputs, labels = mask_tokens(ids, special, tokenizer.mask_token_id, len(tokenizer),
                                         first_regular_id, generator)
            yield {"input_ids": inputs, "attention_mask": (ids != tokenizer.pad_token_id).long(),
                   "labels": labels}


def pretrain(source: str | Path | Sequence[str], out_dir: str | Path, *,
             size: str | ModelSize = DEFAULT_SIZE,
             seq_len: int = MAX_POSITIONS,  # the inference window
             **hyperparameters: Any) -> dict:
    """Train tokenizer and encoder with MLM on ``source`` (a shards directory or texts).

    ``hyperparameters`` are fields of :class:`~pii.model.training.Hyperparameters`; ``lr``
    defaults to :data:`PRETRAIN_LR`, ``steps`` to one pass over the packed windows.
    Writes an HF model directory (config.json, model.safetensors, tokenizer files) and
    ``train_log.json`` to ``out_dir``; returns the log. ``threads`` limits torch's CPU threads
    (the tokenizer's Rust threads follow RAYON_NUM_THREADS). All texts are held in memory.
    Deterministic for a seed, thread count and device.
    """
    hyper = Hyperparameters(**{"lr": PRETRAIN_LR, **hyperparameters})
    model_size = resolve_size(size)
    if not 3 <= seq_len <= MAX_POSITIONS:
        raise ValueError(f"seq_len must be in [3, {MAX_POSITIONS}], got {seq_len}")
    texts = read_shard_texts(source) if isinstance(source, (str, Path)) else list(source)
    if not texts or not all(isinstance(text, str) for text in texts):
        raise ValueError("pretraining needs a non-empty sequence of strings")
    run_device = resolve_device(hyper.device)
    with thread_limit(hyper.threads):
        seed_everything(hyper.seed)
        tokenizer = train_tokenizer(texts, model_size.vocab_size)
        token_ids = []
        for begin in range(0, len(texts), ENCODE_CHUNK):
            encoded = tokenizer(texts[begin:begin + ENCODE_CHUNK], add_special_tokens=False,
                                return_attention_mask=False, return_token_type_ids=False,
                                verbose=False)["input_ids"]
            token_ids.extend(np.asarray(ids, dtype=np.int32) for ids in encoded)
        packed = pack_windows(token_ids, seq_len, tokenizer.cls_token_id, tokenizer.sep_token_id,
                              tokenizer.pad_token_id)
        total_steps = (hyper.steps if hyper.steps is not None
                       else math.ceil(len(packed) / hyper.batch_size))
        model = BertForMaskedLM(bert_config(model_size, len(tokenizer), tokenizer.pad_token_id))
        batches = _mlm_batches(packed, hyper.batch_size, tokenizer, hyper.seed)
        log, totals = train_steps(model, batches, hyper, steps=total_steps, device=run_device,
                                  loss_of=masked_lm_loss)
    record = {
        "task": "pretrain", "seed": hyper.seed, "size": dataclasses.asdict(model_size),
        "parameters": parameter_count(model), "device": run_device.type,
        "args": {"source": str(source) if isinstance(source, (str, Path)) else f"{len(texts)} texts",
                 "seq_len": seq_len, **hyper.logged(total_steps)},
        "data": {"texts": len(texts), "chars": sum(map(len, texts)),
                 "tokens": int(sum(len(ids) for ids in token_ids)), "windows": len(packed),
                 "vocab_size": len(tokenizer)},
        "log": log, **totals,
    }
    save_checkpoint(model, tokenizer, out_dir, hyper.save_dtype, record)
    return record

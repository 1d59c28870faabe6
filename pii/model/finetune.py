"""Fine-tuning the encoder for token classification: BIO tags over the six PII entities.

Each labelled document is tokenized once; token tags come from its character spans through the
tokenizer's offsets (pii/model/labels.py); documents longer than one window are cut into
consecutive windows. Windows are bucketed by length each epoch (sorted by length with random
tie-breaks, then batches shuffled) so padding stays small.
"""
from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    BertForTokenClassification,
)

from pii.labelled import LabelledText, read_labelled
from pii.model.labels import IGNORE_INDEX, bio_labels, spans_to_tags
from pii.model.runtime import resolve_device, thread_limit
from pii.model.sizes import (
    DEFAULT_SIZE,
    MAX_POSITIONS,
    ModelSize,
    bert_config,
    resolve_size,
)
from pii.model.tokenizer import (
    encode_with_offsets,
    position_limit,
    special_frame,
    train_tokenizer,
)
from pii.model.training import (
    Hyperparameters,
    parameter_count,
    save_checkpoint,
    seed_everything,
    train_steps,
)
from pii.model.windows import window_starts

# google-research/bert README: the small BERTs of Turc et al. 2019 were fine-tuned with
# lr in {3e-4, 1e-4, 5e-5, 3e-5}; 1e-4 is the middle of that grid for models this size.
FINETUNE_LR = 1e-4
EPOCHS = 3  # BERT fine-tuning runs 2-4 epochs (Devlin et al. 2019, §A.3)


@dataclasses.dataclass(frozen=True)
class Example:
    """One training window: input ids (special tokens included) and a tag id per position."""

    input_ids: np.ndarray
    labels: np.ndarray


def build_examples(docs: Sequence[LabelledText], tokenizer, max_len: int,
                   label2id: dict[str, int]) -> tuple[list[Example], dict]:
    """Windows of at most ``max_len`` tokens over every document, with their tag ids and stats."""
    prefix, suffix = special_frame(tokenizer)
    body = max_len - len(prefix) - len(suffix)
    if body <= 0:
        raise ValueError(f"max_len {max_len} leaves no room between the special tokens")
    all_ids, all_offsets = encode_with_offsets(tokenizer, [doc.text for doc in docs])
    examples, conflicts, cut = [], 0, 0
    for doc, ids, offsets in zip(docs, all_ids, all_offsets):
        tags, doc_conflicts = spans_to_tags(offsets, doc.spans, label2id)
        conflicts += doc_conflicts
        starts = window_starts(len(ids), body, overlap=0)
        cut += len(starts) > 1
        for start in starts:
            end = min(start + body, len(ids))
            examples.append(Example(
                np.asarray(prefix + ids[start:end] + suffix, dtype=np.int64),
                np.concatenate([np.full(len(prefix), IGNORE_INDEX), tags[start:end],
                                np.full(len(suffix), IGNORE_INDEX)]).astype(np.int64)))
    if not examples:
        raise ValueError("the labelled documents hold no tokens")
    spans = Counter(span.label for doc in docs for span in doc.spans)
    stats = {"documents": len(docs), "documents_cut": cut, "windows": len(examples),
             "tokens": int(sum(len(ids) for ids in all_ids)), "spans": dict(sorted(spans.items())),
             "tokens_claimed_twice": conflicts}
    return examples, stats


def _bucketed_batches(examples: Sequence[Example], batch_size: int, pad_id: int,
                      seed: int) -> Iterator[dict]:
    """Endless padded batches; each epoch sorts by length (random ties) and shuffles batches."""
    rng = np.random.default_rng(seed)
    lengths = np.array([len(example.input_ids) for example in examples])
    while True:
        order = np.lexsort((rng.random(len(examples)), lengths))
        batches = [order[begin:begin + batch_size] for begin in range(0, len(order), batch_size)]
        for index in rng.permutation(len(batches)):
            chosen = [examples[i] for i in batches[index]]
            width = max(len(example.input_ids) for example in chosen)
            ids = np.full((len(chosen), width), pad_id, dtype=np.int64)
            labels = np.full((len(chosen), width), IGNORE_INDEX, dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, example in enumerate(chosen):
                ids[row, :len(example.input_ids)] = example.input_ids
                labels[row, :len(example.labels)] = example.labels
                mask[row, :len(example.input_ids)] = 1
            yield {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                   "labels": torch.from_numpy(labels)}


def _initial_model(docs: Sequence[LabelledText], init_dir: str | Path | None,
                   size: str | ModelSize | None, labels: list[str]):
    """Tokenizer and token classifier: from ``init_dir`` (new head), or new ones of ``size``."""
    id2label = dict(enumerate(labels))
    label2id = {label: index for index, label in id2label.items()}
    if init_dir is None:
        model_size = resolve_size(size if size is not None else DEFAULT_SIZE)
        tokenizer = train_tokenizer((doc.text for doc in docs), model_size.vocab_size)
        config = bert_config(model_size, len(tokenizer), tokenizer.pad_token_id,
                             id2label=id2label, label2id=label2id)
        return tokenizer, BertForTokenClassification(config), dataclasses.asdict(model_size)
    if size is not None:
        raise ValueError("size and init_dir both given: the initial checkpoint fixes the size")
    if not Path(init_dir).is_dir():
        raise FileNotFoundError(f"initial checkpoint {init_dir} does not exist")
    tokenizer = AutoTokenizer.from_pretrained(init_dir, local_files_only=True)
    model = AutoModelForTokenClassification.from_pretrained(
        init_dir, local_files_only=True, dtype=torch.float32, num_labels=len(labels),
        id2label=id2label, label2id=label2id, ignore_mismatched_sizes=True)
    return tokenizer, model, {"init_dir": str(init_dir)}


def finetune(train_jsonl: str | Path, out_dir: str | Path, *,
             init_dir: str | Path | None = None,  # a pretrain() output, or any local HF encoder
             size: str | ModelSize | None = None,  # without init_dir; None: DEFAULT_SIZE
             epochs: int = EPOCHS,
             max_len: int = MAX_POSITIONS,  # the inference window
             **hyperparameters: Any) -> dict:
    """Fine-tune a BIO token classifier on labelled JSONL; write the HF directory and train_log.json.

    ``hyperparameters`` are fields of :class:`~pii.model.training.Hyperparameters`; ``lr``
    defaults to :data:`FINETUNE_LR`, and ``steps``, when given, overrides ``epochs``.
    Without ``init_dir`` a new tokenizer is trained on the labelled texts and the model starts
    from random weights. ``threads`` limits torch's CPU threads. Returns the log. Deterministic
    for a seed, thread count and device.
    """
    hyper = Hyperparameters(**{"lr": FINETUNE_LR, **hyperparameters})
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    docs = read_labelled(train_jsonl)
    labels = bio_labels()
    run_device = resolve_device(hyper.device)
    with thread_limit(hyper.threads):
        seed_everything(hyper.seed)
        tokenizer, model, shape = _initial_model(docs, init_dir, size, labels)
        if not 3 <= max_len <= position_limit(model, tokenizer):
            raise ValueError(f"max_len must be in [3, {position_limit(model, tokenizer)}], "
                             f"got {max_len}")
        examples, stats = build_examples(docs, tokenizer, max_len, model.config.label2id)
        per_epoch = math.ceil(len(examples) / hyper.batch_size)
        total_steps = hyper.steps if hyper.steps is not None else epochs * per_epoch
        # without a pad token any id will do: padding is masked out of attention and loss
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        batches = _bucketed_batches(examples, hyper.batch_size, pad_id, hyper.seed)
        log, totals = train_steps(model, batches, hyper, steps=total_steps, device=run_device)
    record = {
        "task": "finetune", "seed": hyper.seed, "size": shape,
        "parameters": parameter_count(model), "device": run_device.type, "labels": labels,
        "args": {"train_jsonl": str(train_jsonl), "init_dir": None if init_dir is None else str(init_dir),
                 "epochs": epochs, "max_len": max_len, **hyper.logged(total_steps)},
        "data": stats, "log": log, **totals,
    }
    save_checkpoint(model, tokenizer, out_dir, hyper.save_dtype, record)
    return record

"""Batched NER inference over many texts, in overlapping windows, on CPU or CUDA.

``predict`` tokenizes all texts in one call, cuts every text into windows (pii/model/windows.py),
sorts ALL windows of ALL texts by length and runs them in batches padded only to the longest window
of the batch. Each token takes its label from the window where it is most central; spans are then
decoded once per text, so an entity that crosses a window boundary comes out whole.
On CUDA: bf16 autocast (fp16 where the GPU lacks bf16), pinned host memory and non-blocking copies.
On CPU: float32 weights (half-precision checkpoints are cast back on load), and by default int8
dynamic quantisation of the Linear layers (2x the tokens per second here; pii/model/default/README.md
compares its F1 with float32), under inference_mode.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer

from pii.entities import Span
from pii.model.labels import Tag, decode_spans, parse_label_map
from pii.model.runtime import half_dtype, quantize_int8, resolve_device
from pii.model.sizes import MAX_POSITIONS
from pii.model.tokenizer import encode_with_offsets, position_limit, special_frame
from pii.model.windows import Window, plan_windows

WINDOW = MAX_POSITIONS  # tokens per window, special tokens included (BERT's 512)
# Tokens shared by consecutive windows: the doc_stride of transformers' question-answering
# examples (run_qa.py, 128 with 384-token windows); every token keeps >= 64 tokens of context a side.
# Measured here on the demo shards (vocab 8,192): the encoder runs 1.35x the texts' tokens
# (overlap 64: 1.19x; no overlap: 1.07x, the special tokens and the last window's shift).
OVERLAP = 128
# Full windows' worth of tokens per forward pass: the batch of the CPU throughput table in
# sizes.py. Shorter windows (the cascade's snippets are often one line) share a pass, up to
# BATCH_SIZE * window tokens: 16 one-line windows a pass spent 4x the time per token here.
BATCH_SIZE = 16


class NerModel:
    """A token-classification checkpoint that predicts PII spans for batches of texts."""

    def __init__(self, model, tokenizer, device: torch.device, window: int = WINDOW,
                 overlap: int = OVERLAP, int8: bool = False) -> None:
        self.model = model.to(device).eval()
        if int8:
            if device.type != "cpu":
                raise ValueError("int8 dynamic quantisation runs on the CPU only")
            self.model = quantize_int8(self.model)
        self.int8 = int8
        self.tokenizer = tokenizer
        self.device = device
        self.tags: list[Tag] = parse_label_map(model.config.id2label)
        self.prefix, self.suffix = special_frame(tokenizer)
        self.window = min(window, position_limit(model, tokenizer))
        self.body = self.window - len(self.prefix) - len(self.suffix)
        if not 0 <= overlap < self.body:
            raise ValueError(f"overlap {overlap} must be in [0, {self.body}) "
                             f"for a {self.window}-token window")
        self.overlap = overlap
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.autocast = half_dtype(device)

    @property
    def entities(self) -> tuple[str, ...]:
        """The PII entities this checkpoint can report, sorted."""
        return tuple(sorted({tag.entity for tag in self.tags if tag.entity is not None}))

    @classmethod
    def from_dir(cls, model_dir: str | Path, device: str = "auto", window: int = WINDOW,
                 overlap: int = OVERLAP, int8: bool | None = None) -> "NerModel":
        """Load a local HF token-classification directory (never from a hub), weights in fp32;
        ``int8`` (default: on the CPU) quantises the Linear layers."""
        path = Path(model_dir)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path} is not a model directory (no config.json)")
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForTokenClassification.from_pretrained(
            path, local_files_only=True, dtype=torch.float32)
        resolved = resolve_device(device)
        int8 = resolved.type == "cpu" if int8 is None else int8
        return cls(model, tokenizer, resolved, window, overlap, int8)

    @classmethod
    def load(cls, model_dir: str | Path, device: str = "auto", window: int = WINDOW,
             overlap: int = OVERLAP, int8: bool | None = None) -> "NerModel":
        """``from_dir``, once per process: later calls with the same arguments share the model."""
        key = (str(Path(model_dir).resolve()), str(resolve_device(device)), window, overlap, int8)
        if key not in _LOADED:
            _LOADED[key] = cls.from_dir(model_dir, device, window, overlap, int8)
        return _LOADED[key]

    def predict(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> list[list[Span]]:
        """PII spans of every text (sorted), detector ``"ner"``, score = mean token probability.
        A forward pass takes up to ``batch_size`` full windows' worth of tokens.

        All texts are tokenized at once and their windows batched together: memory grows with the
        total length of ``texts``, so callers pass bounded batches (a partition's chunk).
        """
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] is {type(text).__name__}, not str")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not texts:
            return []
        all_ids, all_offsets = encode_with_offsets(self.tokenizer, texts)
        windows = [window for doc, ids in enumerate(all_ids)
                   for window in plan_windows(doc, len(ids), self.body, self.overlap)]
        windows.sort(key=lambda w: (w.length, w.doc, w.start))
        tag_ids = [np.zeros(len(ids), dtype=np.int64) for ids in all_ids]
        probs = [np.zeros(len(ids), dtype=np.float32) for ids in all_ids]
        for batch in _token_batches(windows, batch_size * self.window):
            best_prob, best_tag = self._forward(batch, all_ids)
            for row, window in enumerate(batch):
                tokens = slice(len(self.prefix), len(self.prefix) + window.length)
                owned = window.owned
                tag_ids[window.doc][window.start:window.end][owned] = best_tag[row, tokens][owned]
                probs[window.doc][window.start:window.end][owned] = best_prob[row, tokens][owned]
        entity_tags = np.array([tag.entity is not None for tag in self.tags], dtype=bool)
        return [decode_spans(text, offsets, doc_tags, doc_probs, self.tags)
                if entity_tags[doc_tags].any() else []  # no entity token: no span to decode
                for text, offsets, doc_tags, doc_probs in zip(texts, all_offsets, tag_ids, probs)]

    def _forward(self, batch: list[Window], all_ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Probability and id of the most likely tag at every position of a batch of windows."""
        width = len(self.prefix) + max(window.length for window in batch) + len(self.suffix)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, window in enumerate(batch):
            row_ids = self.prefix + all_ids[window.doc][window.start:window.end] + self.suffix
            ids[row, :len(row_ids)] = row_ids
            mask[row, :len(row_ids)] = 1
        input_ids, attention_mask = torch.from_numpy(ids), torch.from_numpy(mask)
        if self.device.type == "cuda":
            input_ids = input_ids.pin_memory().to(self.device, non_blocking=True)
            attention_mask = attention_mask.pin_memory().to(self.device, non_blocking=True)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=self.autocast,
                                                    enabled=self.autocast is not None):
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
            best_prob, best_tag = logits.float().softmax(dim=-1).max(dim=-1)
        return best_prob.cpu().numpy(), best_tag.cpu().numpy()


def _token_batches(windows: list[Window], budget: int) -> Iterator[list[Window]]:
    """Consecutive runs of the (length-sorted) ``windows`` whose padded size, rows times the
    longest row, stays within ``budget`` tokens (a window alone may exceed it)."""
    batch: list[Window] = []
    for window in windows:
        if batch and (len(batch) + 1) * max(window.length, batch[-1].length) > budget:
            yield batch
            batch = []
        batch.append(window)
    if batch:
        yield batch


_LOADED: dict[tuple, NerModel] = {}  # NerModel.load's per-process cache (one model per worker)

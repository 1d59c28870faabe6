"""The data path: a release's shards to packed token sequences, as StarCoder trained.

Per language, a stream reads the shards with pyarrow (row groups one at a time), keeps every
``world_size``-th row for its data-parallel rank, skips the held-out split and shuffles through a
seeded buffer, epoch after epoch. A mixer draws the next document's language by weight, prefixes
metadata, applies fill-in-the-middle at character level, tokenizes, and packs documents separated
by ``<|endoftext|>`` into fixed-length sequences, the remainder carried to the next one. Every
random draw comes from seeded numpy generators whose states, with the streams' positions, buffers
and the carried tokens, make :meth:`PackedStream.state_dict`: loading it gives the exact next
sample.

Sources: StarCoder (Li et al. 2023, §5.1, "Data formatting": metadata prefixes and FIM) and the
FIM paper (Bavarian et al. 2022, §3 and Appendix D: character-level split, PSM and SPM).
"""
from __future__ import annotations

import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.parquet as pq
import torch
from tokenizers import Tokenizer

from training.config import DataConfig
from training.release import COLUMNS, is_heldout, iter_records, language_shards
from training.tokenizer import (EOS, FILENAME, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, GH_STARS,
                                REPONAME, SPECIAL_TOKENS)

# StarCoder's star buckets (Li et al. 2023, §5.1: "0, 1-10, 10-100, 100-1000, 1000+"; the paper
# names the labels only, so each bucket here includes its upper bound): (upper bound, label).
STAR_BUCKETS = ((0, "0"), (10, "1-10"), (100, "10-100"), (1000, "100-1000"))
STARS_ABOVE = "1000+"


def star_bucket(stars: int | None) -> str:
    """StarCoder's label for a repository's star count."""
    for bound, label in STAR_BUCKETS:
        if (stars or 0) <= bound:
            return label
    return STARS_ABOVE


def metadata_prefix(record: dict, rng: np.random.Generator, rate: float) -> str:
    """``<reponame>REPO<filename>PATH<gh_stars>STARS\\n``, each part present with probability
    ``rate``, independently (StarCoder §5.1); empty when none is drawn."""
    draws = rng.random(3)
    parts = [tag + value for tag, value, draw in (
        (REPONAME, record["repo"], draws[0]), (FILENAME, record["path"], draws[1]),
        (GH_STARS, star_bucket(record["stars"]), draws[2])) if draw < rate]
    return "".join(parts) + "\n" if parts else ""


def fim_segments(text: str, rng: np.random.Generator, rate: float, spm_rate: float
                 ) -> list[str]:
    """The document as segments, special tokens as segments of their own: unchanged with
    probability ``1 - rate``; else cut at two character positions drawn uniformly (FIM paper
    §3) into prefix, middle and suffix, and written PSM, ``<fim_prefix>prefix<fim_suffix>suffix
    <fim_middle>middle``, or with probability ``spm_rate`` SPM, ``<fim_prefix><fim_suffix>suffix
    <fim_middle>prefix middle`` (FIM paper Appendix D; BigCode's Megatron-LM ``permute``)."""
    if rng.random() >= rate:
        return [text]
    low, high = sorted(int(cut) for cut in rng.integers(0, len(text) + 1, size=2))
    prefix, middle, suffix = text[:low], text[low:high], text[high:]
    if rng.random() < spm_rate:
        return [FIM_PREFIX, FIM_SUFFIX, suffix, FIM_MIDDLE, prefix, middle]
    return [FIM_PREFIX, prefix, FIM_SUFFIX, suffix, FIM_MIDDLE, middle]


def encode_segments(tokenizer: Tokenizer, segments: list[str]) -> list[int]:
    """Token ids of the segments, each text piece encoded on its own (character-level FIM),
    special-token segments as their one id."""
    ids: list[int] = []
    for segment in segments:
        if segment in SPECIAL_TOKENS:
            ids.append(SPECIAL_TOKENS.index(segment))
        elif segment:
            ids.extend(tokenizer.encode(segment).ids)
    return ids


def pack(carry: list[int], documents: Iterator[list[int]], length: int, rows: int
         ) -> tuple[list[list[int]], list[int]]:
    """``rows`` sequences of ``length`` tokens from ``carry`` then ``documents``, and what is
    left over for the next call: no token is dropped or added."""
    tokens = list(carry)
    while len(tokens) < length * rows:
        tokens.extend(next(documents))
    return ([tokens[i * length:(i + 1) * length] for i in range(rows)],
            tokens[length * rows:])


def _stream_seed(seed: int, language: str, *more: int) -> list[int]:
    return [seed, zlib.crc32(language.encode("utf-8")), *more]


class LanguageStream:
    """One language's training records for one rank, shuffled through a seeded buffer, looping
    over epochs (the shards in a seeded order each epoch)."""

    def __init__(self, language: str, shards: list[Path], config: DataConfig, seed: int,
                 rank: int, world_size: int):
        self.language, self.shards, self.config = language, shards, config
        self.seed, self.rank, self.world_size = seed, rank, world_size
        metadata = [pq.ParquetFile(path).metadata for path in shards]
        self.group_rows = [[meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
                           for meta in metadata]
        self.rng = np.random.default_rng(_stream_seed(seed, language))
        self.epoch, self.shard_pos, self.row, self.found_in_epoch = 0, 0, rank, 0
        self.buffer: list[dict] = []
        self._cached: tuple[int, int, list[dict]] | None = None
        self._epoch_order: tuple[int, list[int]] = (-1, [])

    def _order(self) -> list[int]:
        """This epoch's shard order (computed once an epoch)."""
        if self._epoch_order[0] != self.epoch:
            rng = np.random.default_rng(_stream_seed(self.seed, self.language, self.epoch))
            self._epoch_order = (self.epoch, [int(i) for i in rng.permutation(len(self.shards))])
        return self._epoch_order[1]

    def _record(self, shard: int, row: int) -> dict:
        group, start = 0, 0
        while row >= start + self.group_rows[shard][group]:
            start += self.group_rows[shard][group]
            group += 1
        if self._cached is None or self._cached[:2] != (shard, group):
            table = pq.ParquetFile(self.shards[shard]).read_row_group(group, columns=COLUMNS)
            self._cached = (shard, group, table.to_pylist())
        return self._cached[2][row - start]

    def _next_record(self) -> dict:
        while True:
            if self.shard_pos == len(self.shards):
                if not self.found_in_epoch:
                    raise ValueError(f"no training records of {self.language} for rank "
                                     f"{self.rank} of {self.world_size}")
                self.epoch, self.shard_pos, self.row, self.found_in_epoch = (
                    self.epoch + 1, 0, self.rank, 0)
            shard = self._order()[self.shard_pos]
            if self.row >= sum(self.group_rows[shard]):
                self.shard_pos, self.row = self.shard_pos + 1, self.rank
                continue
            record = self._record(shard, self.row)
            self.row += self.world_size
            if not is_heldout(record["id"], self.config.heldout_fraction):
                self.found_in_epoch += 1
                return record

    def next(self) -> dict:
        """The next record: a uniformly drawn one of the (refilled) buffer."""
        while len(self.buffer) < self.config.shuffle_buffer:
            self.buffer.append(self._next_record())
        pick = int(self.rng.integers(len(self.buffer)))
        self.buffer[pick], self.buffer[-1] = self.buffer[-1], self.buffer[pick]
        return self.buffer.pop()

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "shard_pos": self.shard_pos, "row": self.row,
                "found_in_epoch": self.found_in_epoch, "buffer": list(self.buffer),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.shard_pos, self.row = state["epoch"], state["shard_pos"], state["row"]
        self.found_in_epoch, self.buffer = state["found_in_epoch"], list(state["buffer"])
        self.rng.bit_generator.state = state["rng"]


def training_documents(shards: list[Path], config: DataConfig, rank: int, world_size: int) -> int:
    """How many of these shards' records are one rank's training records (held-out ones left
    out)."""
    count = 0
    for path in shards:
        ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        count += sum(1 for row, record_id in enumerate(ids)
                     if row % world_size == rank
                     and not is_heldout(record_id, config.heldout_fraction))
    return count


def language_probabilities(release: Path, config: DataConfig, rank: int = 0,
                           world_size: int = 1) -> dict[str, float]:
    """The chance that the next document is of a language: its share of training documents
    times its ``language_weights`` entry (1.0 when absent), normalised. With every weight 1.0
    each document is drawn alike, so each language's share of tokens is its share of the data:
    the natural distribution StarCoder sampled (§5.2)."""
    weights = {language: config.language_weights.get(language, 1.0)
               * training_documents(shards, config, rank, world_size)
               for language, shards in language_shards(release).items()}
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"{release}: no training records (all held out or weighted 0)")
    return {language: weight / total for language, weight in weights.items() if weight > 0}


class PackedStream:
    """Packed training sequences of a release for one data-parallel rank (see the module)."""

    def __init__(self, release: Path, tokenizer: Tokenizer, config: DataConfig, seed: int,
                 rank: int = 0, world_size: int = 1):
        self.tokenizer, self.config = tokenizer, config
        self.probabilities = language_probabilities(release, config, rank, world_size)
        shards = language_shards(release)
        self.languages = list(self.probabilities)
        self.streams = {language: LanguageStream(language, shards[language], config, seed,
                                                 rank, world_size)
                        for language in self.languages}
        self.rng = np.random.default_rng([seed, rank, world_size])
        self.carry: list[int] = []
        self.documents = 0

    def transform(self, record: dict) -> list[str]:
        """A record as segments: metadata prefix, then the (maybe FIM-permuted) content."""
        header = metadata_prefix(record, self.rng, self.config.metadata_rate)
        return [header] + fim_segments(record["content"] or "", self.rng, self.config.fim_rate,
                                       self.config.fim_spm_rate)

    def next_document(self) -> list[int]:
        """The next document's tokens, ending with ``<|endoftext|>``."""
        pick = self.rng.choice(len(self.languages), p=list(self.probabilities.values()))
        record = self.streams[self.languages[int(pick)]].next()
        self.documents += 1
        return encode_segments(self.tokenizer, self.transform(record) + [EOS])

    def _documents(self) -> Iterator[list[int]]:
        while True:
            yield self.next_document()

    def next_batch(self, batch_size: int) -> torch.Tensor:
        """``batch_size`` sequences of ``seq_len`` tokens, as a LongTensor."""
        rows, self.carry = pack(self.carry, self._documents(), self.config.seq_len, batch_size)
        return torch.tensor(rows, dtype=torch.long)

    def state_dict(self) -> dict:
        """Everything the next sample depends on, as JSON-able values."""
        return {"rng": self.rng.bit_generator.state, "carry": list(self.carry),
                "documents": self.documents,
                "streams": {name: stream.state_dict() for name, stream in self.streams.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.carry, self.documents = list(state["carry"]), state["documents"]
        for name, stream_state in state["streams"].items():
            self.streams[name].load_state_dict(stream_state)


def heldout_records(release: Path, fraction: float) -> Iterator[tuple[str, dict]]:
    """(language, record) of the held-out split, in shard order."""
    for language, shards in language_shards(release).items():
        for path in shards:
            for record in iter_records(path):
                if is_heldout(record["id"], fraction):
                    yield language, record


def heldout_tokens(release: Path, tokenizer: Tokenizer, fraction: float, max_tokens: int
                   ) -> dict[str, list[int]]:
    """Up to ``max_tokens`` tokens per language of held-out documents as written (no FIM, no
    metadata), each followed by ``<|endoftext|>``."""
    tokens: dict[str, list[int]] = {}
    for language, record in heldout_records(release, fraction):
        have = tokens.setdefault(language, [])
        if len(have) < max_tokens:
            have.extend(encode_segments(tokenizer, [record["content"] or "", EOS]))
    return {language: ids[:max_tokens] for language, ids in tokens.items()}

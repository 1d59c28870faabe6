"""BIO tags over the six entities: from character spans to token tags, and back.

Our checkpoints use ``O`` plus ``B-``/``I-`` for each entity. Any other token-classification
checkpoint is read through its ``id2label``: B/I (also BIOES/BILOU prefixes, ``-`` or ``_``) over
entity names or their synonyms (``EMAIL_ADDRESS``, ``IP``, ``PER``, ...); labels of other entities
(StarPII's ``AMBIGUOUS``, ``ORG``, ...) count as outside.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence

import numpy as np

from pii.entities import (
    EMAIL,
    ENTITIES,
    IP_ADDRESS,
    KEY,
    NAME,
    PASSWORD,
    USERNAME,
    Span,
)

OUTSIDE = "O"
IGNORE_INDEX = -100  # the label torch's cross-entropy (and transformers) skips
DETECTOR = "ner"  # Span.detector of every span this model reports

# Entity names other label sets use (Presidio, StarPII, CoNLL-style NER, secret scanners).
ENTITY_SYNONYMS: dict[str, str] = {
    **{entity: entity for entity in ENTITIES},
    "EMAIL_ADDRESS": EMAIL, "E-MAIL": EMAIL, "MAIL": EMAIL,
    "IP": IP_ADDRESS, "IP_ADDR": IP_ADDRESS, "IPV4": IP_ADDRESS, "IPV6": IP_ADDRESS,
    "IPV4_ADDRESS": IP_ADDRESS, "IPV6_ADDRESS": IP_ADDRESS,
    "SECRET": KEY, "SECRET_KEY": KEY, "API_KEY": KEY, "TOKEN": KEY, "ACCESS_TOKEN": KEY,
    "PASS": PASSWORD, "PASSWD": PASSWORD, "PWD": PASSWORD,
    "PER": NAME, "PERSON": NAME, "PERSON_NAME": NAME,
    "USER": USERNAME, "USER_NAME": USERNAME, "LOGIN": USERNAME,
}
_PREFIXED = re.compile(r"([BIESLU])[-_](.+)")
_BEGIN_PREFIXES = frozenset("BSU")  # B(egin), S(ingle), U(nit) open a new entity


def bio_labels(entities: Sequence[str] = ENTITIES) -> list[str]:
    """``["O", "B-EMAIL", "I-EMAIL", ...]``: the label list our checkpoints are trained with."""
    return [OUTSIDE] + [f"{prefix}-{entity}" for entity in entities for prefix in "BI"]


@dataclasses.dataclass(frozen=True)
class Tag:
    """What one label id means: the entity it marks (None: outside) and whether it opens one."""

    entity: str | None
    begins: bool


def parse_label(label: str) -> Tag:
    """The Tag of one label name; unknown entities and ``O`` are outside."""
    prefixed = _PREFIXED.fullmatch(label.upper())
    prefix, name = (prefixed[1], prefixed[2]) if prefixed else ("I", label.upper())
    entity = ENTITY_SYNONYMS.get(name)
    return Tag(entity, begins=entity is not None and prefix in _BEGIN_PREFIXES)


def parse_label_map(id2label: Mapping[int | str, str]) -> list[Tag]:
    """One Tag per label id (ids must be 0..n-1); error if no label names one of our entities."""
    ids = sorted(int(label_id) for label_id in id2label)
    if ids != list(range(len(ids))):
        raise ValueError(f"label ids must be 0..{len(ids) - 1}, got {ids}")
    by_id = {int(label_id): label for label_id, label in id2label.items()}
    tags = [parse_label(by_id[label_id]) for label_id in ids]
    if not any(tag.entity for tag in tags):
        raise ValueError("the checkpoint's id2label names none of the PII entities "
                         f"{', '.join(ENTITIES)} (labels: {', '.join(by_id[i] for i in ids)})")
    return tags


def spans_to_tags(offsets: Sequence[tuple[int, int]], spans: Sequence[Span],
                  label2id: Mapping[str, int]) -> tuple[np.ndarray, int]:
    """BIO tag ids of the tokens at ``offsets`` and the number of tokens two spans both claimed.

    A token belongs to a span if it shares a character with it; the span's first token is ``B-``.
    A token claimed by two spans keeps the earlier span's tag (the count says how often), and
    the later span begins at its first token of its own.
    """
    bounds = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    starts, ends = bounds[:, 0], bounds[:, 1]
    tags = np.full(len(bounds), label2id[OUTSIDE], dtype=np.int64)
    claimed = np.zeros(len(bounds), dtype=bool)
    conflicts = 0
    for span in sorted(spans):
        inside = np.flatnonzero((starts < span.end) & (ends > span.start) & (ends > starts))
        conflicts += int(claimed[inside].sum())
        inside = inside[~claimed[inside]]
        if inside.size:
            tags[inside] = label2id[f"I-{span.label}"]
            tags[inside[0]] = label2id[f"B-{span.label}"]
            claimed[inside] = True
    return tags, conflicts


def _spaces_only(gap: str) -> bool:
    """Blanks within one line: what lies between the words of one name."""
    return gap != "" and gap.strip(" \t") == ""


def _in_word(char: str) -> bool:
    """A letter, digit or combining mark (Tamil, Devanagari and Thai write vowels as marks)."""
    return char.isalnum() or unicodedata.category(char).startswith("M")


@dataclasses.dataclass
class _Run:
    """An entity being decoded: its characters so far and, per entity its tokens were tagged
    with, the sum of their probabilities (the run's entity is the one with the largest sum)."""

    start: int
    end: int
    votes: dict[str, float]
    tokens: int = 1

    @property
    def entity(self) -> str:
        return max(sorted(self.votes), key=self.votes.__getitem__)

    def add(self, entity: str, end: int, prob: float) -> None:
        self.end = max(self.end, end)
        self.votes[entity] = self.votes.get(entity, 0.0) + prob
        self.tokens += 1

    def span(self, text: str) -> Span | None:
        """The run as a Span: whitespace stripped from both edges, edges inside a word moved
        out to the word's ends (no value ends inside a word; a small model often leaves a
        word's last sub-token outside). None if nothing is left."""
        start, end = self.start, self.end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            return None
        while start > 0 and _in_word(text[start - 1]) and _in_word(text[start]):
            start -= 1
        while end < len(text) and _in_word(text[end]) and _in_word(text[end - 1]):
            end += 1
        entity = self.entity
        return Span(start, end, entity, score=self.votes[entity] / self.tokens, detector=DETECTOR)


def decode_spans(text: str, offsets: Sequence[tuple[int, int]], tag_ids: Sequence[int],
                 probs: Sequence[float], tags: Sequence[Tag]) -> list[Span]:
    """Entity spans from per-token tags: tolerant BIO, edges stripped of whitespace.

    An ``I-`` tag without a ``B-`` opens an entity. A token continues the entity before it when
    no outside token lies between them and it either is an ``I-`` tag or touches that entity (no
    character between them, or byte tokens of one character): two entities never touch in code,
    a small model's stray ``B-`` inside one often does. Entities of one kind with only blanks of
    one line between them are one ("Carly" "Martin" is one name). An entity's tokens vote on
    its kind with their probabilities, so one token tagged ``I-EMAIL`` inside a name does not split the name.
    Score: the winning kind's probability sum over all the entity's tokens. Only entity tokens
    are visited in Python.
    """
    bounds = np.asarray(offsets, dtype=np.int64).reshape(-1, 2)
    tag_ids = np.asarray(tag_ids, dtype=np.int64)
    nonempty = bounds[:, 0] < bounds[:, 1]
    is_entity = np.array([tag.entity is not None for tag in tags], dtype=bool)[tag_ids] & nonempty
    nonempty_before = np.concatenate([[0], np.cumsum(nonempty)])  # non-empty tokens in [0, i)
    runs: list[_Run] = []
    current: _Run | None = None
    previous = -1
    for index in np.flatnonzero(is_entity).tolist():
        start, end = int(bounds[index, 0]), int(bounds[index, 1])
        tag = tags[tag_ids[index]]
        prob = float(probs[index])
        adjacent = previous >= 0 and nonempty_before[index] == nonempty_before[previous + 1]
        if current is not None and adjacent and (not tag.begins or start <= current.end):
            current.add(tag.entity, end, prob)
        else:
            current = _Run(start, end, {tag.entity: prob})
            runs.append(current)
        previous = index
    return _join_blank_separated([span for span in (run.span(text) for run in runs)
                                  if span is not None], text)


# One character that joins the parts of a handle, key or password ("synnove.ellingsen").
_INNER_PUNCTUATION = frozenset("._-+/=:~!#$%^&*")


def _join_blank_separated(spans: list[Span], text: str) -> list[Span]:
    """Spans of one kind with only blanks of one line between them made one ("Carly" and
    "Martin" when the model left a sub-token between them outside), and handles, keys and
    passwords split at one inner punctuation character; scores length-weighted."""
    joined: list[Span] = []
    for span in spans:
        last = joined[-1] if joined else None
        gap = text[last.end:span.start] if last is not None else ""
        if last is not None and last.label == span.label and (
                _spaces_only(gap) or (span.label != NAME and gap in _INNER_PUNCTUATION)):
            weight = (last.end - last.start, span.end - span.start)
            score = (last.score * weight[0] + span.score * weight[1]) / sum(weight)
            joined[-1] = Span(last.start, span.end, span.label, score, last.detector)
        else:
            joined.append(span)
    return joined

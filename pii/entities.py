"""The six PII entities and the span every detector reports.

A span never holds the matched text: only where it is, what it is, who found it and how sure it
is. Offsets are Python string indices (code points) into the text that was analysed.
"""
from __future__ import annotations

import dataclasses

# The entities of StarPII's annotation (Li et al. 2023, "StarCoder", §4.1; bigcode/starpii). What
# counts as each (and what does not) is the policy in pii/policy.py.
EMAIL = "EMAIL"
IP_ADDRESS = "IP_ADDRESS"
KEY = "KEY"
PASSWORD = "PASSWORD"
NAME = "NAME"
USERNAME = "USERNAME"
ENTITIES: tuple[str, ...] = (EMAIL, IP_ADDRESS, KEY, PASSWORD, NAME, USERNAME)


@dataclasses.dataclass(frozen=True, order=True)
class Span:
    """One detected entity: ``text[start:end]`` is the value (never stored here)."""

    start: int
    end: int
    label: str
    score: float = 1.0
    detector: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad span offsets [{self.start}, {self.end})")
        if self.label not in ENTITIES:
            raise ValueError(f"unknown PII entity {self.label!r}; known: {', '.join(ENTITIES)}")

    def overlaps(self, other: "Span") -> bool:
        """Whether the two spans share at least one character."""
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict:
        """The JSON/Arrow form: offsets, label, score (rounded), detector; no value."""
        return {"start": self.start, "end": self.end, "label": self.label,
                "score": round(float(self.score), 4), "detector": self.detector}


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep a set of non-overlapping spans: higher score first, then longer, then earlier.

    Presidio's analyzer only merges overlapping results of the same entity; two detectors that
    disagree on the entity of one stretch of text would otherwise redact it twice.
    """
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start, s.label)):
        if not any(span.overlaps(kept) for kept in chosen):
            chosen.append(span)
    return sorted(chosen)

"""StarCoderData's basic filters: line length and share of alphanumeric characters.

Li et al. 2023 ("StarCoder", §3.1) and bigcode-dataset's ``preprocessing/filtering.py``
(``basic_filters``) drop a file whose longest line exceeds 1000 characters, whose mean line
length exceeds 100, or whose alphanumeric fraction is below 0.25; a value equal to the
threshold is kept, as there. The line-length rules skip prose-like languages, whose
paragraphs are single long lines.
"""
from __future__ import annotations

from collections.abc import Callable

from pipeline.filters.base import ContentRule, record_text
from pipeline.filters.measures import (
    alphanumeric_fraction,
    max_line_length,
    mean_line_length,
)
from pipeline.reasons import Reason


class _LineLengthFilter(ContentRule):
    """A line-length measure over a maximum, for every language but the exempt ones."""

    measure: Callable[[str], float]

    def __init__(self, threshold: float, exempt_languages: tuple[str, ...]):
        self.threshold = threshold
        self.exempt_languages = frozenset(exempt_languages)

    def applies_to(self, record: dict) -> bool:
        return super().applies_to(record) and record["language"] not in self.exempt_languages

    def violation(self, record: dict) -> dict | None:
        value = self.measure(record_text(record))
        return {"value": value, "threshold": self.threshold} if value > self.threshold else None


class MaxLineLengthFilter(_LineLengthFilter):
    """Drops a file with a line longer than the threshold (StarCoder: 1000)."""

    reason = Reason.MAX_LINE_LENGTH
    measure = staticmethod(max_line_length)


class MeanLineLengthFilter(_LineLengthFilter):
    """Drops a file whose mean line length exceeds the threshold (StarCoder: 100)."""

    reason = Reason.MEAN_LINE_LENGTH
    measure = staticmethod(mean_line_length)


class AlphanumericFractionFilter(ContentRule):
    """Drops a file with fewer alphanumeric characters than the threshold (StarCoder: 0.25).

    An empty or whitespace-only file measures 0.0 and is dropped: it has nothing to learn.
    """

    reason = Reason.ALPHANUMERIC_FRACTION

    def __init__(self, threshold: float):
        self.threshold = threshold

    def violation(self, record: dict) -> dict | None:
        value = alphanumeric_fraction(record_text(record))
        return {"value": value, "threshold": self.threshold} if value < self.threshold else None

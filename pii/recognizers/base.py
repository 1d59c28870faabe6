"""The shared shape of this package's Presidio recognizers: regexes whose ``value`` group is
the span, each candidate judged by :func:`pii.policy.is_pii` on the text around it.

Presidio's :class:`PatternRecognizer` reports the whole regex match and validates it with
``validate_result(pattern_text)``, which sees the match alone. PII in code sits next to what
identifies it (``password = "..."``, ``/home/<user>/``) and is judged by that context (a hash
next to ``sha256``, a version after ``v``), so :meth:`ValueRecognizer.analyze` reports only the
``value`` group and hands the policy the offsets into the whole text.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import ClassVar

import regex
from presidio_analyzer import (
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts

from pii import policy
from pii.regions import pod_escape_trimmed

# An assignment's operator in the languages and config formats of code ("=", ":", "=>", ":=",
# "||=", "?=", "<-"), with the key's closing quote or bracket before it; not "==" or "::".
ASSIGN = r"[\"'\]]?[ \t]*(?::=|=>|\|\|=|\?=|<-|=(?![=~])|:(?![:/]))[ \t]*"
# The value of an assignment: a quoted literal (the group never holds the quotes) or an
# unquoted config value, which ends its line (.env, YAML, INI, properties) but for a comment
# or a ";" (connection strings: "Password=...;Database=..."). Unquoted words followed by more
# words, a "," or a ")" are code or prose: "password = user_pw, x", ":param password: The".
QUOTED_VALUE = (r"(?:[rbuf]?\"(?P<value>[^\"\n]{1,256})\"|[rbuf]?'(?P<value>[^'\n]{1,256})'"
                r"|`(?P<value>[^`\n]{1,256})`)")
UNQUOTED_VALUE = r"(?P<value>[^\s\"'`,;(){}\[\]<>]{1,256}+)(?=[ \t]*(?:;|#|//|\r?\n|$))"
ASSIGNED_VALUE = rf"(?:{QUOTED_VALUE}|{UNQUOTED_VALUE})"
# The scheme of a URL whose user-info ("user:password@") follows.
URL_SCHEME = r"(?<![\w+.-])(?i:[a-z][a-z0-9+.-]{1,20})://"


@dataclasses.dataclass(frozen=True)
class Rule:
    """One regex of a recognizer. ``anchors`` are lower-case literals of which a line must
    contain one for the regex to run on that line: a pre-filter, because ``str.find`` scans
    500-1500 MB/s where a regex that opens with a character class scans 5-15 MB/s (both
    measured here on the demo release). Without anchors the regex runs over the whole text.
    Only regexes whose matches stay within a line may have anchors."""

    name: str
    regex: str
    score: float
    anchors: tuple[str, ...] = ()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def lower_same_length(text: str) -> str:
    """``text`` lower-cased with every offset kept (``str.lower`` lengthens a few characters,
    such as "İ"; then only ASCII is lowered)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def lines_containing(lowered: str, anchor: str) -> list[tuple[int, int]]:
    """The (start, end) of every line of ``lowered`` that contains ``anchor``, in order,
    without the line break."""
    lines = []
    hit = lowered.find(anchor)
    while hit >= 0:
        start = lowered.rfind("\n", 0, hit) + 1
        end = lowered.find("\n", hit)
        end = len(lowered) if end < 0 else end
        lines.append((start, end))
        hit = lowered.find(anchor, end)
    return lines


class ValueRecognizer(PatternRecognizer):
    """A pattern recognizer for one entity whose spans are the ``value`` groups of its rules.

    Subclasses set ``ENTITY`` and ``RULES``; :meth:`accept` (the policy, by default) judges
    every candidate, :meth:`value_spans` says which parts of a match are values.
    """

    ENTITY: ClassVar[str]
    RULES: ClassVar[tuple[Rule, ...]]
    # Case matters to most formats (AKIA..., camelCase key names); rules that want case-
    # insensitivity scope it with (?i:...).
    FLAGS: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__(supported_entity=self.ENTITY, name=type(self).__name__,
                         patterns=[Pattern(r.name, r.regex, r.score) for r in self.RULES],
                         global_regex_flags=self.FLAGS)
        self._compiled = [(rule, pattern, regex.compile(rule.regex, self.FLAGS))
                          for rule, pattern in zip(self.RULES, self.patterns)]

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Every policy-approved ``value`` span of every rule (off Perl POD's escapes at its
        edges: :func:`pii.regions.pod_escape_trimmed`), deduplicated."""
        if entities and self.ENTITY not in entities:
            return []
        lowered = lower_same_length(text)
        anchored: dict[str, list[tuple[int, int]]] = {}  # the lines of each anchor, found once
        results = []
        for rule, pattern, compiled in self._compiled:
            if rule.anchors:
                for anchor in rule.anchors:
                    if anchor not in anchored:
                        anchored[anchor] = lines_containing(lowered, anchor)
                windows = sorted({line for anchor in rule.anchors for line in anchored[anchor]})
            else:
                windows = [(0, len(text))]
            for window_start, window_end in windows:
                for match in compiled.finditer(text, window_start, window_end):
                    for start, end in self.value_spans(match, text):
                        start, end = pod_escape_trimmed(text, start, end)
                        if start < end and self.accept(rule.name, text, start, end):
                            results.append(self._result(pattern, start, end))
        return EntityRecognizer.remove_duplicates(results)

    def value_spans(self, match: regex.Match, text: str) -> Iterator[tuple[int, int]]:
        """The spans a match reports: its ``value`` captures (all of them, when a repeated or
        duplicated group captured several), else the whole match."""
        if "value" in match.re.groupindex:
            yield from match.spans("value")
        else:
            yield match.span()

    def accept(self, rule_name: str, text: str, start: int, end: int) -> bool:
        """Whether a candidate is PII: the policy by default; subclasses add format checks."""
        return policy.is_pii(self.ENTITY, text, start, end)

    def _result(self, pattern: Pattern, start: int, end: int) -> RecognizerResult:
        explanation = self.build_regex_explanation(
            self.name, pattern.name, pattern.regex, pattern.score, True, self.FLAGS)
        return RecognizerResult(
            entity_type=self.ENTITY, start=start, end=end, score=pattern.score,
            analysis_explanation=explanation,
            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                  RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})

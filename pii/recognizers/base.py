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
import functools
from collections.abc import Iterable, Iterator
from typing import ClassVar

import ahocorasick
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


class _AnchorSet:
    """The anchors of every rule of every recognizer made so far, in one Aho-Corasick
    automaton (pyahocorasick) that finds which of them a text holds in one pass."""

    def __init__(self) -> None:
        self.anchors: frozenset[str] = frozenset()
        self._automaton: ahocorasick.Automaton | None = None

    def add(self, anchors: Iterable[str]) -> None:
        """Add ``anchors`` (the automaton is rebuilt on its next use)."""
        anchors = self.anchors | set(anchors)
        if anchors != self.anchors:
            self.anchors, self._automaton = anchors, None

    def present(self, lowered: str) -> set[str]:
        """The anchors that occur in ``lowered``."""
        if not self.anchors:
            return set()
        if self._automaton is None:
            automaton = ahocorasick.Automaton()
            for anchor in self.anchors:
                automaton.add_word(anchor, anchor)
            automaton.make_automaton()
            self._automaton = automaton
        return {anchor for _, anchor in self._automaton.iter(lowered)}


_ANCHORS = _AnchorSet()


class TextAnchors:
    """One text lower-cased once and the lines of each anchor in it, shared by all the
    recognizers that read the text: one Aho-Corasick pass says which anchors occur, so an
    absent anchor costs no ``str.find`` scan of the whole text (one scan per anchor and
    recognizer, 160 in all, took a third of the pattern recognizers' time on real code)."""

    def __init__(self, text: str) -> None:
        self.lowered = lower_same_length(text)
        self.known = _ANCHORS.anchors
        self.present = _ANCHORS.present(self.lowered)
        self._lines: dict[str, list[tuple[int, int]]] = {}

    def lines(self, anchor: str) -> list[tuple[int, int]]:
        """:func:`lines_containing` of ``anchor`` in the lower-cased text."""
        if anchor not in self._lines:
            absent = anchor in self.known and anchor not in self.present
            self._lines[anchor] = [] if absent else lines_containing(self.lowered, anchor)
        return self._lines[anchor]

    def windows(self, anchors: tuple[str, ...]) -> list[tuple[int, int]]:
        """The sorted lines that hold one of ``anchors``."""
        if all(anchor in self.known and anchor not in self.present for anchor in anchors):
            return []
        return sorted({line for anchor in anchors for line in self.lines(anchor)})


@functools.lru_cache(maxsize=1)
def text_anchors(text: str) -> TextAnchors:
    """The :class:`TextAnchors` of ``text``, kept while the recognizers read the same text."""
    return TextAnchors(text)


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
        _ANCHORS.add(anchor for rule in self.RULES for anchor in rule.anchors)

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None,
                regex_flags: int | None = None) -> list[RecognizerResult]:
        """Every policy-approved ``value`` span of every rule (off Perl POD's escapes at its
        edges: :func:`pii.regions.pod_escape_trimmed`), deduplicated."""
        if entities and self.ENTITY not in entities:
            return []
        anchors = text_anchors(text)
        results = []
        for rule, pattern, compiled in self._compiled:
            if rule.anchors:
                windows = anchors.windows(rule.anchors)
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

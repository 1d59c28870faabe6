"""Licence detection in a text with ScanCode's licence index, cached by normalised text.

ScanCode's index takes seconds to load, so it is loaded once per process
(:func:`get_detector`) and shared by every :class:`LicenseDetector`. Detection runs on the
NORMALISED text (:func:`normalise_license_text`: copyright and author lines dropped,
whitespace and runs of blank lines collapsed), and its result is cached by the sha256 of that
text: the same MIT, BSD and Apache texts recur across millions of repositories with only
the copyright line changed, and a cache hit gives exactly what a miss would have (the
result is a function of the normalised text alone). Line numbers are mapped back to the
lines of the text that was given.

The detector reports; it does not decide. Which matches make a directory's licence is
:mod:`licenses.resolve`'s business.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import hashlib
import re
import threading
import time

from license_expression import ExpressionError, LicenseWithExceptionSymbol

from licenses.policy import LICENSING, combine_and

# Rule kinds, strongest first, named after ScanCode's rule flags (is_license_text, ...).
RULE_KINDS = ("text", "notice", "tag", "reference", "intro", "clue")

# LRU bound of the detection cache. Measured on the demo corpus (43 sdists): its 101 licence
# files collapse to 53 normalised texts, and an entry takes about 1.4 KB (tracemalloc), so
# 50,000 entries hold about 70 MB per worker.
DEFAULT_CACHE_ENTRIES = 50_000
# Seconds of matching per text before ScanCode returns what it has: ScanCode's own
# per-file default (``scancode --timeout``, 120 s).
DEFAULT_TIMEOUT_S = 120.0

# A copyright or authorship statement: "Copyright (c) ...", "Copyright © ...", "Copyright
# 2020 ...", "(c) 2020 ...", "© 2020 ...", "Portions Copyright ...", "Author(s): ...".
_COPYRIGHT_LINE = re.compile(
    r"""^[\W_]*(?:portions\s+)?(?:
        copyright\s*(?:\(c\)|©)
      | copyright\s+\d{4}
      | (?:\(c\)|©)\s*\d{4}
      | authors?\s*:
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Kept all the same: template lines of licence texts ("Copyright [yyyy] [name of copyright
# owner]", "Copyright (C) <year> <name of author>"), lines that also state a licence
# ("Copyright 2019 Google LLC. Licensed under the Apache License, Version 2.0"), and the
# FSF's own copyright, part of every GNU licence text (keeping it keeps ScanCode's exact
# whole-text match: 0.01 s instead of 0.7 s of approximate matching on the GPL-2.0 text).
_KEEP_LINE = re.compile(
    r"[<\[{]\s*(?:yyyy|year|name|owner|author|copyright)|licen[cs]|permission|granted"
    r"|public\s+domain|free\s+software\s+foundation",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")


@dataclasses.dataclass(frozen=True)
class NormalisedText:
    """A licence text reduced to what decides its licence, and where its lines came from."""

    text: str
    source_lines: tuple[int, ...]  # 1-based line of the original text for each line here

    @property
    def key(self) -> str:
        """sha256 of the normalised text: the detection cache key."""
        return hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_license_text(text: str) -> NormalisedText:
    """Drop copyright/author lines; collapse whitespace in lines and runs of blank lines.

    A dropped line counts as blank, and a run of blank lines becomes one: ScanCode splits
    its query at blank lines, so keeping one where there were some keeps its matches as
    on the original text (on 136 licence files of 60 PyPI/npm packages, dropping blank
    lines altogether changed the detected licences of 3 files, keeping one changed 1).
    """
    kept: list[str] = []
    source_lines: list[int] = []
    blank_since = 0  # first line of the current run of blank/dropped lines; 0: none
    for number, line in enumerate(text.splitlines(), start=1):
        collapsed = _WHITESPACE.sub(" ", line).strip()
        if not collapsed or (_COPYRIGHT_LINE.match(collapsed) and not _KEEP_LINE.search(collapsed)):
            blank_since = blank_since or number
            continue
        if blank_since and kept:
            kept.append("")
            source_lines.append(blank_since)
        blank_since = 0
        kept.append(collapsed)
        source_lines.append(number)
    return NormalisedText("\n".join(kept), tuple(source_lines))


@dataclasses.dataclass(frozen=True)
class Match:
    """One ScanCode match in a text."""

    license: str  # SPDX expression of the matched rule
    score: float  # ScanCode match score, 0-100
    coverage: float  # percentage of the rule's tokens matched, 0-100
    matched_length: int  # matched tokens
    rule_kind: str  # one of RULE_KINDS
    rule: str  # ScanCode rule identifier (mit.LICENSE, apache-2.0_70.RULE, ...)
    start_line: int  # 1-based, in the text given to detect()
    end_line: int


@dataclasses.dataclass(frozen=True)
class FileDetection:
    """What ScanCode found in one text.

    ``expression`` is every matched licence AND-ed together (sorted, deduplicated): the raw
    report, not a decision. ``text_fraction`` is the share of the normalised lines that
    licence texts and notices cover (the rest being prose, tables, lists).
    """

    expression: str | None
    matches: tuple[Match, ...]
    text_fraction: float


def _rule_kind(rule) -> str:
    # Every rule ScanCode returns has one flag; only its false-positive rules have none,
    # and those are filtered out before matches are returned.
    return next(kind for kind in RULE_KINDS if getattr(rule, f"is_license_{kind}"))


def _covered_fraction(spans: list[tuple[int, int]], lines: list[str]) -> float:
    """Share of the non-blank ``lines`` inside the (1-based, inclusive) ``spans``."""
    covered = {n for start, end in spans for n in range(start, end + 1) if lines[n - 1]}
    text_lines = sum(1 for line in lines if line)
    return round(len(covered) / text_lines, 4) if text_lines else 0.0


class LicenseDetector:
    """Detects licences in texts with ScanCode's index (loaded once per process)."""

    def __init__(self, use_cache: bool = True, cache_entries: int = DEFAULT_CACHE_ENTRIES,
                 timeout_s: float = DEFAULT_TIMEOUT_S):
        from licensedcode import cache as scancode_cache

        self._index = scancode_cache.get_index()
        self._licensing = scancode_cache.get_licensing()
        self._to_spdx = scancode_cache.build_spdx_license_expression
        self.use_cache = use_cache
        self.cache_entries = cache_entries
        self.timeout_s = timeout_s
        self._cache: collections.OrderedDict[str, FileDetection] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def cache_info(self) -> dict:
        """Hit and miss counters and the number of cached detections."""
        return {"hits": self.hits, "misses": self.misses, "entries": len(self._cache)}

    def detect(self, text: str) -> FileDetection:
        """Licences in ``text``; line numbers are those of ``text``."""
        normalised = normalise_license_text(text)
        detection = self._cached_detection(normalised)
        return dataclasses.replace(detection, matches=tuple(
            dataclasses.replace(
                m,
                start_line=normalised.source_lines[m.start_line - 1],
                end_line=normalised.source_lines[m.end_line - 1],
            )
            for m in detection.matches
        ))

    def _cached_detection(self, normalised: NormalisedText) -> FileDetection:
        if not self.use_cache:
            self.misses += 1
            return self._detect_normalised(normalised.text)
        key = normalised.key
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        detection = self._detect_normalised(normalised.text)
        with self._lock:
            self._cache[key] = detection
            while len(self._cache) > self.cache_entries:
                self._cache.popitem(last=False)
        return detection

    def _detect_normalised(self, text: str) -> FileDetection:
        """Detection on a normalised text; line numbers are of that text."""
        if not text:
            return FileDetection(None, (), 0.0)
        scancode_matches = self._index.match(
            query_string=text, deadline=time.time() + self.timeout_s, unknown_licenses=False)
        matches = tuple(sorted(
            (
                Match(
                    license=self._to_spdx(m.rule.license_expression, self._licensing),
                    score=float(m.score()),
                    coverage=float(m.coverage()),
                    matched_length=m.len(),
                    rule_kind=_rule_kind(m.rule),
                    rule=m.rule.identifier,
                    start_line=m.start_line,
                    end_line=m.end_line,
                )
                for m in scancode_matches
            ),
            key=lambda m: (m.start_line, m.end_line, m.rule, m.license),
        ))
        expression = combine_and(m.license for m in matches)
        text_spans = [(m.start_line, m.end_line) for m in matches
                      if m.rule_kind in ("text", "notice")]
        return FileDetection(expression, matches, _covered_fraction(text_spans, text.split("\n")))


@functools.lru_cache(maxsize=65_536)
def parse_spdx(statement: str) -> str | None:
    """``statement`` as an SPDX expression in ScanCode's reading (its SPDX ids, old spellings
    such as ``GPL-2.0+`` included, mapped to its licence keys and back to SPDX), or None when
    it is not one: it does not parse, or names an id ScanCode does not know as SPDX ("BSD",
    "MIT License"). ScanCode's package detection reads a declared licence the same way first
    (licensedcode/match_spdx_lid.py ``_parse_expression``), but without its lenient second
    reading, which joins "GPL-2.0 MIT" into an OR."""
    from licensedcode.cache import build_spdx_license_expression, get_licensing, get_spdx_symbols

    try:
        parsed = LICENSING.parse(statement.lower(), simple=True)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    known = get_spdx_symbols()
    table = {}
    for symbol in LICENSING.license_symbols(parsed, unique=True, decompose=False):
        if isinstance(symbol, LicenseWithExceptionSymbol):
            parts = (known.get(symbol.license_symbol.key), known.get(symbol.exception_symbol.key))
            if None in parts:
                return None
            table[symbol] = LicenseWithExceptionSymbol(*parts)
        elif symbol.key in known:
            table[symbol] = known[symbol.key]
        else:
            return None
    return build_spdx_license_expression(parsed.subs(table).render(), get_licensing())


_DETECTOR: LicenseDetector | None = None
_DETECTOR_LOCK = threading.Lock()


def get_detector() -> LicenseDetector:
    """The process-wide detector (with cache); ScanCode's index loads on the first call."""
    global _DETECTOR
    with _DETECTOR_LOCK:
        if _DETECTOR is None:
            _DETECTOR = LicenseDetector()
        return _DETECTOR

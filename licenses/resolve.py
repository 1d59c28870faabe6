"""From ScanCode's matches to a decision per directory, and a licence for every file.

Raw ScanCode output is not a decision: it also reports licences merely MENTIONED (the
GPL-compatibility table inside the Python licence, the third-party list of a NOTICE file),
references ("see LICENSE", "under the MIT license" inside a notice) and low-score partial
matches. A directory's licence is decided from its licence files as follows.

1. A match counts only if its score and rule coverage reach the config's thresholds, and it
   is not an intro ("licensed under the following:") or a clue.
2. In one file, a match is a *statement* when it is a licence text or notice of at least
   ``min_statement_tokens`` tokens, or a dual-licence choice (an expression with OR), and
   names a licence (not only an amendment such as a warranty disclaimer); every other
   counting match (references, tags, short notices) is a *mention*. A file with a
   statement whose lines are mostly licence text (texts and notices cover at least
   ``min_text_coverage`` of them) drops its mentions: a full licence text outweighs the
   licences it merely names. A file with no statement, or mostly prose, keeps its mentions
   ("License: MIT").
3. Across the directory's files: ScanCode's ``unknown-license-reference`` ("see the LICENSE
   file") is dropped when any known licence is stated (The Stack v2 does the same), and so
   are amendments (warranty disclaimers, CLAs: ``policy.NEUTRAL_IDS``); a
   licence text or notice whose licences all appear as alternatives of a stated OR choice
   is the text of that choice, not a licence of its own ("MIT or GPL-2.0, texts below");
   what remains is AND-ed: a LICENSE with MIT and a COPYING with GPL-2.0 make
   ``GPL-2.0-only AND MIT``, non-permissive.
4. Notice files (NOTICE*, third-party lists) are read only when the other licence files
   of the directory decide nothing: they mostly list the licences of other software.

A file's licence is that of the nearest enclosing directory with a decision (walking up to
the repository root); the manifest's licence, when given, wins over every file.
"""
from __future__ import annotations

import dataclasses
import functools
import posixpath
from typing import Mapping

from license_expression import Licensing

from licenses.detect import FileDetection, LicenseDetector, Match
from licenses.files import is_notice_file
from licenses.policy import classify, combine_and
from pipeline.config import LicenseConfig

UNKNOWN_REFERENCE = "LicenseRef-scancode-unknown-license-reference"
# SPDX's special values for "no licence information": treated as no manifest licence.
_NO_ASSERTION = frozenset({"NOASSERTION", "NONE"})
_LICENSING = Licensing()


@dataclasses.dataclass(frozen=True)
class DirectoryDecision:
    """The licence of a directory and the licence files it came from."""

    expression: str | None
    license_class: str
    files: tuple[str, ...]

    @property
    def decided(self) -> bool:
        """Whether the licence files say anything beyond amendments (a CLA, a disclaimer)."""
        return self.license_class != "no_license"


NO_DECISION = DirectoryDecision(None, "no_license", ())


def _counts(match: Match, config: LicenseConfig) -> bool:
    return (match.rule_kind not in ("intro", "clue")
            and match.score >= config.min_match_score
            and match.coverage >= config.min_match_coverage)


def _is_statement(match: Match, config: LicenseConfig) -> bool:
    if classify(match.license) == "no_license":  # only amendments: a disclaimer, a CLA
        return False
    if " OR " in match.license:
        return True
    return (match.rule_kind in ("text", "notice")
            and match.matched_length >= config.min_statement_tokens)


def file_terms(detection: FileDetection, config: LicenseConfig) -> list[Match]:
    """The matches of one licence file that state its licence (rules 1 and 2)."""
    counting = [m for m in detection.matches if _counts(m, config)]
    statements = [m for m in counting if _is_statement(m, config)]
    if statements and detection.text_fraction >= config.min_text_coverage:
        return statements
    return counting


@functools.lru_cache(maxsize=65_536)
def _symbols(expression: str) -> frozenset[str]:
    return frozenset(s.key for s in _LICENSING.license_symbols(expression, decompose=True))


@functools.lru_cache(maxsize=65_536)
def _canonical(expression: str) -> str:
    """One spelling per expression: OR / AND arguments in sorted order."""
    return str(_LICENSING.parse(expression).simplify())


def combine_terms(terms_by_file: Mapping[str, list[Match]]) -> tuple[str | None, tuple[str, ...]]:
    """The directory's expression from its files' terms (rule 3), and the files it used."""
    by_file = {path: {_canonical(m.license) for m in terms}
               for path, terms in terms_by_file.items()}
    expressions = set().union(*by_file.values())
    if len(expressions) > 1:
        expressions.discard(UNKNOWN_REFERENCE)
    licences = {e for e in expressions if classify(e) != "no_license"}
    expressions = licences or expressions  # amendments (a disclaimer) only beside no licence
    choices = [_symbols(e) for e in expressions if " OR " in e]
    kept = {
        e for e in expressions
        if " OR " in e or not any(_symbols(e) <= choice for choice in choices)
    }
    combined = combine_and(kept)
    used = tuple(sorted(path for path, found in by_file.items() if found & expressions))
    return (_canonical(combined) if combined else None), used


def decide_directory(detections: Mapping[str, FileDetection],
                     config: LicenseConfig) -> DirectoryDecision:
    """The decision for one directory from the detections of its licence files."""
    primary = {p: d for p, d in detections.items() if not is_notice_file(p)}
    notices = {p: d for p, d in detections.items() if is_notice_file(p)}
    for group in (primary, notices):
        expression, used = combine_terms(
            {path: file_terms(detection, config) for path, detection in group.items()})
        decision = DirectoryDecision(expression, classify(expression), used)
        if decision.decided:
            return decision
    return NO_DECISION


def resolve_directory(license_files: Mapping[str, str], detector: LicenseDetector,
                      config: LicenseConfig) -> DirectoryDecision:
    """Detect the licence files of one directory (path -> text) and decide."""
    detections = {path: detector.detect(text) for path, text in license_files.items()}
    return decide_directory(detections, config)


def assign_licenses(records: list[dict], license_files: dict[str, str],
                    metadata_license: str | None, detector: LicenseDetector,
                    config: LicenseConfig) -> list[dict]:
    """Copies of ``records`` with ``license``, ``license_class`` and ``license_source`` set.

    ``license_files`` maps each licence file's repository path to its text. The manifest's
    ``metadata_license`` (SPDX) wins when given; otherwise each file takes the decision of
    its nearest enclosing directory that has one, ``license_source`` naming the licence
    files (``;``-joined, sorted); with none, the file has ``no_license``.
    """
    if metadata_license and metadata_license.strip().upper() not in _NO_ASSERTION:
        expression = metadata_license.strip()
        assigned = {"license": expression, "license_class": classify(expression),
                    "license_source": "metadata"}
        return [{**record, **assigned} for record in records]

    by_directory: dict[str, dict[str, str]] = {}
    for path, text in license_files.items():
        by_directory.setdefault(posixpath.dirname(path), {})[path] = text
    decisions = {
        directory: resolve_directory(files, detector, config)
        for directory, files in sorted(by_directory.items())
    }
    nearest: dict[str, DirectoryDecision] = {}

    def decision_for(directory: str) -> DirectoryDecision:
        if directory not in nearest:
            found = decisions.get(directory, NO_DECISION)
            if not found.decided and directory:
                found = decision_for(posixpath.dirname(directory))
            nearest[directory] = found
        return nearest[directory]

    out = []
    for record in records:
        decision = decision_for(posixpath.dirname(record["path"]))
        out.append({
            **record,
            "license": decision.expression,
            "license_class": decision.license_class,
            "license_source": ";".join(decision.files) or None,
        })
    return out

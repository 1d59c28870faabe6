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
   ("License: MIT"). A match of proprietary, commercial or unknown terms
   (:func:`policy.names_unfree_terms`) is always a statement, however short: free licence
   texts name other FREE licences in passing, never such terms, so an agreement that quotes
   the MIT and BSD notices of bundled components stays non-permissive.
3. Across the directory's files: ScanCode's ``unknown-license-reference`` ("see the LICENSE
   file") is dropped when any known licence is stated (The Stack v2 does the same), and so
   are amendments (warranty disclaimers, CLAs: ``policy.NEUTRAL_IDS``); a
   licence text or notice whose licences all appear as alternatives of a stated OR choice
   is the text of that choice, not a licence of its own ("MIT or GPL-2.0, texts below");
   what remains is AND-ed: a LICENSE with MIT and a COPYING with GPL-2.0 make
   ``GPL-2.0-only AND MIT``, non-permissive.
4. Precedence: the directory's licence files decide; when they decide nothing, the licences
   its package manifests declare (:mod:`licenses.manifests`; an SPDX expression is parsed,
   free text and a file pointed to go through ScanCode's detection, rules 1 and 2; a
   statement in which nothing is detected decides nothing); when those decide
   nothing either, its notice files (NOTICE*, third-party lists), which mostly list the
   licences of other software. Manifests that disagree with the licence files that decided
   are recorded in the decision's ``details``.

A file's licence is that of the nearest enclosing directory with a decision (walking up to
the repository root); the input manifest's licence, when given, wins over every file.
"""
from __future__ import annotations

import dataclasses
import functools
import posixpath
from typing import Iterable, Mapping, Sequence


from licenses.detect import FileDetection, LicenseDetector, Match, parse_spdx
from licenses.files import is_notice_file
from licenses.manifests import Declaration, declarations, is_manifest
from licenses.policy import (LICENSING, UNKNOWN_REFERENCE, classify, combine_and,
                             names_unfree_terms)
from pipeline.config import LicenseConfig

# SPDX's special values for "no licence information": treated as no input-manifest licence.
_NO_ASSERTION = frozenset({"NOASSERTION", "NONE"})

# What a match of a licence file counts as (rules 1 and 2); the last two make its terms.
IGNORED_KIND = "ignored: intro or clue"
IGNORED_BOUNDS = "ignored: score or coverage below bounds"
MENTION = "mention: dropped, the file is mostly licence text"
STATEMENT = "statement"
TERM = "term"  # a counting match of a file that keeps all of them


@dataclasses.dataclass(frozen=True)
class DirectoryDecision:
    """The licence of a directory, the files it came from and which of them decided.

    ``basis`` is the precedence step that decided (rule 4): ``license_files``,
    ``manifests``, ``notice_files`` or ``none``; ``details`` holds what the decision left
    aside (``manifest_disagrees``: manifests whose licence differs from the files').
    """

    expression: str | None
    license_class: str
    files: tuple[str, ...]
    basis: str = "none"
    details: Mapping[str, object] = dataclasses.field(default_factory=dict)

    @property
    def decided(self) -> bool:
        """Whether the evidence says anything beyond amendments (a CLA, a disclaimer)."""
        return self.license_class != "no_license"


NO_DECISION = DirectoryDecision(None, "no_license", ())


@dataclasses.dataclass(frozen=True)
class DeclaredLicense:
    """A manifest's declaration as read: an SPDX expression, else ScanCode's detection of its
    text or of the file it points to; neither when that file was not read."""

    declaration: Declaration
    expression: str | None = None
    detection: FileDetection | None = None


def read_declaration(declaration: Declaration, texts: Mapping[str, str],
                     detector: LicenseDetector) -> DeclaredLicense:
    """Read one declaration; a file it points to is looked up in ``texts`` (path -> text)."""
    if declaration.file is not None:
        text = texts.get(declaration.file)
        return DeclaredLicense(declaration, detection=None if text is None else detector.detect(text))
    expression = parse_spdx(declaration.value)
    if expression is not None:
        return DeclaredLicense(declaration, expression=expression)
    detection = detector.detect(declaration.value)
    if not detection.matches:  # ScanCode's second try (packagedcode/licensing.py)
        detection = detector.detect(f"license {declaration.value}")
    return DeclaredLicense(declaration, detection=detection)


def _counts(match: Match, config: LicenseConfig) -> bool:
    return (match.rule_kind not in ("intro", "clue")
            and match.score >= config.min_match_score
            and match.coverage >= config.min_match_coverage)


def _is_statement(match: Match, config: LicenseConfig) -> bool:
    if classify(match.license) == "no_license":  # only amendments: a disclaimer, a CLA
        return False
    if " OR " in match.license or names_unfree_terms(match.license):
        return True
    return (match.rule_kind in ("text", "notice")
            and match.matched_length >= config.min_statement_tokens)


def match_roles(detection: FileDetection, config: LicenseConfig) -> list[tuple[Match, str]]:
    """Each match of one licence file with what it counts as (rules 1 and 2)."""
    counting = [m for m in detection.matches if _counts(m, config)]
    statements = [m for m in counting if _is_statement(m, config)]
    mostly_text = bool(statements) and detection.text_fraction >= config.min_text_coverage
    roles = []
    for match in detection.matches:
        if match.rule_kind in ("intro", "clue"):
            role = IGNORED_KIND
        elif match not in counting:
            role = IGNORED_BOUNDS
        elif match in statements:
            role = STATEMENT
        else:
            role = MENTION if mostly_text else TERM
        roles.append((match, role))
    return roles


def file_terms(detection: FileDetection, config: LicenseConfig) -> list[Match]:
    """The matches of one licence file that state its licence (rules 1 and 2)."""
    return [match for match, role in match_roles(detection, config) if role in (STATEMENT, TERM)]


def declared_terms(declared: DeclaredLicense, config: LicenseConfig) -> list[str]:
    """The expressions a manifest's declaration states: its SPDX expression, else the terms
    detected in its text or file (none when nothing is detected), else the unknown reference
    of a file that was not read.

    A statement in which ScanCode detects nothing ("License: PSF") states nothing here,
    where ScanCode's package detection would say ``unknown``: the directory takes the
    licence above it, as before manifests were read. On the demo corpus, "unknown" turned
    41 files of distlib's tests (a fixture PKG-INFO saying "PSF" under the root's Python
    licence) from permissive to non-permissive.
    """
    if declared.expression is not None:
        return [declared.expression]
    if declared.detection is None:
        return [UNKNOWN_REFERENCE]
    return [m.license for m in file_terms(declared.detection, config)]


@functools.lru_cache(maxsize=65_536)
def _symbols(expression: str) -> frozenset[str]:
    return frozenset(s.key for s in LICENSING.license_symbols(expression, decompose=True))


@functools.lru_cache(maxsize=65_536)
def _canonical(expression: str) -> str:
    """One spelling per expression: OR / AND arguments in sorted order."""
    return str(LICENSING.parse(expression).simplify())


def combine_terms(terms_by_source: Mapping[str, Iterable[str]]) -> tuple[str | None, tuple[str, ...]]:
    """The directory's expression from the terms (expressions) of its licence files or
    manifests (rule 3), and the paths it used."""
    by_source = {path: {_canonical(e) for e in terms} for path, terms in terms_by_source.items()}
    expressions = set().union(*by_source.values())
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
    used = tuple(sorted(path for path, found in by_source.items() if found & expressions))
    return (_canonical(combined) if combined else None), used


def _decision(terms_by_source: Mapping[str, Iterable[str]], basis: str) -> DirectoryDecision:
    expression, used = combine_terms(terms_by_source)
    return DirectoryDecision(expression, classify(expression), used, basis)


def decide_directory(detections: Mapping[str, FileDetection], config: LicenseConfig,
                     declared: Sequence[DeclaredLicense] = ()) -> DirectoryDecision:
    """The decision for one directory from the detections of its licence files and the
    declarations of its package manifests (rule 4)."""
    terms = {path: [m.license for m in file_terms(detection, config)]
             for path, detection in detections.items()}
    by_manifest: dict[str, list[str]] = {}
    for one in declared:
        by_manifest.setdefault(one.declaration.manifest, []).extend(declared_terms(one, config))
    from_manifests = _decision(by_manifest, "manifests")
    from_files = _decision({p: t for p, t in terms.items() if not is_notice_file(p)},
                           "license_files")
    if from_files.decided:
        if from_manifests.decided and from_manifests.expression != from_files.expression:
            return dataclasses.replace(from_files, details={"manifest_disagrees": {
                "manifests": list(from_manifests.files), "license": from_manifests.expression,
                "license_class": from_manifests.license_class}})
        return from_files
    if from_manifests.decided:
        return from_manifests
    from_notices = _decision({p: t for p, t in terms.items() if is_notice_file(p)},
                             "notice_files")
    return from_notices if from_notices.decided else NO_DECISION


def read_directory(texts: Mapping[str, str], detector: LicenseDetector,
                   repository_texts: Mapping[str, str] | None = None
                   ) -> tuple[dict[str, FileDetection], list[DeclaredLicense]]:
    """The detections of one directory's licence files and its manifests' declarations
    (``texts``: path -> text of both); a file a manifest points to is looked up in
    ``repository_texts`` (default: ``texts``)."""
    detections = {path: detector.detect(text) for path, text in texts.items()
                  if not is_manifest(path)}
    declared = [read_declaration(declaration, repository_texts or texts, detector)
                for path, text in sorted(texts.items()) if is_manifest(path)
                for declaration in declarations(path, text)]
    return detections, declared


def resolve_directory(texts: Mapping[str, str], detector: LicenseDetector,
                      config: LicenseConfig,
                      repository_texts: Mapping[str, str] | None = None) -> DirectoryDecision:
    """Detect the licence files and read the manifests of one directory (path -> text), and
    decide (see :func:`read_directory`)."""
    detections, declared = read_directory(texts, detector, repository_texts)
    return decide_directory(detections, config, declared)


def assign_licenses(records: list[dict], license_texts: dict[str, str],
                    metadata_license: str | None, detector: LicenseDetector,
                    config: LicenseConfig) -> list[dict]:
    """Copies of ``records`` with ``license``, ``license_class`` and ``license_source`` set.

    ``license_texts`` maps the repository path of each licence file and package manifest to
    its text. The input manifest's ``metadata_license`` (SPDX) wins when given; otherwise
    each file takes the decision of its nearest enclosing directory that has one,
    ``license_source`` naming the licence files or manifests it came from (``;``-joined,
    sorted); with none, the file has ``no_license``.
    """
    if metadata_license and metadata_license.strip().upper() not in _NO_ASSERTION:
        expression = metadata_license.strip()
        assigned = {"license": expression, "license_class": classify(expression),
                    "license_source": "metadata"}
        return [{**record, **assigned} for record in records]

    by_directory: dict[str, dict[str, str]] = {}
    for path, text in license_texts.items():
        by_directory.setdefault(posixpath.dirname(path), {})[path] = text
    decisions = {
        directory: resolve_directory(texts, detector, config, license_texts)
        for directory, texts in sorted(by_directory.items())
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

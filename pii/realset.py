"""A real-code recall set for the PII detector (issue 8, item 3), built at run time from sdists.

For each sdist, the person names and e-mail addresses of its ``PKG-INFO`` (Author, Author-email,
Maintainer, Maintainer-email) are the labelled values, and every exact occurrence of them in the
package's own text files is a labelled occurrence. The files hold other, unlabelled PII, so the
set measures recall only. The files are read as a build reads them (:func:`read_package`), and
an occurrence counts as found when the detector's spans of its entity cover all of it.

The values are personal data: the set lives under ``out/`` (git-ignored) and only counts are
reported. No Spark here.
"""
from __future__ import annotations

import collections
import dataclasses
import email.parser
import hashlib
import email.utils
import posixpath
import re
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

from licenses.files import is_license_file
from pii.entities import EMAIL, NAME, Span
from pii.policy import is_organisation, is_stock_name
from pipeline.config import IngestConfig
from pipeline.ingest import RepoEntry, ingest_repository, open_snapshot

# Core metadata fields that name people (packaging.python.org, "Core metadata specifications").
NAME_FIELDS = ("Author", "Maintainer")
EMAIL_FIELDS = ("Author-email", "Maintainer-email")
# Separators between people in one field: "A, B", "A; B", "A and B", "A & B".
_PEOPLE_SEPARATOR = re.compile(r"\s*(?:[,;\n]|\band\b|&)\s*")
# Our rule: a person name is 2+ words, each starting with a letter and made of letters and
# . ' ’ - only ("Jason R. Coombs", "Hatfield-Dodds") (issue 8, item 3). One word (a handle,
# a mononym, "UNKNOWN") is skipped: an exact match cannot tell it from an identifier.
_NAME_WORD = re.compile(r"[^\W\d_]+(?:[.'’-][^\W\d_]*)*")
MIN_NAME_WORDS = 2
# Group words the detector's organisation rule (pii/policy.py ORGANISATION_MARKERS, issue 4)
# lacks: "Jane Smith and others", "Smith et al." (issue 8, item 3).
_GROUP_WORDS = frozenset({"others", "al", "al."})
# addr-spec-like (RFC 5322 §3.4.1, loosely): local@domain with a dot in the domain.
_ADDR_SPEC = re.compile(r"[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\".]+")
# An occurrence stands alone: a name not inside a word ("Ada Examples"), an e-mail not inside
# a longer address ("xada@example.org", "ada@example.org.uk").
_BOUNDS = {NAME: (r"(?<!\w)", r"(?!\w)"), EMAIL: (r"(?<![\w.+-])", r"(?![\w-]|\.\w)")}

# File kinds for the breakdown, by base name stem (upper-cased) then by place.
_KIND_STEMS = (
    ("authors", re.compile(r"(AUTHORS?|CONTRIBUTORS?|MAINTAINERS?|CREDITS|THANKS)\b")),
    ("changelog", re.compile(r"(CHANGES?|CHANGELOG|HISTORY|NEWS|RELEASE(S|[-_ ]?NOTES)?)\b")),
    ("readme", re.compile(r"README\b")),
)
_METADATA_FILES = frozenset({"PKG-INFO", "setup.py", "setup.cfg", "pyproject.toml"})
_DOC_DIRS = frozenset({"doc", "docs", "documentation"})
_TEST_DIRS = frozenset({"test", "tests", "testing"})
_PROSE_LANGUAGES = frozenset({"markdown", "restructuredtext", "text"})


@dataclasses.dataclass(frozen=True)
class Value:
    """One labelled value from PKG-INFO: a person name (NAME) or an e-mail address (EMAIL)."""

    label: str
    text: str


@dataclasses.dataclass(frozen=True, order=True)
class Occurrence:
    """``text[start:end]`` of a file is ``value`` (case aside for e-mails)."""

    start: int
    end: int
    label: str
    value: str


@dataclasses.dataclass
class PackageFiles:
    """The labelled values of one sdist and its kept text files that contain them."""

    values: list[Value]
    skipped_values: collections.Counter  # reason -> count
    files: list[dict]  # {"path", "language", "kind", "text", "occurrences": [Occurrence]}
    skipped_files: collections.Counter  # ingest exclusion reason -> count
    kept_files: int = 0


def person_names(field: str) -> tuple[list[str], collections.Counter]:
    """The person names in one free-text field, and the skipped parts counted by reason."""
    names, skipped = [], collections.Counter()
    for part in _PEOPLE_SEPARATOR.split(field):
        part = " ".join(part.strip(" \t\"'").split())
        words = part.split()
        if not part:
            continue
        if is_organisation(part) or any(w.casefold() in _GROUP_WORDS for w in words):
            skipped["organisation"] += 1
        elif len(words) < MIN_NAME_WORDS:
            skipped["one_word"] += 1
        elif not all(_NAME_WORD.fullmatch(w) for w in words) or is_stock_name(part):
            skipped["not_a_name"] += 1
        else:
            names.append(part)
    return names, skipped


def metadata_values(pkg_info: str) -> tuple[list[Value], collections.Counter]:
    """Person names and e-mails of a PKG-INFO (``Author-email`` may be ``Name <addr>, ...``,
    core metadata 2.1+), deduplicated (e-mails case-insensitively), in first-seen order."""
    message = email.parser.Parser().parsestr(pkg_info, headersonly=True)
    names: list[str] = []
    emails: list[str] = []
    skipped: collections.Counter = collections.Counter()

    def add_names(field: str) -> None:
        found, why = person_names(field)
        names.extend(found)
        skipped.update(why)

    for key in NAME_FIELDS:
        for field in message.get_all(key) or []:
            add_names(str(field))
    for key in EMAIL_FIELDS:
        for display, address in email.utils.getaddresses(
                [str(field) for field in message.get_all(key) or []]):
            if display:
                add_names(display)
            if _ADDR_SPEC.fullmatch(address):
                emails.append(address)
            elif address:
                skipped["not_an_address"] += 1
    unique_emails: dict[str, str] = {}
    for address in emails:
        unique_emails.setdefault(address.casefold(), address)
    return ([Value(NAME, n) for n in dict.fromkeys(names)]
            + [Value(EMAIL, e) for e in unique_emails.values()], skipped)


def find_occurrences(text: str, values: Iterable[Value]) -> list[Occurrence]:
    """Every standalone occurrence of ``values`` in ``text``: names case-sensitive, e-mails
    case-insensitive (RFC 5321 domains are; local parts practically are)."""
    found = set()
    for value in values:
        before, after = _BOUNDS[value.label]
        flags = re.IGNORECASE if value.label == EMAIL else 0
        for match in re.finditer(before + re.escape(value.text) + after, text, flags):
            found.add(Occurrence(match.start(), match.end(), value.label, value.text))
    return sorted(found)


def file_kind(path: str, language: str | None) -> str:
    """authors, changelog, readme, license, metadata, docs, tests or source (for breakdowns)."""
    name = posixpath.basename(path)
    stem = name.upper()
    for kind, pattern in _KIND_STEMS:
        if pattern.match(stem):
            return kind
    if is_license_file(path):
        return "license"
    parts = path.split("/")
    if name in _METADATA_FILES or any(p.endswith(".egg-info") for p in parts[:-1]):
        return "metadata"
    if parts[0] in _DOC_DIRS or language in _PROSE_LANGUAGES:
        return "docs"
    if _TEST_DIRS & set(parts[:-1]) or name.startswith("test_") or name.endswith("_test.py"):
        return "tests"
    return "source"


def read_package(sdist: Path, repo: str, config: IngestConfig | None = None) -> PackageFiles:
    """The labelled values of ``sdist``'s top-level PKG-INFO and its text files that hold them,
    read through the build's ingest (same paths, decoding and language); files the build
    leaves out (binary, undecodable, too large, unsupported language, ...) are counted."""
    config = config or IngestConfig()
    with tempfile.TemporaryDirectory(prefix="realset-") as scratch:
        with open_snapshot(str(sdist), config, Path(scratch)) as snapshot:
            raw = next((f for f in snapshot.files if f.path == "PKG-INFO"), None)
        pkg_info = "" if raw is None or raw.data is None else raw.data.decode("utf-8", "replace")
        values, skipped_values = metadata_values(pkg_info)
        if raw is None:
            skipped_values["no_pkg_info"] += 1
        ingested = ingest_repository(RepoEntry(repo, str(sdist)), config, Path(scratch),
                                     is_license_file)
    package = PackageFiles(values, skipped_values, [], collections.Counter())
    for record in ingested.records:
        if record["reason"] is not None or record["content"] is None:
            package.skipped_files[record["reason"] or "no_content"] += 1
            continue
        package.kept_files += 1
        occurrences = find_occurrences(record["content"], values)
        if occurrences:
            package.files.append({"path": record["path"], "language": record["language"],
                                  "kind": file_kind(record["path"], record["language"]),
                                  "text": record["content"], "occurrences": occurrences})
    return package


SPLITS = ("dev", "blind", "all")


def package_split(name: str) -> str:
    """"dev" or "blind": the half of the set a package belongs to, fixed by the first byte of
    the sha256 of its name (even: dev, tuned on; odd: blind, measured once at the end)."""
    return "dev" if hashlib.sha256(name.encode("utf-8")).digest()[0] % 2 == 0 else "blind"


def in_split(name: str, split: str) -> bool:
    """Whether package ``name`` counts in ``split`` ("dev", "blind" or "all")."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return split == "all" or package_split(name) == split


def _covered(start: int, end: int, spans: Iterable[Span]) -> bool:
    """Whether the union of ``spans`` covers every character of ``[start, end)``."""
    reached = start
    for span in sorted(spans):
        if span.start > reached:
            break
        reached = max(reached, span.end)
        if reached >= end:
            return True
    return False


def score_occurrences(occurrences: Sequence[Occurrence], spans: Sequence[Span]
                      ) -> list[tuple[bool, bool, bool]]:
    """For each occurrence: (covered by spans of its own entity, covered by spans of any
    entity, touched by a span of its own entity: found, or found in part)."""
    scores = []
    for o in occurrences:
        same = [s for s in spans if s.label == o.label]
        scores.append((_covered(o.start, o.end, same), _covered(o.start, o.end, spans),
                       any(s.start < o.end and o.start < s.end for s in same)))
    return scores


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _tally(hits: list[dict]) -> dict:
    found = sum(h["found"] for h in hits)
    covered_any = sum(h["covered_any"] for h in hits)
    return {"occurrences": len(hits), "found": found, "covered_any": covered_any,
            "found_in_part": sum(h["touched"] and not h["found"] for h in hits),
            "recall": _ratio(found, len(hits)), "recall_any": _ratio(covered_any, len(hits))}


def summarise(hits: list[dict]) -> dict:
    """Recall per entity from scored occurrences (dicts with package, kind, language, label,
    found, covered_any, touched): over all occurrences (micro), averaged per package (macro,
    over the packages with at least one occurrence of the entity), by file kind and language."""
    summary: dict = {}
    for label in (NAME, EMAIL):
        mine = [h for h in hits if h["label"] == label]
        by_package: dict[str, list[dict]] = collections.defaultdict(list)
        for hit in mine:
            by_package[hit["package"]].append(hit)
        per_package = {p: _tally(h) for p, h in sorted(by_package.items())}
        macro = [t["recall"] for t in per_package.values()]
        macro_any = [t["recall_any"] for t in per_package.values()]
        summary[label] = {
            **_tally(mine), "packages": len(per_package),
            "macro_recall": _ratio(sum(macro), len(macro)),
            "macro_recall_any": _ratio(sum(macro_any), len(macro_any)),
            "by_kind": {k: _tally([h for h in mine if h["kind"] == k])
                        for k in sorted({h["kind"] for h in mine})},
            "by_language": {lang: _tally([h for h in mine if (h["language"] or "-") == lang])
                            for lang in sorted({h["language"] or "-" for h in mine})},
            "by_package": per_package,
        }
    return summary

"""``curate licenses scan PATH...``: the licence of a file, a directory or an archive.

- a licence file or a package manifest: decided from that file alone;
- a directory, a git repository or a ``.tar.gz``/``.tgz``/``.tar``/``.zip`` archive: decided
  for its root from the licence files and package manifests at its root. Sources are read by
  ingest's reader (:func:`pipeline.ingest.readers.open_snapshot`), with the same safety:
  archives in memory, never extracted, a single top-level directory stripped, links never
  followed, unsafe member paths and archive bombs refused.

Each path gives one dict: ``{"path", "license", "license_class", "basis", "files",
"details", "detections", "manifests"}``, where ``basis`` is the precedence step that decided
(:class:`licenses.resolve.DirectoryDecision`), ``files`` the licence files or manifests the
decision came from, ``details`` what it left aside (a manifest that disagrees),
``detections`` every licence file read, with ScanCode's raw expression (``detected``) or why
it was not read (``error``), and ``manifests`` every licence declaration of a manifest with
the licence read from it; or ``{"path", "error"}`` when the path cannot be read at all. With
``explain``, ``evidence`` adds every match and declaration with its scores, ScanCode
category, our class and what it counted as (:func:`format_explanation` prints it).
"""
from __future__ import annotations

import os
import posixpath
import tempfile
from pathlib import Path


from licenses.detect import FileDetection, LicenseDetector, get_detector
from licenses.files import is_license_evidence, is_notice_file
from licenses.policy import LICENSING, classify, combine_and, scancode_categories
from licenses.resolve import (DeclaredLicense, DirectoryDecision, decide_directory,
                              declared_terms, match_roles, read_directory)
from pipeline.config import IngestConfig, LicenseConfig
from pipeline.ingest.decode import decode, is_binary
from pipeline.ingest.readers import SourceError, open_snapshot


class ScanError(Exception):
    """A path that cannot be scanned: the message says why."""


def _text(data: bytes, where: str, ingest: IngestConfig) -> str:
    if is_binary(data, ingest):
        raise ScanError(f"{where}: binary content")
    decoded = decode(data, ingest)
    if decoded is None:
        raise ScanError(f"{where}: undecodable")
    return decoded[0]


def _read_file(path: str, config: LicenseConfig, ingest: IngestConfig) -> str:
    size = os.path.getsize(path)
    if size > config.max_license_file_bytes:
        raise ScanError(f"{path}: larger than {config.max_license_file_bytes} bytes")
    with open(path, "rb") as handle:
        return _text(handle.read(), path, ingest)


def _read_source(path: str, config: LicenseConfig, ingest: IngestConfig
                 ) -> tuple[dict[str, str], dict[str, str]]:
    texts, errors = {}, {}
    with tempfile.TemporaryDirectory(prefix="curate-scan-") as scratch, \
            open_snapshot(path, ingest, Path(scratch)) as snapshot:
        for raw in snapshot.files:
            if "/" in raw.path or not is_license_evidence(raw.path):
                continue
            if raw.problem is not None:
                errors[raw.path] = raw.problem.value
            elif len(raw.data) > config.max_license_file_bytes:
                errors[raw.path] = f"larger than {config.max_license_file_bytes} bytes"
            else:
                try:
                    texts[raw.path] = _text(raw.data, raw.path, ingest)
                except ScanError as error:
                    errors[raw.path] = str(error)
    return texts, errors


def read_license_texts(path: str, config: LicenseConfig, ingest: IngestConfig | None = None
                       ) -> tuple[dict[str, str], dict[str, str]]:
    """({relative path: text}, {relative path: error}) of the licence files and package
    manifests ``path`` is or holds at its root."""
    ingest = ingest or IngestConfig()
    if os.path.isfile(path) and is_license_evidence(path):
        return {posixpath.basename(path): _read_file(path, config, ingest)}, {}
    return _read_source(path, config, ingest)


# The precedence step that decided (DirectoryDecision.basis), in words.
BASIS_RULES = {
    "license_files": "the licence files of the directory decide (they outrank its manifests)",
    "manifests": "no licence file decides: the package manifests' declared licences decide",
    "notice_files": "neither licence files nor manifests decide: the notice files decide",
    "none": "nothing decides: no licence",
}


def _categories(expression: str) -> str:
    """ScanCode's categories of the ids in ``expression`` ("unknown" for an id it lacks)."""
    keys = sorted({symbol.key.lower()
                   for symbol in LICENSING.license_symbols(expression, decompose=True)})
    return ", ".join(sorted({scancode_categories().get(key, "unknown") for key in keys}))


def _licence(expression: str) -> dict:
    return {"license": expression, "category": _categories(expression),
            "class": classify(expression)}


def _matches(detection: FileDetection, config: LicenseConfig) -> list[dict]:
    return [
        {**_licence(match.license), "kind": match.rule_kind, "score": match.score,
         "coverage": match.coverage, "tokens": match.matched_length,
         "lines": [match.start_line, match.end_line], "rule": match.rule, "counts_as": role}
        for match, role in match_roles(detection, config)
    ]


def _declaration(declared: DeclaredLicense, config: LicenseConfig, explain: bool) -> dict:
    declaration = declared.declaration
    entry = {"path": declaration.manifest, "field": declaration.field, "declared": declaration.value,
             "read_as": ("file " + declaration.file if declaration.file is not None
                         else "SPDX expression" if declared.expression is not None
                         else "free text"),
             "license": combine_and(declared_terms(declared, config))}
    if explain and declared.detection is not None:
        entry["matches"] = _matches(declared.detection, config)
    return entry


def _evidence(detections: dict[str, FileDetection], declared: list[DeclaredLicense],
              decision: DirectoryDecision, config: LicenseConfig) -> dict:
    return {
        "license_files": [
            {"path": name, "rank": "notice file" if is_notice_file(name) else "licence file",
             "text_fraction": detection.text_fraction, "matches": _matches(detection, config)}
            for name, detection in sorted(detections.items())
        ],
        "manifests": [_declaration(one, config, explain=True) for one in declared],
        "rule": BASIS_RULES[decision.basis],
    }


def scan_path(path: str, detector: LicenseDetector | None = None,
              config: LicenseConfig | None = None, explain: bool = False) -> dict:
    """The licence decision for one licence file, manifest, directory or archive (see module
    doc); with ``explain``, its chain of evidence too."""
    config = config or LicenseConfig()
    try:
        texts, errors = read_license_texts(path, config)
    except (OSError, ScanError, SourceError) as error:
        return {"path": path, "error": f"{type(error).__name__}: {error}"}
    detections, declared = read_directory(texts, detector or get_detector())
    decision = decide_directory(detections, config, declared)
    per_file = sorted(
        [{"path": name, "detected": detection.expression} for name, detection in detections.items()]
        + [{"path": name, "error": error} for name, error in errors.items()],
        key=lambda entry: entry["path"],
    )
    result = {
        "path": path,
        "license": decision.expression,
        "license_class": decision.license_class,
        "basis": decision.basis,
        "files": list(decision.files),
        "details": dict(decision.details),
        "detections": per_file,
        "manifests": [_declaration(one, config, explain=False) for one in declared],
    }
    if explain:
        result["evidence"] = _evidence(detections, declared, decision, config)
    return result


def _match_line(match: dict) -> str:
    return (f"    {match['license']}  [{match['category']} -> {match['class']}]  "
            f"{match['kind']}, score {match['score']:.1f}, coverage {match['coverage']:.1f}, "
            f"{match['tokens']} tokens, lines {match['lines'][0]}-{match['lines'][1]}, "
            f"rule {match['rule']}: {match['counts_as']}")


def format_explanation(result: dict) -> str:
    """The chain of evidence of one :func:`scan_path` result (with ``explain``), for people."""
    if "error" in result:
        return f"{result['path']}: {result['error']}"
    evidence = result["evidence"]
    lines = [f"{result['path']}: {result['license'] or '-'} ({result['license_class']})"]
    lines.append("licence files read:" if evidence["license_files"] else "licence files read: none")
    for entry in evidence["license_files"]:
        lines.append(f"  {entry['path']} ({entry['rank']}; licence text and notices cover "
                     f"{entry['text_fraction']:.0%} of its lines)")
        lines += [_match_line(match) for match in entry["matches"]] or ["    no match"]
    lines += [f"  {entry['path']}: not read: {entry['error']}"
              for entry in result["detections"] if "error" in entry]
    lines.append("manifest declarations read:" if evidence["manifests"]
                 else "manifest declarations read: none")
    for entry in evidence["manifests"]:
        lines.append(f"  {entry['path']} {entry['field']} = {entry['declared']!r}, read as "
                     f"{entry['read_as']}: {entry['license'] or 'nothing detected'}")
        lines += [_match_line(match) for match in entry.get("matches", [])]
    lines.append(f"decision: {evidence['rule']}; from {', '.join(result['files']) or '-'}")
    disagreement = result["details"].get("manifest_disagrees")
    if disagreement:
        lines.append(f"disagreement: the manifests ({', '.join(disagreement['manifests'])}) "
                     f"declare {disagreement['license']} ({disagreement['license_class']}); "
                     "the licence files win")
    return "\n".join(lines)

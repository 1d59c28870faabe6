"""``curate licenses scan PATH...``: the licence of a file, a directory or an archive.

- a licence file: decided from that file alone;
- a directory, a git repository or a ``.tar.gz``/``.tgz``/``.tar``/``.zip`` archive: decided
  for its root from the licence files at its root. Sources are read by ingest's reader
  (:func:`pipeline.ingest.readers.open_snapshot`), with the same safety: archives in memory,
  never extracted, a single top-level directory stripped, links never followed, unsafe
  member paths and archive bombs refused.

Each path gives one dict: ``{"path", "license", "license_class", "files", "detections"}``,
where ``files`` lists the licence files the decision came from and ``detections`` every
licence file read, with ScanCode's raw expression (``detected``) or why it was not read
(``error``); or ``{"path", "error"}`` when the path cannot be read at all.
"""
from __future__ import annotations

import os
import posixpath
import tempfile
from pathlib import Path

from licenses.detect import LicenseDetector, get_detector
from licenses.files import is_license_file
from licenses.resolve import decide_directory
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
            if "/" in raw.path or not is_license_file(raw.path):
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


def read_license_files(path: str, config: LicenseConfig, ingest: IngestConfig | None = None
                       ) -> tuple[dict[str, str], dict[str, str]]:
    """({relative path: text}, {relative path: error}) of the licence files ``path`` holds."""
    ingest = ingest or IngestConfig()
    if os.path.isfile(path) and is_license_file(path):
        return {posixpath.basename(path): _read_file(path, config, ingest)}, {}
    return _read_source(path, config, ingest)


def scan_path(path: str, detector: LicenseDetector | None = None,
              config: LicenseConfig | None = None) -> dict:
    """The licence decision for one licence file, directory or archive (see module doc)."""
    config = config or LicenseConfig()
    try:
        texts, errors = read_license_files(path, config)
    except (OSError, ScanError, SourceError) as error:
        return {"path": path, "error": f"{type(error).__name__}: {error}"}
    detector = detector or get_detector()
    detections = {name: detector.detect(text) for name, text in texts.items()}
    decision = decide_directory(detections, config)
    per_file = sorted(
        [{"path": name, "detected": detection.expression} for name, detection in detections.items()]
        + [{"path": name, "error": error} for name, error in errors.items()],
        key=lambda entry: entry["path"],
    )
    return {
        "path": path,
        "license": decision.expression,
        "license_class": decision.license_class,
        "files": list(decision.files),
        "detections": per_file,
    }

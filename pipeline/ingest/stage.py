"""The ingest stage: repositories of the input manifest in, one record per file out (two per
notebook), with its language and the licence that covers its directory (ScanCode, once per
task); an issues line of the manifest in, one record per GitHub issue conversation out
(:mod:`pipeline.ingest.issues`)."""
from __future__ import annotations

import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa

from licenses.detect import get_detector
from licenses.files import is_license_evidence
from licenses.resolve import assign_licenses
from pipeline.config import IngestConfig, LicenseConfig
from pipeline.ingest import ingest_repository
from pipeline.ingest.issues import issue_records, language_identifier
from pipeline.ingest.manifest import IssuesEntry, entry_from_dict
from pipeline.reasons import Reason
from pipeline.schema import to_batch
from pipeline.stage import SourceStage

BATCH_ROWS = 2000  # records per Arrow batch written


class IngestStage(SourceStage):
    """Read, decode, detect languages, resolve licences per directory."""

    name = "ingest"
    config_sections = ("ingest", "licenses")
    code = ("pipeline.ingest", "pipeline.schema", "licenses")
    reasons = (Reason.SOURCE_UNAVAILABLE, Reason.ARCHIVE_LIMIT, Reason.UNSAFE_PATH,
               Reason.SYMLINK, Reason.SUBMODULE, Reason.SPECIAL_FILE, Reason.UNREADABLE,
               Reason.BINARY, Reason.TOO_LARGE, Reason.UNDECODABLE,
               Reason.UNSUPPORTED_LANGUAGE, Reason.NOTEBOOK_INVALID, Reason.NOTEBOOK_EMPTY,
               Reason.COMMIT_FILES_LIMIT, Reason.COMMIT_NEW_EMPTY, Reason.COMMIT_MESSAGE,
               Reason.COMMIT_SUBSAMPLED, Reason.ISSUE_EVENT_INVALID, Reason.ISSUE_BOT,
               Reason.ISSUE_TOO_SHORT, Reason.ISSUE_SINGLE_AUTHOR, Reason.ISSUE_LANGUAGE)

    def __init__(self, ingest: IngestConfig, licenses: LicenseConfig):
        self.ingest = ingest
        self.licenses = licenses

    def fingerprint(self) -> dict[str, Any]:
        """ScanCode's version (its licence index decides the licences), those of nbformat
        and jupytext (they read notebooks and write their scripts) and py3langid's (its model
        tells an issue's language)."""
        return {"scancode_toolkit": version("scancode-toolkit"),
                "nbformat": version("nbformat"), "jupytext": version("jupytext"),
                "py3langid": version("py3langid")}

    def read(self, entries: Iterable[dict]) -> Iterator[pa.RecordBatch]:
        detector = get_detector()
        for line in entries:
            entry = entry_from_dict(line)
            if isinstance(entry, IssuesEntry):
                yield from _batches(issue_records(entry, self.ingest.issues,
                                                  language_identifier()))
                continue
            with tempfile.TemporaryDirectory(prefix="curate-ingest-") as scratch:
                ingested = ingest_repository(entry, self.ingest, Path(scratch),
                                             is_license_evidence)
            records = assign_licenses(ingested.records, ingested.license_files, entry.license,
                                      detector, self.licenses)
            yield from _batches(records)


def _batches(records: list[dict]) -> Iterator[pa.RecordBatch]:
    for start in range(0, len(records), BATCH_ROWS):
        yield to_batch(records[start:start + BATCH_ROWS])

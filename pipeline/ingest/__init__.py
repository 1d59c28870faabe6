"""Ingest: one repository of the manifest in, records of the files of its source out.

Every file of the source gives one ``kind="file"`` record, in path order; the ones that
cannot become a text record of a kept language leave ingest excluded (content null):
SYMLINK, UNSAFE_PATH, ARCHIVE_LIMIT, TOO_LARGE (from :mod:`.readers`), then BINARY,
UNSUPPORTED_LANGUAGE and UNDECODABLE. A Jupyter notebook (``.ipynb``) gives no ``file`` record
but one record of each kind of :data:`.notebooks.NOTEBOOK_KINDS`, its script and structured
forms (:mod:`.notebooks`), excluded alike when the reader left it out. A source that cannot be
read gives exactly one
``kind="repository"`` record excluded as SOURCE_UNAVAILABLE. A git source whose manifest entry
gives ``history`` also gives ``kind="commit"`` records, one per file a commit changed
(:mod:`.commits`), after the files; a history that cannot be read gives one ``commit`` record
excluded as SOURCE_UNAVAILABLE. Licence fields stay null: the
licences step fills them, from the manifest's licence and from :attr:`IngestedRepo.license_files`.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Callable

from pipeline.config import IngestConfig
from pipeline.ingest.commits import commit_records, history_unavailable
from pipeline.ingest.decode import decode, is_binary
from pipeline.ingest.languages import extension_of, language_for
from pipeline.ingest.manifest import ManifestError, RepoEntry, public_url, read_manifest
from pipeline.ingest.notebooks import NOTEBOOK_KINDS, is_notebook, notebook_records
from pipeline.ingest.readers import (RawFile, Snapshot, SourceError, open_snapshot,
                                     redacted_source)
from pipeline.reasons import Reason, exclude
from pipeline.schema import content_hash, new_record, record_id

STAGE = "ingest"

__all__ = ["IngestedRepo", "ManifestError", "RawFile", "RepoEntry", "STAGE", "Snapshot",
           "SourceError", "ingest_repository", "open_snapshot", "read_manifest",
           "unavailable_record"]


@dataclasses.dataclass
class IngestedRepo:
    """The records of one repository and the decoded texts of its licence files and package
    manifests (whatever ``is_license_file`` accepts) by path."""

    records: list[dict]
    license_files: dict[str, str]


def _base_record(raw: RawFile, entry: RepoEntry, snapshot: Snapshot, kind: str) -> dict:
    return new_record(
        id=record_id(kind, entry.name, raw.path, raw.blob_sha), kind=kind, repo=entry.name,
        source_url=public_url(entry), revision=snapshot.revision,
        revision_date=snapshot.revision_date, path=raw.path, blob_sha=raw.blob_sha,
        language=language_for(raw.path), extension=extension_of(raw.path), size=raw.size,
        stars=entry.stars, forks=entry.forks)


def _kinds(path: str) -> tuple[str, ...]:
    """The kinds of the records the file at ``path`` gives."""
    return NOTEBOOK_KINDS if is_notebook(path) else ("file",)


def _file_records(raw: RawFile, base_record: Callable[[str], dict], config: IngestConfig,
                  is_license_file: Callable[[str], bool]) -> tuple[list[dict], str | None]:
    """The records of one file (two for a notebook) and its text when it is a licence file."""
    if raw.problem is not None:
        return [exclude(base_record(kind), raw.problem, STAGE, **raw.details)
                for kind in _kinds(raw.path)], None
    if is_notebook(raw.path):
        return notebook_records(raw.data, base_record, config, STAGE), None
    record, licence_text = _file_record(raw, base_record("file"), config, is_license_file)
    return [record], licence_text


def _file_record(raw: RawFile, record: dict, config: IngestConfig,
                 is_license_file: Callable[[str], bool]) -> tuple[dict, str | None]:
    """The ``file`` record of a file that was read, and its text when it is a licence file."""
    data = raw.data
    if is_binary(data, config):
        return exclude(record, Reason.BINARY, STAGE, nul_offset=data.index(b"\0"),
                       binary_sniff_bytes=config.binary_sniff_bytes), None
    licence = is_license_file(raw.path)
    if record["language"] is None and not licence:
        return exclude(record, Reason.UNSUPPORTED_LANGUAGE, STAGE,
                       extension=record["extension"]), None
    decoded = decode(data, config)
    if decoded is None:
        return exclude(record, Reason.UNDECODABLE, STAGE,
                       max_encoding_chaos=config.max_encoding_chaos,
                       min_encoding_coherence=config.min_encoding_coherence), None
    text, encoding = decoded
    record["encoding"] = encoding
    licence_text = text if licence else None
    if record["language"] is None:
        return exclude(record, Reason.UNSUPPORTED_LANGUAGE, STAGE,
                       extension=record["extension"]), licence_text
    record["content"] = text
    record["content_hash"] = content_hash(text)
    return record, licence_text


def unavailable_record(entry: RepoEntry, message: str) -> dict:
    """The one record that accounts for a repository whose source could not be read; where
    the source is no public URL, its location in ``message`` reads ``<source>``: a release
    never names a path of the build machine."""
    url = public_url(entry)
    if url is None:
        message = message.replace(redacted_source(entry.source), "<source>")
    record = new_record(id=record_id("repository", entry.name, "", ""), kind="repository",
                        repo=entry.name, source_url=url, path="", stars=entry.stars,
                        forks=entry.forks)
    return exclude(record, Reason.SOURCE_UNAVAILABLE, STAGE, error=message)


def ingest_repository(entry: RepoEntry, config: IngestConfig, scratch_dir: Path,
                      is_license_file: Callable[[str], bool]) -> IngestedRepo:
    """Read ``entry``'s source and turn every file into a record (see the module docstring).

    An error on one file excludes its records (its message in ``details``); only a source
    that cannot be read, or stops being readable midway, gives the one SOURCE_UNAVAILABLE
    record instead of file records.
    """
    records: list[dict] = []
    license_files: dict[str, str] = {}
    try:
        with open_snapshot(entry.source, config, scratch_dir) as snapshot:
            for raw in snapshot.files:
                base_record = functools.partial(_base_record, raw, entry, snapshot)
                try:
                    made, licence_text = _file_records(raw, base_record, config, is_license_file)
                except Exception as error:  # one file must never abort the repository
                    made = [exclude(base_record(kind), Reason.UNREADABLE, STAGE,
                                    error=f"{type(error).__name__}: {error}")
                            for kind in _kinds(raw.path)]
                    licence_text = None
                records.extend(made)
                if licence_text is not None:
                    license_files[raw.path] = licence_text
            try:
                records.extend(list(commit_records(entry, snapshot, config, STAGE)))
            except SourceError as error:
                records.append(history_unavailable(entry, snapshot, str(error), STAGE))
    except SourceError as error:
        return IngestedRepo([unavailable_record(entry, str(error))], {})
    return IngestedRepo(records, license_files)

"""Every reason a record can be excluded for: one enumeration, in one place."""
from __future__ import annotations

import enum
import json


class Reason(str, enum.Enum):
    """Why a record was left out. The value is what ``excluded/`` stores."""

    # ingest: the source or the file could not be turned into a text record
    SOURCE_UNAVAILABLE = "source_unavailable"  # clone/open failed; one record per repository
    ARCHIVE_LIMIT = "archive_limit"  # archive exceeds file-count or total-size bounds
    UNSAFE_PATH = "unsafe_path"  # absolute path or traversal ("..") in an archive member
    SYMLINK = "symlink"  # links are recorded, never followed
    SUBMODULE = "submodule"  # a gitlink: a commit pointer without content
    SPECIAL_FILE = "special_file"  # device, fifo or socket in an archive or directory
    UNREADABLE = "unreadable"  # I/O error, missing git object, corrupt archive member
    BINARY = "binary"  # NUL byte in the first 8 KiB
    TOO_LARGE = "too_large"  # over ingest.max_file_bytes (commits: see below)
    UNDECODABLE = "undecodable"  # neither UTF-8 nor a detectable encoding
    # extension/filename not in the table; for a notebook, a kernel language not in it (or,
    # for its structured form, not in ingest.notebook_structured_languages)
    UNSUPPORTED_LANGUAGE = "unsupported_language"
    NOTEBOOK_INVALID = "notebook_invalid"  # .ipynb that is not a valid nbformat 3 or 4 notebook
    NOTEBOOK_EMPTY = "notebook_empty"  # notebook without a markdown or code cell with text
    # GitHub issues (pipeline/ingest/issues.py): an event line that is not a JSON event or lacks
    # a field it needs; then the filters of a conversation, bigcode-dataset's
    ISSUE_EVENT_INVALID = "issue_event_invalid"
    ISSUE_BOT = "issue_bot"  # nothing left once bots' comments (and their calls) are dropped
    ISSUE_TOO_SHORT = "issue_too_short"  # under issues.min_chars of text
    ISSUE_SINGLE_AUTHOR = "issue_single_author"  # one author, over the characters or events
    ISSUE_LANGUAGE = "issue_language"  # natural language not in issues.languages
    # git commits (pipeline/ingest/commits.py; TOO_LARGE also for an old content over
    # ingest.commits.max_old_chars)
    COMMIT_FILES_LIMIT = "commit_files_limit"  # one record for a commit over commits.max_files
    COMMIT_NEW_EMPTY = "commit_new_empty"  # the file is empty or deleted after the commit
    COMMIT_MESSAGE = "commit_message"  # empty, boilerplate, version-only or hash-like subject
    COMMIT_SUBSAMPLED = "commit_subsampled"  # left out by the seeded draw of a subsampled rule
    # opt-out: a verified request (user, organisation or repository) covers the record's
    # repository; its id is in ``details``, the content is never kept (optout/enforce.py)
    OPT_OUT = "opt_out"
    # licences
    NON_PERMISSIVE = "license_non_permissive"
    NO_LICENSE = "license_none"
    # quality filters
    VENDORED = "vendored"
    GENERATED = "generated"
    MAX_LINE_LENGTH = "max_line_length"
    MEAN_LINE_LENGTH = "mean_line_length"
    ALPHANUMERIC_FRACTION = "alphanumeric_fraction"
    XML_DECLARATION = "xml_declaration"
    HTML_VISIBLE_TEXT = "html_visible_text"
    DATA_FILE_SIZE = "data_file_size"  # JSON/YAML outside the kept size window
    # dedup
    EXACT_DUPLICATE = "exact_duplicate"
    NEAR_DUPLICATE = "near_duplicate"
    # decontamination: a benchmark's prompt or solution in the text; the benchmark, task id and
    # field in ``details`` (pipeline/decontam)
    DECONTAMINATION = "decontamination"


def exclude(record: dict, reason: Reason, stage: str, duplicate_of: str | None = None,
            cluster_id: str | None = None, **details: object) -> dict:
    """A copy of ``record`` marked excluded by ``stage`` for ``reason``.

    ``details`` holds the measured value and the threshold (JSON, keys sorted, so output
    stays byte-identical across runs).
    """
    marked = dict(record)
    marked["reason"] = reason.value
    marked["stage"] = stage
    marked["details"] = json.dumps(details, sort_keys=True) if details else None
    marked["duplicate_of"] = duplicate_of
    marked["cluster_id"] = cluster_id
    return marked

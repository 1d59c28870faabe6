"""Pieces the quality rules share: reading a record's text, the kinds a content rule judges,
and matching a path."""
from __future__ import annotations

import re

from pipeline.stage import RecordFilter

# The kinds whose text is what StarCoderData's content thresholds were set on: a whole file (a
# notebook's two forms are each a whole text of one file). A commit's text is two windows of a
# file and a message: the content rules do not judge it, BigCode's commit filters do
# (pipeline/ingest/commits.py), as BigCode's commit pipeline applied no file filter. Path
# rules (vendored, generated) judge every kind: a change to a vendored file is vendored.
WHOLE_TEXT_KINDS = frozenset({"file", "notebook", "notebook_structured"})


def record_text(record: dict) -> str:
    """The record's ``content``; a kept record without text is a pipeline bug, said loudly."""
    content = record.get("content")
    if not isinstance(content, str):
        raise TypeError(
            f"quality filters need the text of every kept record; record {record.get('id')!r} "
            f"({record.get('repo')!r}:{record.get('path')!r}) has content of type "
            f"{type(content).__name__}"
        )
    return content


class ContentRule(RecordFilter):
    """A rule measured on a record's whole text: it judges only :data:`WHOLE_TEXT_KINDS`."""

    def applies_to(self, record: dict) -> bool:
        return record["kind"] in WHOLE_TEXT_KINDS


class PathRules:
    """Directory and file-name patterns, matched against a record's POSIX path.

    ``directories``: regex alternatives for one or more whole directory names (``a/b``),
    anywhere in the path; ``root_directories``: the same, only at the repository root;
    ``files``: regex alternatives that must match the whole file name. All are
    case-insensitive (wrap a part in ``(?-i:...)`` to make it exact). The alternatives are
    joined behind one shared prefix, so a path is read once, not once per alternative.
    """

    def __init__(self, directories: list[str], files: list[str],
                 root_directories: tuple[str, ...] = ()):
        pattern = r"(?:^|/)(?:" + "|".join(directories) + ")/"
        if root_directories:
            pattern += r"|^(?:" + "|".join(root_directories) + ")/"
        self._directories = re.compile(pattern, re.IGNORECASE)
        self._files = re.compile("|".join(files), re.IGNORECASE)

    def match(self, path: str) -> dict | None:
        """``{"rule": "directory" | "file", "value": what matched}`` or None."""
        directory, _, name = path.rpartition("/")
        found = self._directories.search(directory + "/") if directory else None
        if found:
            return {"rule": "directory", "value": found.group().lstrip("/")}
        if self._files.fullmatch(name):
            return {"rule": "file", "value": name}
        return None

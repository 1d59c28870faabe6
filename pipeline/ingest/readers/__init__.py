"""Read the files of a repository from its source without executing anything from it.

:func:`open_snapshot` takes a source as the manifest gives it and opens it with the first
of :data:`READERS` that reads it:

- a git URL, or a local directory whose name ends ``.git``: cloned bare and shallow
  (:mod:`.git`);
- a local git repository (a directory holding ``.git``): its HEAD, read in place (:mod:`.git`);
- a directory: walked without following links, ``.git`` skipped (:mod:`.directory`);
- a tar or zip archive: members read in memory, never extracted (:mod:`.archive`).

A new kind of source is a new module beside these with its :class:`~.base.Reader`, listed
in :data:`READERS` before any reader that would also read it.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from pipeline.config import IngestConfig
from pipeline.ingest.readers import archive, directory, git
from pipeline.ingest.readers.base import (RawFile, Reader, Snapshot, Source, SourceError,
                                          redacted_source)

__all__ = ["READERS", "RawFile", "Reader", "Snapshot", "Source", "SourceError", "open_snapshot",
           "reader_for", "redacted_source"]

# In the order they are asked: a directory holding .git is a git repository, not a directory.
READERS: tuple[Reader, ...] = (git.URL, git.BARE_DIRECTORY, git.WORKING_TREE,
                               directory.DIRECTORY, archive.TAR, archive.ZIP)


def reader_for(source: Source) -> Reader:
    """The first of :data:`READERS` that reads ``source``; SourceError when none does."""
    for reader in READERS:
        if reader.reads(source):
            return reader
    kinds = list(dict.fromkeys(reader.kind for reader in READERS))
    raise SourceError(f"{source.shown} is not a {', '.join(kinds[:-1])} or {kinds[-1]}")


@contextlib.contextmanager
def open_snapshot(source: str, config: IngestConfig, scratch_dir: Path) -> Iterator[Snapshot]:
    """The files of ``source`` (see the module docstring); SourceError when it cannot be read.

    Clones go into a fresh directory under ``scratch_dir``, removed on exit.
    """
    given = Source(source)
    with reader_for(given).open(given, config, scratch_dir) as snapshot:
        yield snapshot

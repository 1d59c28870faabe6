"""Directory sources (:data:`DIRECTORY`): walked without following links, ``.git`` skipped."""
from __future__ import annotations

import contextlib
import functools
import os
import stat
from pathlib import Path
from typing import Callable, Iterator

from pipeline.config import IngestConfig
from pipeline.ingest.readers.base import (RawFile, Reader, Snapshot, Source, SourceError,
                                          checked_path, error_text, file_type, link, too_large)
from pipeline.reasons import Reason


def _read_regular_file(path: str, location: str, config: IngestConfig) -> RawFile:
    """The bytes of a regular file, opened without following a link or blocking on a fifo
    (the entry may have changed since it was listed)."""
    try:
        descriptor = os.open(location, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return RawFile.excluded(path, Reason.UNREADABLE, error=error_text(error))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return RawFile.excluded(path, Reason.SPECIAL_FILE, file_type=file_type(info.st_mode))
        try:
            data = handle.read(config.max_file_bytes + 1)
        except OSError as error:
            return RawFile.excluded(path, Reason.UNREADABLE, error=error_text(error))
    if len(data) > config.max_file_bytes:
        return too_large(path, max(info.st_size, len(data)), config)
    return RawFile.of_bytes(path, data)


def _directory_entry(path: str, entry: os.DirEntry, config: IngestConfig) -> RawFile:
    """A directory entry that is not a directory, as a RawFile."""
    try:
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            return link(path, os.readlink(entry.path), info.st_size)
    except OSError as error:
        return RawFile.excluded(path, Reason.UNREADABLE, error=error_text(error))
    if not stat.S_ISREG(info.st_mode):
        return RawFile.excluded(path, Reason.SPECIAL_FILE, file_type=file_type(info.st_mode))
    if info.st_size > config.max_file_bytes:
        return too_large(path, info.st_size, config)
    return _read_regular_file(path, entry.path, config)


def _directory_files(root: Path, config: IngestConfig) -> Iterator[RawFile]:
    """Every non-directory under ``root`` in path order; ``.git`` and links not entered."""
    pending: list[tuple[str, Callable[[], RawFile]]] = []
    folders = [("", str(root))]  # (name relative to root, as listed, with "/"; location)
    while folders:
        prefix, location = folders.pop()
        try:
            with os.scandir(location) as listing:
                entries = list(listing)
        except OSError as error:
            if not prefix:
                raise SourceError(f"cannot list {root}: {error}") from error
            path, _ = checked_path(prefix)
            failed = RawFile.excluded(path, Reason.UNREADABLE, error=error_text(error),
                                      directory=True)
            pending.append((path, lambda failed=failed: failed))
            continue
        for entry in entries:
            if entry.name == ".git":
                continue
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_directory = False  # _directory_entry records the error
            if is_directory:
                folders.append((prefix + entry.name + "/", entry.path))
                continue
            path, unsafe = checked_path(prefix + entry.name)
            if unsafe:
                excluded = RawFile.excluded(path, Reason.UNSAFE_PATH, problem=unsafe)
                pending.append((path, lambda excluded=excluded: excluded))
            else:
                pending.append((path, functools.partial(_directory_entry, path, entry, config)))
    pending.sort(key=lambda item: item[0])
    for _, make in pending:
        yield make()


def _open_directory(source: Source, config: IngestConfig,
                    scratch_dir: Path) -> contextlib.AbstractContextManager[Snapshot]:
    return contextlib.nullcontext(
        Snapshot(None, None, _directory_files(source.path, config)))


DIRECTORY = Reader("directory", lambda source: stat.S_ISDIR(source.mode), _open_directory)

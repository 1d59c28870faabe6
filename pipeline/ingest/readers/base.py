"""What every reader shares: the source it is given, the files it gives back, and the helpers
that turn a name or an entry that must be left out into a :class:`RawFile`.

A reader is a :class:`Reader`: the kind of source it reads, a test of whether it reads a
given :class:`Source`, and a function that opens one as a :class:`Snapshot`. Every entry of
the source (directories aside) becomes exactly one :class:`RawFile`, in path order: with its
bytes, or with ``problem`` set and no bytes when it must be left out before decoding (links,
unsafe names, special files, files over ``max_file_bytes``, archive members past the archive
bounds, unreadable entries).
"""
from __future__ import annotations

import dataclasses
import functools
import os
import re
import stat
import urllib.parse
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from pipeline.config import IngestConfig
from pipeline.reasons import Reason
from pipeline.schema import git_blob_sha

# Longest symlink target the Linux kernel resolves (PATH_MAX, <linux/limits.h>); a longer
# "target" is recorded by size only.
PATH_MAX = 4096

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")


class SourceError(Exception):
    """The source cannot be read at all (the caller records SOURCE_UNAVAILABLE)."""


@dataclasses.dataclass(frozen=True)
class RawFile:
    """One file of a source: its bytes, or the reason it is left out before decoding."""

    path: str  # POSIX, repository-relative; the printable member name when unsafe
    data: bytes | None = None
    problem: Reason | None = None
    details: dict = dataclasses.field(default_factory=dict)
    size: int | None = None  # bytes, where known
    blob_sha: str | None = None  # git blob sha of the bytes, where known

    @classmethod
    def of_bytes(cls, path: str, data: bytes) -> RawFile:
        return cls(path, data, size=len(data), blob_sha=git_blob_sha(data))

    @classmethod
    def excluded(cls, path: str, problem: Reason, size: int | None = None,
                 blob_sha: str | None = None, /, **details: object) -> RawFile:
        return cls(path, None, problem, details, size, blob_sha)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """A source read at one revision; ``files`` is consumed while the snapshot is open."""

    revision: str | None
    revision_date: datetime | None  # UTC
    files: Iterator[RawFile]
    git_dir: str | None = None  # a git source's git directory, readable while the snapshot is open
    # Fetches a shallow clone's history down to the given depth from ``revision``; None where
    # the history is read as it is (a repository read in place, not a git source).
    deepen: Callable[[int], None] | None = None


@dataclasses.dataclass(frozen=True)
class Source:
    """A source as the manifest gives it, with what readers ask of it."""

    location: str  # a URL, credentials included, or a local path

    @property
    def shown(self) -> str:
        """The location without credentials: for records and messages."""
        return redacted_source(self.location)

    @property
    def path(self) -> Path:
        """The location as a local path."""
        return Path(self.location)

    @functools.cached_property
    def mode(self) -> int:
        """``st_mode`` of the location as a local path, links followed; SourceError when
        there is nothing to open there."""
        try:
            return os.stat(self.location).st_mode
        except OSError as error:
            raise SourceError(f"cannot open {self.shown}: {error.strerror}") from error


@dataclasses.dataclass(frozen=True)
class Reader:
    """One kind of source: its name, whether it reads a source, and how it opens one."""

    kind: str  # as the message for a source no reader reads names it
    reads: Callable[[Source], bool]
    open: Callable[[Source, IngestConfig, Path], AbstractContextManager[Snapshot]]


def redacted_source(source: str) -> str:
    """``source`` without the credentials of an ``http(s)://user:token@host`` URL."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme.lower() not in ("http", "https") or "@" not in parts.netloc:
        return source
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def checked_path(name: str) -> tuple[str, str | None]:
    """``(name as a normalised relative POSIX path, None)``, or ``(printable name, problem)``
    for a name that is not valid UTF-8, absolute, on a drive, or climbs out with ``..``."""
    try:  # names from the file system, tar and git carry undecodable bytes as surrogates
        printable = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        printable = name.encode("utf-8", "backslashreplace").decode("utf-8")
    if printable != name:
        return printable, "name is not valid UTF-8"
    if name.startswith(("/", "\\")):
        return name, "absolute path"
    if _DRIVE_LETTER.match(name):
        return name, "drive letter"
    if ".." in _SEPARATORS.split(name):
        return name, "parent directory traversal"
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts:
        return name, "empty path"
    return "/".join(parts), None


def too_large(path: str, size: int, config: IngestConfig, blob_sha: str | None = None) -> RawFile:
    """A file over ``max_file_bytes``, left out unread."""
    return RawFile.excluded(path, Reason.TOO_LARGE, size, blob_sha, size=size,
                            max_file_bytes=config.max_file_bytes)


def link(path: str, target: str | None, size: int | None = None, blob_sha: str | None = None,
         /, **details: object) -> RawFile:
    """A link, left out unfollowed; its target recorded where known."""
    if target is not None:
        details["target"] = target
    return RawFile.excluded(path, Reason.SYMLINK, size, blob_sha, **details)


def file_type(mode: int) -> str:
    """The name of the special file type in ``mode``."""
    kinds = {stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
             stat.S_IFBLK: "block device"}
    return kinds.get(stat.S_IFMT(mode), f"file type {oct(stat.S_IFMT(mode))}")


def printable_text(raw: bytes) -> str:
    """``raw`` as text, undecodable bytes escaped."""
    return raw.decode("utf-8", "backslashreplace")


def error_text(error: BaseException) -> str:
    """An error as recorded in ``details``: its type and message."""
    return f"{type(error).__name__}: {error}"

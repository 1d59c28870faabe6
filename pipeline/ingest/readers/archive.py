"""Archive sources: :data:`TAR` (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2``,
``.tar.xz``/``.txz``) and :data:`ZIP` (``.zip``).

Members are read in memory, never extracted. A single top-level directory that holds every
member (sdists, GitHub tarballs) is stripped from the paths. The archive bounds
(``max_archive_files``, ``max_archive_bytes``) are counted in archive order: every member
past one is left out as ARCHIVE_LIMIT.
"""
from __future__ import annotations

import bz2
import contextlib
import copy
import dataclasses
import functools
import gzip
import lzma
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from pipeline.config import IngestConfig
from pipeline.ingest.readers.base import (PATH_MAX, RawFile, Reader, Snapshot, Source, SourceError,
                                          checked_path, error_text, file_type, link,
                                          printable_text, too_large)
from pipeline.reasons import Reason

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_ZIP_SUFFIX = ".zip"
_ARCHIVE_KIND = f"archive ({', '.join(_TAR_SUFFIXES + (_ZIP_SUFFIX,))})"

_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)
# What zipfile raises for a member it cannot read (RuntimeError: encrypted member).
_ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
                      NotImplementedError, RuntimeError)


@dataclasses.dataclass
class _Member:
    """An archive member as scanned in archive order."""

    name: str  # as stored
    kind: str  # "file", "dir", "symlink", "hardlink" or "special"
    size: int = 0  # declared
    target: str | None = None  # links
    file_type: str | None = None  # special files
    over_bound: dict | None = None  # details of the archive bound it lies past
    load: Callable[[str], RawFile] | None = None  # regular files within the bounds


class _ArchiveBudget:
    """The archive bounds, counted in archive order; once past one, every later member is."""

    def __init__(self, config: IngestConfig):
        self._config = config
        self._members = 0
        self._bytes = 0

    def admit(self, member: _Member) -> None:
        self._members += 1
        self._bytes += member.size if member.kind == "file" else 0
        if self._members > self._config.max_archive_files:
            member.over_bound = {"max_archive_files": self._config.max_archive_files,
                                 "members_so_far": self._members}
        elif self._bytes > self._config.max_archive_bytes:
            member.over_bound = {"max_archive_bytes": self._config.max_archive_bytes,
                                 "declared_bytes_so_far": self._bytes}


def _common_root(members: list[_Member], paths: list[str | None]) -> str | None:
    """The one top-level directory every safe member lies under, when there is one."""
    safe = [(member, path) for member, path in zip(members, paths) if path is not None]
    roots = {path.split("/", 1)[0] for _, path in safe}
    if len(roots) != 1:
        return None
    root = roots.pop()
    if any(path == root and member.kind != "dir" for member, path in safe):
        return None
    return root if any(path.startswith(root + "/") for _, path in safe) else None


def _member_file(member: _Member, path: str, problem: str | None, config: IngestConfig) -> RawFile:
    if member.over_bound is not None:
        return RawFile.excluded(path, Reason.ARCHIVE_LIMIT, member.size, **member.over_bound)
    if problem is not None:
        return RawFile.excluded(path, Reason.UNSAFE_PATH, member.size, problem=problem)
    if member.kind == "symlink":
        return link(path, member.target, member.size)
    if member.kind == "hardlink":
        return link(path, member.target, hardlink=True)
    if member.kind == "special":
        return RawFile.excluded(path, Reason.SPECIAL_FILE, file_type=member.file_type)
    if member.size > config.max_file_bytes:
        return too_large(path, member.size, config)
    return member.load(path)


def _archive_files(members: list[_Member], config: IngestConfig) -> Iterator[RawFile]:
    """Every non-directory member in path order: a single common top-level directory
    stripped, and all but the last of members sharing a path marked unsafe."""
    checked = [checked_path(member.name) for member in members]
    root = _common_root(members, [path if problem is None else None for path, problem in checked])
    files = []
    for member, (path, problem) in zip(members, checked):
        if member.kind == "dir":
            continue
        if problem is None and root is not None:
            path = path[len(root) + 1:]
        files.append((path, problem, member))
    last_of_path = {path: index for index, (path, problem, _) in enumerate(files)
                    if problem is None}
    for index in sorted(range(len(files)), key=lambda index: (files[index][0], index)):
        path, problem, member = files[index]
        if problem is None and last_of_path[path] != index:
            problem = "a later member has the same path"
        yield _member_file(member, path, problem, config)


# --- tar ---------------------------------------------------------------------------------

def _tar_member(info: tarfile.TarInfo) -> _Member:
    if info.isdir():
        return _Member(info.name, "dir")
    if info.issym():
        return _Member(info.name, "symlink", target=info.linkname)
    if info.islnk():
        return _Member(info.name, "hardlink", target=info.linkname)
    if info.isreg():
        return _Member(info.name, "file", info.size)
    kinds = {tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
             tarfile.FIFOTYPE: "fifo"}
    return _Member(info.name, "special", file_type=kinds.get(info.type, f"tar type {info.type!r}"))


_COMPRESSED_OPENERS = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open),
                      (b"\xfd7zXZ\x00", lzma.open))


def _decompressed(path: Path) -> BinaryIO:
    """The tar stream inside ``path``: gzip, bzip2 and xz readers verify their checksums
    when read to the end, which tarfile's own stream mode does not do for gzip."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    for prefix, opener in _COMPRESSED_OPENERS:
        if magic.startswith(prefix):
            return opener(path, "rb")
    return open(path, "rb")


def _tar_members(path: Path, config: IngestConfig) -> list[_Member]:
    """Members of a (compressed) tar, read in one streaming pass; the bytes of the regular
    files within the bounds are held in memory (at most ``max_archive_bytes``). The stream
    is read to its end, so a damaged or truncated archive is an error, not a partial read."""
    budget = _ArchiveBudget(config)
    members = []
    try:
        with _decompressed(path) as stream, \
                tarfile.open(fileobj=stream, mode="r|", encoding="utf-8") as archive:
            for info in archive:
                member = _tar_member(info)
                if member.kind != "dir":
                    budget.admit(member)
                if (member.kind == "file" and member.over_bound is None
                        and member.size <= config.max_file_bytes):
                    data = archive.extractfile(info).read()
                    member.load = functools.partial(RawFile.of_bytes, data=data)
                members.append(member)
            while stream.read(1 << 20):
                pass
    except _TAR_ERRORS as error:
        raise SourceError(f"cannot read tar archive: {error_text(error)}") from error
    return members


def _open_tar(source: Source, config: IngestConfig,
              scratch_dir: Path) -> contextlib.AbstractContextManager[Snapshot]:
    members = _tar_members(source.path, config)
    return contextlib.nullcontext(
        Snapshot(None, None, _archive_files(members, config)))


# --- zip ---------------------------------------------------------------------------------

def _read_zip_file(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> RawFile:
    """A zip member's bytes, decompressing at most one byte past its declared size, so a
    member that holds more than it declares (a zip bomb) is caught, not unpacked."""
    declared = info.file_size
    probe = copy.copy(info)
    probe.file_size = declared + 1
    del probe.CRC  # zipfile checks a CRC only when its ZipInfo has one: checked below
    try:
        with archive.open(probe) as stream:
            data = stream.read(declared + 1)
    except _ZIP_MEMBER_ERRORS as error:
        return RawFile.excluded(path, Reason.UNREADABLE, declared, error=error_text(error))
    if len(data) > declared:
        return RawFile.excluded(path, Reason.ARCHIVE_LIMIT, declared, declared_size=declared,
                                decompressed_size_over=declared)
    if len(data) < declared or zlib.crc32(data) != info.CRC:
        return RawFile.excluded(path, Reason.UNREADABLE, declared,
                                error="member data does not match its declared size and CRC-32")
    return RawFile.of_bytes(path, data)


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Member:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0  # 3: Unix
    if info.is_dir() or stat.S_ISDIR(mode):
        return _Member(info.filename, "dir")
    if stat.S_ISLNK(mode):
        return _Member(info.filename, "symlink", info.file_size)
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        return _Member(info.filename, "special", file_type=file_type(mode))
    return _Member(info.filename, "file", info.file_size,
                   load=functools.partial(_read_zip_file, archive, info))


def _zip_members(archive: zipfile.ZipFile, config: IngestConfig) -> list[_Member]:
    """Members of a zip from its central directory; regular files are read when needed."""
    budget = _ArchiveBudget(config)
    members = []
    for info in archive.infolist():
        member = _zip_member(archive, info)
        if member.kind != "dir":
            budget.admit(member)
        if member.kind == "symlink" and member.over_bound is None and member.size <= PATH_MAX:
            target = _read_zip_file(archive, info, info.filename)
            member.target = None if target.data is None else printable_text(target.data)
        members.append(member)
    return members


@contextlib.contextmanager
def _open_zip(source: Source, config: IngestConfig, scratch_dir: Path) -> Iterator[Snapshot]:
    try:
        archive = zipfile.ZipFile(source.path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SourceError(f"cannot read zip archive: {error_text(error)}") from error
    with archive:
        members = _zip_members(archive, config)
        yield Snapshot(None, None, _archive_files(members, config))


def _is_regular_file_ending(suffixes: str | tuple[str, ...]) -> Callable[[Source], bool]:
    """Whether a source is a regular file whose name ends with one of ``suffixes``."""
    return lambda source: (stat.S_ISREG(source.mode)
                           and source.path.name.lower().endswith(suffixes))


TAR = Reader(_ARCHIVE_KIND, _is_regular_file_ending(_TAR_SUFFIXES), _open_tar)
ZIP = Reader(_ARCHIVE_KIND, _is_regular_file_ending(_ZIP_SUFFIX), _open_zip)

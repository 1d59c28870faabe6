"""Read the files of a repository from its source without executing anything from it.

:func:`open_snapshot` takes a source as the manifest gives it:

- a git URL (``https://``, ``http://``, ``git://``, ``ssh://``, ``file://``, ``user@host:path``)
  or a local path ending ``.git``: a bare, shallow (``--depth 1``), single-branch clone into
  the scratch directory without submodules. Bare means no checkout, so no smudge filter (Git
  LFS pointers stay pointers) and no checkout hook can run; hooks are pointed at
  ``/dev/null`` anyway, and git runs in a session of its own without a terminal and with
  prompts off, so neither git nor ssh can ask for anything;
- a local git repository (a directory holding ``.git``): its HEAD, read in place;
- a directory: walked without following links, ``.git`` skipped;
- an archive (``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``/``.tbz2``, ``.tar.xz``/``.txz``,
  ``.zip``): members read in memory, never extracted. A single top-level directory that
  holds every member (sdists, GitHub tarballs) is stripped from the paths.

Git is read with plumbing only: one ``git cat-file --batch`` process for the commit and the
blobs, ``git ls-tree -r -l -z`` for the tree, and replace refs are ignored.

Every entry of the source (directories aside) becomes exactly one :class:`RawFile`, in path
order: with its bytes, or with ``problem`` set and no bytes when it must be left out before
decoding (links, unsafe names, special files, files over ``max_file_bytes``, archive members
past the archive bounds, unreadable entries).
"""
from __future__ import annotations

import bz2
import contextlib
import copy
import dataclasses
import functools
import gzip
import lzma
import os
import re
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import urllib.parse
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from pipeline.config import IngestConfig
from pipeline.reasons import Reason
from pipeline.schema import git_blob_sha

# Longest symlink target the Linux kernel resolves (PATH_MAX, <linux/limits.h>); a longer
# "target" is recorded by size only.
PATH_MAX = 4096

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_ZIP_SUFFIX = ".zip"
_GIT_URL = re.compile(r"^(?:(?:https?|git|ssh|file)://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)
_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_SEPARATORS = re.compile(r"[/\\]")

# Variables that point git at another repository or object store
# (`git rev-parse --local-env-vars`, git 2.39): never inherited.
_GIT_LOCAL_ENV = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE", "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
)
_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)
# What zipfile raises for a member it cannot read (RuntimeError: encrypted member).
_ZIP_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
                      NotImplementedError, RuntimeError)


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
    """A source read at one revision; ``files`` is consumed inside :func:`open_snapshot`."""

    source_url: str
    revision: str | None
    revision_date: datetime | None  # UTC
    files: Iterator[RawFile]


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


def _too_large(path: str, size: int, config: IngestConfig, blob_sha: str | None = None) -> RawFile:
    return RawFile.excluded(path, Reason.TOO_LARGE, size, blob_sha, size=size,
                            max_file_bytes=config.max_file_bytes)


def _link(path: str, target: str | None, size: int | None = None, blob_sha: str | None = None,
          /, **details: object) -> RawFile:
    if target is not None:
        details["target"] = target
    return RawFile.excluded(path, Reason.SYMLINK, size, blob_sha, **details)


def _printable(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# --- git ---------------------------------------------------------------------------------

def _git_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _GIT_LOCAL_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS="",
               GIT_NO_REPLACE_OBJECTS="1", LC_ALL="C")
    return env


def _git_command(git_dir: str | None, args: list[str], options: tuple[str, ...] = ()) -> list[str]:
    command = ["git", "-c", "core.hooksPath=/dev/null", *options]
    if git_dir is not None:
        command += ["--git-dir", git_dir]
    return command + args


def _run_git(git_dir: str | None, args: list[str], options: tuple[str, ...] = (),
             timeout: float | None = None) -> bytes:
    """stdout of a git command; SourceError with git's message when it fails or times out."""
    try:
        process = subprocess.Popen(_git_command(git_dir, args, options), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=_git_env(), start_new_session=True)
    except OSError as error:
        raise SourceError(f"cannot run git: {error}") from error
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # git and the helpers it started
        process.communicate()
        raise SourceError(f"git {args[0]} timed out after {timeout} s") from None
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip() or f"exit status {process.returncode}"
        raise SourceError(f"git {args[0]} failed: {message}")
    return out


class _ObjectReader:
    """One long-lived ``git cat-file --batch``: objects by name, one request at a time."""

    def __init__(self, git_dir: str):
        self._stderr = tempfile.TemporaryFile()
        try:
            self._process = subprocess.Popen(
                _git_command(git_dir, ["cat-file", "--batch"]), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._stderr, env=_git_env())
        except OSError as error:
            self._stderr.close()
            raise SourceError(f"cannot run git: {error}") from error

    def read(self, name: str) -> tuple[str, str, bytes] | None:
        """``(sha, type, content)`` of object ``name``; None when the repository lacks it."""
        stdin, stdout = self._process.stdin, self._process.stdout
        try:
            stdin.write(name.encode() + b"\n")
            stdin.flush()
            header = stdout.readline()
        except OSError:
            header = b""
        fields = header.split()
        if len(fields) == 2 and fields[1] in (b"missing", b"ambiguous"):
            return None
        if len(fields) != 3:
            raise SourceError(f"git cat-file stopped: {self._stderr_text() or header!r}")
        size = int(fields[2])
        content = stdout.read(size)
        if len(content) != size or stdout.read(1) != b"\n":
            raise SourceError(f"git cat-file cut object {name} short: {self._stderr_text()}")
        return fields[0].decode(), fields[1].decode(), content

    def _stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._stderr.close()


def _head_commit(reader: _ObjectReader) -> tuple[str, str, datetime | None]:
    """``(commit sha, tree sha, committer date in UTC)`` of HEAD."""
    found = reader.read("HEAD^{commit}")
    if found is None:
        raise SourceError("the repository has no commit at HEAD")
    sha, _, content = found
    headers = content.split(b"\n\n", 1)[0].split(b"\n")
    trees = [line[5:].decode() for line in headers if line.startswith(b"tree ")]
    if len(trees) != 1:
        raise SourceError(f"commit {sha} has no tree")
    committers = [line for line in headers if line.startswith(b"committer ")]
    date = None
    if committers:  # "committer Name <email> <unix time> <+hhmm>"
        with contextlib.suppress(ValueError, IndexError, OverflowError, OSError):
            date = datetime.fromtimestamp(int(committers[0].rsplit(b" ", 2)[1]), timezone.utc)
    return sha, trees[0], date


def _tree_entries(git_dir: str, tree: str) -> list[tuple[str, str, str, int | None]]:
    """``(path, mode, sha, size)`` of every entry under ``tree``, sorted by path."""
    entries = []
    for item in _run_git(git_dir, ["ls-tree", "-r", "-l", "-z", tree]).split(b"\0"):
        if not item:
            continue
        meta, _, name = item.partition(b"\t")
        mode, _, sha, size = meta.decode().split()
        entries.append((name.decode("utf-8", "surrogateescape"), mode, sha,
                        None if size == "-" else int(size)))
    return sorted(entries)


def _git_blob(path: str, sha: str, reader: _ObjectReader) -> RawFile:
    found = reader.read(sha)
    if found is None:
        return RawFile.excluded(path, Reason.UNREADABLE, None, sha,
                                error="blob missing from the repository")
    raw = RawFile.of_bytes(path, found[2])
    if raw.blob_sha != sha:
        return RawFile.excluded(path, Reason.UNREADABLE, raw.size, sha,
                                error=f"content hashes to {raw.blob_sha}, not to its blob sha")
    return raw


def _git_files(entries: list[tuple[str, str, str, int | None]], reader: _ObjectReader,
               config: IngestConfig) -> Iterator[RawFile]:
    for name, mode, sha, size in entries:
        path, unsafe = checked_path(name)
        if unsafe:
            yield RawFile.excluded(path, Reason.UNSAFE_PATH, size, problem=unsafe)
        elif mode == "160000":
            yield RawFile.excluded(path, Reason.SUBMODULE, gitlink=True, commit=sha)
        elif mode == "120000":
            found = reader.read(sha) if size <= PATH_MAX else None
            yield _link(path, _printable(found[2]) if found else None, size, sha)
        elif size > config.max_file_bytes:
            yield _too_large(path, size, config, sha)
        else:
            yield _git_blob(path, sha, reader)


@contextlib.contextmanager
def _git_snapshot(git_dir: str, shown: str, config: IngestConfig) -> Iterator[Snapshot]:
    reader = _ObjectReader(git_dir)
    try:
        revision, tree, date = _head_commit(reader)
        entries = _tree_entries(git_dir, tree)
        yield Snapshot(shown, revision, date, _git_files(entries, reader, config))
    finally:
        reader.close()


@contextlib.contextmanager
def _clone(url: str, shown: str, config: IngestConfig, scratch_dir: Path) -> Iterator[str]:
    """A bare shallow clone of ``url`` in a fresh directory under ``scratch_dir``."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    destination = tempfile.mkdtemp(prefix="clone-", dir=scratch_dir)
    options = ("-c", "protocol.file.allow=always") if url.lower().startswith("file://") else ()
    try:
        try:
            _run_git(None, ["clone", "--quiet", "--bare", "--depth", "1", "--single-branch",
                            "--no-recurse-submodules", "--", url, destination],
                     options, timeout=config.clone_timeout_s)
        except SourceError as error:  # the message names neither credentials nor scratch
            message = str(error).replace(url, shown).replace(destination, "<scratch>")
            raise SourceError(message) from None
        yield destination
    finally:
        shutil.rmtree(destination)


# --- directories -------------------------------------------------------------------------

def _file_type(mode: int) -> str:
    kinds = {stat.S_IFIFO: "fifo", stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
             stat.S_IFBLK: "block device"}
    return kinds.get(stat.S_IFMT(mode), f"file type {oct(stat.S_IFMT(mode))}")


def _read_regular_file(path: str, location: str, config: IngestConfig) -> RawFile:
    """The bytes of a regular file, opened without following a link or blocking on a fifo
    (the entry may have changed since it was listed)."""
    try:
        descriptor = os.open(location, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return RawFile.excluded(path, Reason.UNREADABLE, error=_error_text(error))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return RawFile.excluded(path, Reason.SPECIAL_FILE, file_type=_file_type(info.st_mode))
        try:
            data = handle.read(config.max_file_bytes + 1)
        except OSError as error:
            return RawFile.excluded(path, Reason.UNREADABLE, error=_error_text(error))
    if len(data) > config.max_file_bytes:
        return _too_large(path, max(info.st_size, len(data)), config)
    return RawFile.of_bytes(path, data)


def _directory_entry(path: str, entry: os.DirEntry, config: IngestConfig) -> RawFile:
    """A directory entry that is not a directory, as a RawFile."""
    try:
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            return _link(path, os.readlink(entry.path), info.st_size)
    except OSError as error:
        return RawFile.excluded(path, Reason.UNREADABLE, error=_error_text(error))
    if not stat.S_ISREG(info.st_mode):
        return RawFile.excluded(path, Reason.SPECIAL_FILE, file_type=_file_type(info.st_mode))
    if info.st_size > config.max_file_bytes:
        return _too_large(path, info.st_size, config)
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
            failed = RawFile.excluded(path, Reason.UNREADABLE, error=_error_text(error), directory=True)
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


# --- archives ----------------------------------------------------------------------------

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
        raise SourceError(f"cannot read tar archive: {_error_text(error)}") from error
    return members


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
        return RawFile.excluded(path, Reason.UNREADABLE, declared, error=_error_text(error))
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
        return _Member(info.filename, "special", file_type=_file_type(mode))
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
            link = _read_zip_file(archive, info, info.filename)
            member.target = None if link.data is None else _printable(link.data)
        members.append(member)
    return members


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
        return _link(path, member.target, member.size)
    if member.kind == "hardlink":
        return _link(path, member.target, hardlink=True)
    if member.kind == "special":
        return RawFile.excluded(path, Reason.SPECIAL_FILE, file_type=member.file_type)
    if member.size > config.max_file_bytes:
        return _too_large(path, member.size, config)
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


# --- dispatch ----------------------------------------------------------------------------

@contextlib.contextmanager
def open_snapshot(source: str, config: IngestConfig, scratch_dir: Path) -> Iterator[Snapshot]:
    """The files of ``source`` (see the module docstring); SourceError when it cannot be read.

    Clones go into a fresh directory under ``scratch_dir``, removed on exit.
    """
    shown = redacted_source(source)
    if _GIT_URL.match(source):
        with _clone(source, shown, config, scratch_dir) as git_dir, \
                _git_snapshot(git_dir, shown, config) as snapshot:
            yield snapshot
        return
    try:
        mode = os.stat(source).st_mode
    except OSError as error:
        raise SourceError(f"cannot open {shown}: {error.strerror}") from error
    path = Path(source)
    if stat.S_ISDIR(mode) and path.name.endswith(".git"):
        url = path.resolve().as_uri()
        with _clone(url, shown, config, scratch_dir) as git_dir, \
                _git_snapshot(git_dir, shown, config) as snapshot:
            yield snapshot
    elif stat.S_ISDIR(mode) and os.path.lexists(path / ".git"):
        with _git_snapshot(str(path / ".git"), shown, config) as snapshot:
            yield snapshot
    elif stat.S_ISDIR(mode):
        yield Snapshot(shown, None, None, _directory_files(path, config))
    elif stat.S_ISREG(mode) and path.name.lower().endswith(_TAR_SUFFIXES):
        yield Snapshot(shown, None, None, _archive_files(_tar_members(path, config), config))
    elif stat.S_ISREG(mode) and path.name.lower().endswith(_ZIP_SUFFIX):
        with _open_zip(path) as archive:
            yield Snapshot(shown, None, None, _archive_files(_zip_members(archive, config), config))
    else:
        raise SourceError(f"{shown} is not a git URL, git repository, directory or archive "
                          f"({', '.join(_TAR_SUFFIXES + (_ZIP_SUFFIX,))})")


@contextlib.contextmanager
def _open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SourceError(f"cannot read zip archive: {_error_text(error)}") from error
    with archive:
        yield archive

"""Git sources, read at HEAD without executing anything from the repository.

- :data:`URL`: a git URL (``https://``, ``http://``, ``git://``, ``ssh://``, ``file://``,
  ``user@host:path``), and :data:`BARE_DIRECTORY`: a local directory whose name ends
  ``.git``. Both are cloned bare, shallow (``--depth 1``) and single-branch into a fresh
  directory under the scratch directory, without submodules, and the clone is removed on
  exit; the snapshot's ``deepen`` fetches more of the branch's history when its commits are
  asked for (``history`` in the manifest, :mod:`pipeline.ingest.commits`). Bare means no
  checkout, so no smudge filter (Git LFS pointers stay pointers) and no checkout hook can run;
  hooks are pointed at ``/dev/null`` anyway, and git runs in a session of its own without a
  terminal and with prompts off, so neither git nor ssh can ask for anything;
- :data:`WORKING_TREE`: a local directory holding ``.git``, read in place.

Git is read with plumbing only: one ``git cat-file --batch`` process for the commit and the
blobs, ``git ls-tree -r -l -z`` for the tree, and replace refs are ignored.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from pipeline.config import IngestConfig
from pipeline.ingest.readers.base import (PATH_MAX, RawFile, Reader, Snapshot, Source, SourceError,
                                          checked_path, link, printable_text, too_large)
from pipeline.reasons import Reason

# Bytes read at a time when an object over a caller's bound is skipped.
_SKIP_CHUNK = 1 << 20

_GIT_URL = re.compile(r"^(?:(?:https?|git|ssh|file)://|[\w.-]+@[\w.-]+:)", re.IGNORECASE)

# Variables that point git at another repository or object store
# (`git rev-parse --local-env-vars`, git 2.39): never inherited.
_GIT_LOCAL_ENV = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE", "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE", "GIT_INDEX_FILE", "GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX", "GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR",
)


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


def run_git(git_dir: str | None, args: list[str], options: tuple[str, ...] = (),
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


class ObjectTooLarge(Exception):
    """An object over the size a caller would read (its bytes were skipped, unread)."""

    def __init__(self, size: int):
        super().__init__(f"object of {size} bytes")
        self.size = size


class ObjectReader:
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

    def read(self, name: str, max_size: int | None = None) -> tuple[str, str, bytes] | None:
        """``(sha, type, content)`` of object ``name``; None when the repository lacks it;
        ObjectTooLarge, its bytes skipped unread, when it is over ``max_size`` bytes."""
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
        if max_size is not None and size > max_size:
            self._skip(size + 1)  # the content and its newline
            raise ObjectTooLarge(size)
        content = stdout.read(size)
        if len(content) != size or stdout.read(1) != b"\n":
            raise SourceError(f"git cat-file cut object {name} short: {self._stderr_text()}")
        return fields[0].decode(), fields[1].decode(), content

    def _skip(self, count: int) -> None:
        while count > 0:
            chunk = self._process.stdout.read(min(count, _SKIP_CHUNK))
            if not chunk:
                raise SourceError(f"git cat-file stopped: {self._stderr_text()}")
            count -= len(chunk)

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


@dataclasses.dataclass(frozen=True)
class CommitObject:
    """The parts of a git commit object that ingest reads."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: bytes | None  # "Name <email>", as the commit gives it
    date: datetime | None  # committer date, UTC
    encoding: str | None  # the ``encoding`` header: the message's encoding when not UTF-8
    message: bytes


def parse_commit(sha: str, content: bytes) -> CommitObject:
    """The commit object ``content``; SourceError when it names no tree."""
    head, _, message = content.partition(b"\n\n")
    headers: dict[bytes, list[bytes]] = {}
    for line in head.split(b"\n"):
        key, _, value = line.partition(b" ")
        headers.setdefault(key, []).append(value)
    if len(headers.get(b"tree", ())) != 1:
        raise SourceError(f"commit {sha} has no tree")
    people = {key: headers[key][0].rsplit(b" ", 2) for key in (b"author", b"committer")
              if key in headers}  # "Name <email> <unix time> <+hhmm>"
    date = None
    with contextlib.suppress(KeyError, ValueError, IndexError, OverflowError, OSError):
        date = datetime.fromtimestamp(int(people[b"committer"][1]), timezone.utc)
    encoding = headers.get(b"encoding", [None])[0]
    return CommitObject(sha, headers[b"tree"][0].decode(),
                        tuple(parent.decode() for parent in headers.get(b"parent", ())),
                        people[b"author"][0] if b"author" in people else None, date,
                        encoding.decode("ascii", "replace") if encoding else None, message)


def _head_commit(reader: ObjectReader) -> CommitObject:
    """HEAD's commit."""
    found = reader.read("HEAD^{commit}")
    if found is None:
        raise SourceError("the repository has no commit at HEAD")
    return parse_commit(found[0], found[2])


def _tree_entries(git_dir: str, tree: str) -> list[tuple[str, str, str, int | None]]:
    """``(path, mode, sha, size)`` of every entry under ``tree``, sorted by path."""
    entries = []
    for item in run_git(git_dir, ["ls-tree", "-r", "-l", "-z", tree]).split(b"\0"):
        if not item:
            continue
        meta, _, name = item.partition(b"\t")
        mode, _, sha, size = meta.decode().split()
        entries.append((name.decode("utf-8", "surrogateescape"), mode, sha,
                        None if size == "-" else int(size)))
    return sorted(entries)


def _git_blob(path: str, sha: str, reader: ObjectReader) -> RawFile:
    found = reader.read(sha)
    if found is None:
        return RawFile.excluded(path, Reason.UNREADABLE, None, sha,
                                error="blob missing from the repository")
    raw = RawFile.of_bytes(path, found[2])
    if raw.blob_sha != sha:
        return RawFile.excluded(path, Reason.UNREADABLE, raw.size, sha,
                                error=f"content hashes to {raw.blob_sha}, not to its blob sha")
    return raw


def _git_files(entries: list[tuple[str, str, str, int | None]], reader: ObjectReader,
               config: IngestConfig) -> Iterator[RawFile]:
    for name, mode, sha, size in entries:
        path, unsafe = checked_path(name)
        if unsafe:
            yield RawFile.excluded(path, Reason.UNSAFE_PATH, size, problem=unsafe)
        elif mode == "160000":
            yield RawFile.excluded(path, Reason.SUBMODULE, gitlink=True, commit=sha)
        elif mode == "120000":
            found = reader.read(sha) if size <= PATH_MAX else None
            yield link(path, printable_text(found[2]) if found else None, size, sha)
        elif size > config.max_file_bytes:
            yield too_large(path, size, config, sha)
        else:
            yield _git_blob(path, sha, reader)


@contextlib.contextmanager
def _git_snapshot(git_dir: str, config: IngestConfig,
                  deepen: Callable[[int], None] | None = None) -> Iterator[Snapshot]:
    reader = ObjectReader(git_dir)
    try:
        head = _head_commit(reader)
        entries = _tree_entries(git_dir, head.tree)
        yield Snapshot(head.sha, head.date, _git_files(entries, reader, config), git_dir, deepen)
    finally:
        reader.close()


def _redacted_error(error: SourceError, url: str, shown: str, destination: str) -> SourceError:
    """``error``'s message naming neither credentials nor the scratch directory."""
    return SourceError(str(error).replace(url, shown).replace(destination, "<scratch>"))


def _file_options(url: str) -> tuple[str, ...]:
    return ("-c", "protocol.file.allow=always") if url.lower().startswith("file://") else ()


def _deepen(git_dir: str, url: str, shown: str, config: IngestConfig, depth: int) -> None:
    """Fetch the history of the clone's branch down to ``depth`` commits from its tip."""
    try:
        run_git(git_dir, ["fetch", "--quiet", "--no-tags", "--depth", str(depth), "origin"],
                _file_options(url), timeout=config.clone_timeout_s)
    except SourceError as error:
        raise _redacted_error(error, url, shown, git_dir) from None


@contextlib.contextmanager
def _clone(url: str, shown: str, config: IngestConfig, scratch_dir: Path) -> Iterator[str]:
    """A bare shallow clone of ``url`` in a fresh directory under ``scratch_dir``."""
    scratch_dir.mkdir(parents=True, exist_ok=True)
    destination = tempfile.mkdtemp(prefix="clone-", dir=scratch_dir)
    try:
        try:
            run_git(None, ["clone", "--quiet", "--bare", "--depth", "1", "--single-branch",
                           "--no-recurse-submodules", "--", url, destination],
                    _file_options(url), timeout=config.clone_timeout_s)
        except SourceError as error:
            raise _redacted_error(error, url, shown, destination) from None
        yield destination
    finally:
        shutil.rmtree(destination)


@contextlib.contextmanager
def _cloned_snapshot(url: str, shown: str, config: IngestConfig,
                     scratch_dir: Path) -> Iterator[Snapshot]:
    with _clone(url, shown, config, scratch_dir) as git_dir, \
            _git_snapshot(git_dir, config, functools.partial(_deepen, git_dir, url, shown, config)) as snapshot:
        yield snapshot


def _open_url(source: Source, config: IngestConfig,
              scratch_dir: Path) -> contextlib.AbstractContextManager[Snapshot]:
    return _cloned_snapshot(source.location, source.shown, config, scratch_dir)


def _open_bare_directory(source: Source, config: IngestConfig,
                         scratch_dir: Path) -> contextlib.AbstractContextManager[Snapshot]:
    return _cloned_snapshot(source.path.resolve().as_uri(), source.shown, config, scratch_dir)


def _open_working_tree(source: Source, config: IngestConfig,
                       scratch_dir: Path) -> contextlib.AbstractContextManager[Snapshot]:
    return _git_snapshot(str(source.path / ".git"), config)


URL = Reader("git URL", lambda source: bool(_GIT_URL.match(source.location)), _open_url)
BARE_DIRECTORY = Reader(
    "git repository",
    lambda source: stat.S_ISDIR(source.mode) and source.path.name.endswith(".git"),
    _open_bare_directory)
WORKING_TREE = Reader(
    "git repository",
    lambda source: stat.S_ISDIR(source.mode) and os.path.lexists(source.path / ".git"),
    _open_working_tree)

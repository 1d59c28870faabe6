"""Git commits: the history of an ingested git repository, one ``commit`` record per changed file.

A manifest entry with ``history: N`` asks for the commits among the last N reachable from HEAD
(``git rev-list --max-count=N HEAD``, newest first); a shallow clone is deepened to N + 1 first,
so that the oldest has its parent. Every commit is compared with its parent (``git diff-tree -r
-M``: renames found as git finds them); a root commit with the empty tree. Merge commits are
skipped: they change nothing of their own, so they give no records, as commits at the edge of a
shallow history (parents missing) give none, their change untellable from a first commit.

Each changed file gives one record (StarCoder's commits, Li et al. 2023, were message, old and
new contents and language of one file): ``path`` the file's path after the commit (before it,
for a deletion), ``revision`` the commit sha, ``revision_date`` its committer date, ``language``
from the path, ``blob_sha`` and ``size`` those of the new contents, ``encoding`` theirs, and the
licence the repository's directory has at the ingested revision (as every record of it). The id
is ``record_id("commit", repo, path, "<commit sha>:<new blob sha>")`` (the blob empty for a
deletion), so a (commit, path) keeps its id across builds. A commit over
``commits.max_files`` changed files gives one record instead (path empty), excluded as
COMMIT_FILES_LIMIT, its blobs never read.

``content`` is StarCoder's text form ``<commit_before>OLD<commit_msg>SUBJECT<commit_after>NEW``:
the whole old and new file for ``full_file_share`` of the records, else the changed line range
of each with 0 to ``max_context_lines`` lines of context before and after (one draw each, the
same for both sides), line ends kept. The message is its subject (first line), as BigCode used
it (``example["subject"]``); trailers such as ``Signed-off-by: Name <e-mail>`` stay out.

Filters (the defaults of :class:`pipeline.config.CommitConfig`, BigCode's ``commit_filter``), as
exclusion reasons: TOO_LARGE for old contents of ``max_old_chars`` characters or more (and
blobs over ``max_file_bytes``, skipped unread); COMMIT_NEW_EMPTY for deleted or emptied files;
COMMIT_MESSAGE for an empty subject, a boilerplate one (``boilerplate_messages``, whole; or
``boilerplate_fragments``, anywhere), one that is only a version (``v1.2.3``) or one of over
``max_chars_per_word`` characters a word (hashes, generated ids); COMMIT_SUBSAMPLED for the
records a rule subsamples and its draw leaves out: a changed old range of at most
``short_change_lines`` or at least ``long_change_lines`` lines, a subject of fewer than
``short_message_words`` words. Besides, as for files: UNSAFE_PATH, SUBMODULE, SYMLINK,
UNREADABLE, UNSUPPORTED_LANGUAGE, BINARY (either side) and UNDECODABLE (either side, or the
message).

Two departures from BigCode's code, both to what its names say: the changed range runs from
the first to the last changed line (BigCode's ``get_line_diff_range`` starts its minimum at 0,
so its ranges always start at line 0); and "only a version" is the whole subject (BigCode's
``re.match`` also dropped subjects starting with one).

Every draw is a hash of (seed, commit sha, path, purpose) mapped to [0, 1): deterministic,
independent per purpose, and the same whichever rule is tried first.

``authors`` (private, never in shards): the lower-cased e-mail of the commit's author and of
its ``Co-authored-by`` trailers, with the login of every GitHub noreply address
(``[ID+]LOGIN@users.noreply.github.com``), so that a user opt-out request by login, or an
e-mail request by address, covers the commits; the committer is not an author.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from pathlib import Path
from typing import Iterator

from pipeline.config import CommitConfig, IngestConfig
from pipeline.ingest.decode import decode, is_binary
from pipeline.ingest.languages import extension_of, language_for
from pipeline.ingest.manifest import RepoEntry, public_url
from pipeline.ingest.readers import Snapshot, SourceError
from pipeline.ingest.readers.base import checked_path
from pipeline.ingest.readers.git import (CommitObject, ObjectReader, ObjectTooLarge,
                                         parse_commit, run_git)
from pipeline.reasons import Reason, exclude
from pipeline.schema import content_hash, new_record, record_id

COMMIT_KIND = "commit"
BEFORE, MESSAGE, AFTER = "<commit_before>", "<commit_msg>", "<commit_after>"
_NULL_SHA = "0" * 40
_SUBMODULE, _SYMLINK = "160000", "120000"
_NOREPLY = re.compile(r"(?:\d+\+)?([^@\s]+)@users\.noreply\.github\.com")
_ADDRESS = re.compile(rb"<([^<>]*)>\s*$")
_CO_AUTHOR = re.compile(r"^co-authored-by:[^<\n]*<([^<>\n]+)>\s*$", re.IGNORECASE | re.MULTILINE)
# A version and nothing else: v1.2, 1.2.3, v2.0.0-rc1, 1.4.0.post2.
_VERSION = re.compile(r"v?\d+(?:\.\d+)+(?:[-+.]?[a-z0-9]+)*", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Change:
    """One changed file of a commit, as ``git diff-tree --raw`` gives it."""

    old_mode: str
    new_mode: str
    old_sha: str  # _NULL_SHA where the file did not exist
    new_sha: str  # _NULL_SHA where the commit deletes it
    path: str  # after the commit (before it for a deletion), as git names it

    @property
    def deleted(self) -> bool:
        return self.new_sha == _NULL_SHA


@dataclasses.dataclass(frozen=True)
class Span:
    """The changed line range of the old and the new contents (first changed line to the end of
    the last), as line indices."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int

    @property
    def old_lines(self) -> int:
        return self.old_end - self.old_start


def draw(seed: int, sha: str, path: str, purpose: str) -> float:
    """A number in [0, 1) fixed by its arguments: every random choice of this module."""
    key = f"{seed}\0{sha}\0{path}\0{purpose}".encode("utf-8", "surrogateescape")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64


def authors_of(commit: CommitObject, message: str) -> list[str]:
    """The commit's people, lower case, sorted, distinct: e-mails and noreply logins."""
    emails = []
    found = _ADDRESS.search(commit.author or b"")
    if found:
        emails.append(found.group(1).decode("utf-8", "replace"))
    emails += _CO_AUTHOR.findall(message)
    names = set()
    for email in (email.strip().lower() for email in emails):
        if email:
            names.add(email)
            login = _NOREPLY.fullmatch(email)
            if login:
                names.add(login.group(1))
    return sorted(names)


def decoded_message(commit: CommitObject) -> str | None:
    """The commit message as text: UTF-8, else the encoding its header names; None if neither."""
    for encoding in ("utf-8", commit.encoding):
        if encoding:
            try:
                return commit.message.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
    return None


def subject_of(message: str) -> str:
    """The message's first line, stripped."""
    return message.split("\n", 1)[0].strip()


def message_problem(subject: str, config: CommitConfig) -> dict | None:
    """Why a subject is dropped (``{"rule": ...}``), or None to keep it."""
    lowered = subject.lower()
    words = lowered.split()
    if not words:
        return {"rule": "empty"}
    if lowered in config.boilerplate_messages:
        return {"rule": "boilerplate", "value": lowered}
    for fragment in config.boilerplate_fragments:
        if fragment in lowered:
            return {"rule": "boilerplate_fragment", "value": fragment}
    if _VERSION.fullmatch(lowered):
        return {"rule": "version", "value": lowered}
    chars_per_word = len(subject) / len(words)
    if chars_per_word > config.max_chars_per_word:
        return {"rule": "chars_per_word", "value": chars_per_word,
                "threshold": config.max_chars_per_word}
    return None


def change_span(old_lines: list[str], new_lines: list[str]) -> Span:
    """The changed range of each side (empty ranges at 0 when nothing changed)."""
    changed = [op for op in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes()
               if op[0] != "equal"]
    if not changed:
        return Span(0, 0, 0, 0)
    return Span(changed[0][1], changed[-1][2], changed[0][3], changed[-1][4])


def subsampled(span: Span, subject: str, sha: str, path: str, config: CommitConfig
               ) -> dict | None:
    """The first subsampling rule whose draw leaves the record out (its details), or None."""
    rules = (("short_change", span.old_lines <= config.short_change_lines, span.old_lines,
              config.short_change_lines, config.short_change_keep),
             ("long_change", span.old_lines >= config.long_change_lines, span.old_lines,
              config.long_change_lines, config.long_change_keep),
             ("short_message", len(subject.split()) < config.short_message_words,
              len(subject.split()), config.short_message_words, config.short_message_keep))
    for rule, applies, value, threshold, keep in rules:
        if applies:
            value_drawn = draw(config.seed, sha, path, rule)
            if value_drawn >= keep:
                return {"rule": rule, "value": value, "threshold": threshold, "keep": keep,
                        "draw": value_drawn}
    return None


def text_form(old: str, new: str, subject: str, span: Span, sha: str, path: str,
              config: CommitConfig) -> str:
    """``<commit_before>...<commit_msg>...<commit_after>...``: whole files or the changed
    range with drawn context (see the module docstring)."""
    if draw(config.seed, sha, path, "full_file") < config.full_file_share:
        return f"{BEFORE}{old}{MESSAGE}{subject}{AFTER}{new}"
    contexts = config.max_context_lines + 1
    before = int(draw(config.seed, sha, path, "context_before") * contexts)
    after = int(draw(config.seed, sha, path, "context_after") * contexts)
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    old_part = "".join(old_lines[max(0, span.old_start - before):span.old_end + after])
    new_part = "".join(new_lines[max(0, span.new_start - before):span.new_end + after])
    return f"{BEFORE}{old_part}{MESSAGE}{subject}{AFTER}{new_part}"


def history(git_dir: str, count: int) -> list[str]:
    """The shas of the last ``count`` commits reachable from HEAD, newest first, less those
    at the edge of a shallow history."""
    if count <= 0:
        return []
    shas = run_git(git_dir, ["rev-list", f"--max-count={count}", "HEAD"]).decode().split()
    # git names the file relative to the working directory, as it was given the git directory
    shallow_file = Path(run_git(git_dir, ["rev-parse", "--git-path", "shallow"]).decode().strip())
    edge = set(shallow_file.read_text().split()) if shallow_file.is_file() else set()
    return [sha for sha in shas if sha not in edge]


def changes(git_dir: str, commit: CommitObject) -> list[Change]:
    """The files ``commit`` changes against its one parent (or the empty tree), in git's order
    (by path)."""
    parent = list(commit.parents[:1]) or ["--root"]
    out = run_git(git_dir, ["diff-tree", "-r", "-z", "-M", "--raw", "--no-commit-id", *parent,
                            commit.sha])
    fields = out.split(b"\0")
    found, index = [], 0
    while index < len(fields) and fields[index].startswith(b":"):
        old_mode, new_mode, old_sha, new_sha, status = fields[index][1:].decode().split()
        names = [fields[index + 1].decode("utf-8", "surrogateescape")]
        index += 2
        if status[0] in "RC":  # renames and copies name the old path, then the new
            names.append(fields[index].decode("utf-8", "surrogateescape"))
            index += 1
        found.append(Change(old_mode, new_mode, old_sha, new_sha, names[-1]))
    return found


@dataclasses.dataclass
class _CommitReader:
    """What reading the changes of one repository's commits needs."""

    entry: RepoEntry
    snapshot: Snapshot
    config: IngestConfig
    reader: ObjectReader
    stage: str

    def record(self, commit: CommitObject, path: str, blob_sha: str | None, **fields) -> dict:
        """A commit record of ``path`` with the commit's and the repository's fields."""
        key = f"{commit.sha}:{blob_sha or ''}"
        return new_record(
            id=record_id(COMMIT_KIND, self.entry.name, path, key), kind=COMMIT_KIND,
            repo=self.entry.name, source_url=public_url(self.entry), revision=commit.sha,
            revision_date=commit.date, path=path, blob_sha=blob_sha, stars=self.entry.stars,
            forks=self.entry.forks, **fields)

    def blob(self, sha: str) -> bytes:
        """The bytes of blob ``sha`` (empty for the null sha); ObjectTooLarge over
        max_file_bytes, LookupError when missing."""
        if sha == _NULL_SHA:
            return b""
        found = self.reader.read(sha, self.config.max_file_bytes)
        if found is None:
            raise LookupError(f"blob {sha} missing from the repository")
        return found[2]

    def commit_records(self, sha: str) -> list[dict]:
        """The records of commit ``sha``: none for a merge, one over the files limit, else one
        per changed file."""
        found = self.reader.read(sha)
        if found is None:
            raise SourceError(f"commit {sha} missing from the repository")
        commit = parse_commit(sha, found[2])
        if len(commit.parents) > 1:
            return []
        listed = changes(self.snapshot.git_dir, commit)
        message = decoded_message(commit)
        authors = authors_of(commit, message or "") or None
        limit = self.config.commits.max_files
        if len(listed) > limit:
            return [exclude(self.record(commit, "", None, authors=authors),
                            Reason.COMMIT_FILES_LIMIT, self.stage, files=len(listed),
                            max_files=limit)]
        out = []
        for change in listed:
            path, unsafe = checked_path(change.path)
            blob_sha = None if change.deleted else change.new_sha
            record = self.record(commit, path, blob_sha, language=language_for(path),
                                 extension=extension_of(path), authors=authors)
            try:
                out.append(self.change_record(record, change, commit, message, unsafe))
            except Exception as error:  # one file must never abort the repository
                out.append(exclude(record, Reason.UNREADABLE, self.stage,
                                   error=f"{type(error).__name__}: {error}"))
        return out

    def change_record(self, record: dict, change: Change, commit: CommitObject,
                      message: str | None, unsafe: str | None) -> dict:
        """The record of one changed file: excluded with its reason, or with its text."""
        stage, config, commits = self.stage, self.config, self.config.commits
        if unsafe:
            return exclude(record, Reason.UNSAFE_PATH, stage, problem=unsafe)
        modes = (change.old_mode, change.new_mode)
        if _SUBMODULE in modes:
            return exclude(record, Reason.SUBMODULE, stage, gitlink=True)
        if _SYMLINK in modes:
            return exclude(record, Reason.SYMLINK, stage)
        sides = {}
        for side, sha in (("old", change.old_sha), ("new", change.new_sha)):
            try:
                sides[side] = self.blob(sha)
            except ObjectTooLarge as error:
                return exclude(record, Reason.TOO_LARGE, stage, side=side, size=error.size,
                               max_file_bytes=config.max_file_bytes)
        record["size"] = len(sides["new"])
        if record["language"] is None:
            return exclude(record, Reason.UNSUPPORTED_LANGUAGE, stage,
                           extension=record["extension"])
        texts = {}
        for side, data in sides.items():
            if is_binary(data, config):
                return exclude(record, Reason.BINARY, stage, side=side,
                               nul_offset=data.index(b"\0"),
                               binary_sniff_bytes=config.binary_sniff_bytes)
            decoded = decode(data, config)
            if decoded is None:
                return exclude(record, Reason.UNDECODABLE, stage, side=side,
                               max_encoding_chaos=config.max_encoding_chaos,
                               min_encoding_coherence=config.min_encoding_coherence)
            texts[side] = decoded[0]
            if side == "new":
                record["encoding"] = decoded[1]
        if message is None:
            return exclude(record, Reason.UNDECODABLE, stage, side="message",
                           encoding=commit.encoding)
        if not texts["new"]:
            return exclude(record, Reason.COMMIT_NEW_EMPTY, stage, deleted=change.deleted)
        if len(texts["old"]) >= commits.max_old_chars:
            return exclude(record, Reason.TOO_LARGE, stage, side="old",
                           old_chars=len(texts["old"]), max_old_chars=commits.max_old_chars)
        subject = subject_of(message)
        problem = message_problem(subject, commits)
        if problem is not None:
            return exclude(record, Reason.COMMIT_MESSAGE, stage, **problem)
        span = change_span(texts["old"].splitlines(), texts["new"].splitlines())
        left_out = subsampled(span, subject, commit.sha, record["path"], commits)
        if left_out is not None:
            return exclude(record, Reason.COMMIT_SUBSAMPLED, stage, **left_out)
        record["content"] = text_form(texts["old"], texts["new"], subject, span, commit.sha,
                                      record["path"], commits)
        record["content_hash"] = content_hash(record["content"])
        return record


def commit_records(entry: RepoEntry, snapshot: Snapshot, config: IngestConfig,
                   stage: str) -> Iterator[dict]:
    """The ``commit`` records of ``entry``'s history (none without ``history``); SourceError
    when the history cannot be read, or a history is asked of a source that has none."""
    if not entry.history:
        return
    if snapshot.git_dir is None:
        raise SourceError("history asked of a source that is not a git repository")
    if snapshot.deepen is not None:
        snapshot.deepen(entry.history + 1)
    reader = ObjectReader(snapshot.git_dir)
    try:
        commits = _CommitReader(entry, snapshot, config, reader, stage)
        for sha in history(snapshot.git_dir, entry.history):
            yield from commits.commit_records(sha)
    finally:
        reader.close()


def history_unavailable(entry: RepoEntry, snapshot: Snapshot, message: str, stage: str
                        ) -> dict:
    """The one record that accounts for a history that could not be read."""
    record = new_record(id=record_id(COMMIT_KIND, entry.name, "", snapshot.revision or ""),
                        kind=COMMIT_KIND, repo=entry.name, source_url=public_url(entry),
                        revision=snapshot.revision, revision_date=snapshot.revision_date,
                        path="", stars=entry.stars, forks=entry.forks)
    return exclude(record, Reason.SOURCE_UNAVAILABLE, stage, error=message)


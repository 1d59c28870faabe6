"""GitHub issues: GH Archive hourly files and REST API dumps in, one record per conversation.

Input: a manifest line ``{"name": "gharchive/2024-01-01", "issues": [paths]}``
(:class:`pipeline.ingest.manifest.IssuesEntry`), one ingest task, whose files are read in the
order given and grouped by (repository, issue number):

- ``*.json.gz``: a GH Archive hourly file (https://www.gharchive.org/), one event a line in
  GitHub's envelope (``id``, ``type``, ``actor``, ``repo``, ``payload``, ``created_at``).
  ``IssuesEvent`` and ``IssueCommentEvent`` are read; with ``issues.include_pull_requests`` also
  ``PullRequestEvent`` and the events of issues that are pull requests; other types are not
  issue data and are skipped.
- ``*.json``: a REST API dump: an issue as ``GET /repos/{owner}/{repo}/issues/{number}`` gives it,
  with ``comments`` the list ``GET .../issues/{number}/comments`` gives (or a list of such issues);
  the repository is read from ``repository_url``.

Events arrive out of order and in several files: a conversation is the issue's text (title, body,
author, open or closed) from its latest snapshot by ``updated_at``, then its comments in time
order, each comment as its latest edit; a comment ever seen deleted is gone.

Filters, in bigcode-dataset's order (``preprocessing/filtering_issues.py``, defaults and their
sources in :class:`pipeline.config.IssuesConfig`): e-mail reply boilerplate and quoted ``>``
lines stripped from each text; long comments cut to their first and last lines; comments of bots
dropped with the comment that called the bot (it names the bot or is a ``/command``):
nothing left is ISSUE_BOT; under ``min_chars`` of text is ISSUE_TOO_SHORT; one author with
more than ``single_author_max_chars`` or ``single_author_max_events`` is ISSUE_SINGLE_AUTHOR;
then the natural language (py3langid, its model inside the package) not in ``languages`` is
ISSUE_LANGUAGE. "Text" is the comments' text after stripping and cutting, the title aside.

Usernames are pseudonymised per conversation: ``username_0``, ``username_1``, ... in order of
appearance (each comment's author, then the ``@mentions`` of its text), in the author fields
and wherever a login of the conversation stands as a word of the text. The real logins go to
the record's private ``authors`` (:mod:`pipeline.schema`), never to a shard.

Text form: ``<issue_start><issue_comment>Title: {title}\\nusername_0: {body}<issue_comment>
username_1: {comment}...<issue_closed>``, the closing token only when the issue is closed.

A record: kind ``issue``, ``repo`` the event's repository, ``path`` ``issues/<number>``,
``source_url`` the issue's page, ``revision_date`` its last event; ``blob_sha`` the git blob sha
of the conversation as read (canonical JSON, before filters), so the id changes when the
conversation does and not when a filter does. Licence fields stay null: the licences stage gives
an issue its repository's (:mod:`licenses.policy`).

Hostile inputs give exclusions, never a crash, each an ``issue`` record of the manifest line's
``name`` whose ``path`` is the input path (``#L<line>`` for a line): an input that cannot be read
or breaks midway (a truncated ``.json.gz``: the events read before the break are used) is
UNREADABLE; a line over ``max_event_bytes`` or a dump over ``max_dump_bytes`` is TOO_LARGE, a
line that is no JSON event or misses a field is ISSUE_EVENT_INVALID; a body over
``max_body_chars`` (GitHub's own cap) makes its conversation TOO_LARGE.
"""
from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator

from pipeline.config import IssuesConfig
from pipeline.ingest.manifest import IssuesEntry
from pipeline.reasons import Reason, exclude
from pipeline.schema import content_hash, git_blob_sha, new_record, record_id

KIND = "issue"
STAGE = "ingest"
START, COMMENT, CLOSED = "<issue_start>", "<issue_comment>", "<issue_closed>"
TRUNCATED = "[Truncated]"  # the line truncate_long_comments puts between head and tail
EVENT_TYPES = ("IssuesEvent", "IssueCommentEvent")
PULL_REQUEST_EVENT = "PullRequestEvent"
_READ_CHUNK = 1 << 20

# E-mail replies (bigcode-dataset utils_issues.py, GITHUB_EMAILS and the line rules beside it):
# a reply's quoted part starts at the "On <date> <notifications@github.com> wrote:" header; the
# footer GitHub adds ends it; "Signed-off-by" lines and "____" separators go too.
_REPLY_HEADER = re.compile(r"notifications@github\.com|reply\.github\.com|"
                           r"\d+/\d+/\d+ \d{2}:\d{2} [AP]M.+wrote|^On .+ wrote:$")
_REPLY_FOOTER = re.compile(r"Reply to this email directly|view it on GitHub|mute the thread|"
                           r"You are receiving this because|notifications/unsubscribe")
_SIGNED_OFF = re.compile(r"^Signed-off-by: .+<.+>")
_SEPARATOR = re.compile(r"_{20,}")
# GitHub logins: letters, digits and single hyphens, at most 39 characters.
_LOGIN_CHARS = "A-Za-z0-9-"
_MENTION = re.compile(rf"(?<![._%+@{_LOGIN_CHARS}])@([A-Za-z0-9][{_LOGIN_CHARS}]{{0,38}})")


class EventError(ValueError):
    """An event without a field it needs; the message names the field."""


class InputBroken(Exception):
    """An input that stopped being readable after ``lines`` lines."""

    def __init__(self, message: str, lines: int):
        super().__init__(message)
        self.lines = lines


@dataclasses.dataclass(frozen=True)
class Post:
    """One text of a conversation as one snapshot shows it: the issue's own (``comment_id``
    None) or a comment. ``order`` ranks snapshots of the same post: the latest wins."""

    comment_id: int | None
    author: str
    body: str
    created_at: str
    order: tuple[str, str, str]  # (updated_at, event time, event id)
    deleted: bool = False

    def rank(self) -> tuple:
        """Which of two snapshots of a post is the later: by ``order``, then the text (a total
        order, so the result never depends on the order inputs are read in)."""
        return self.order, self.body, self.author, self.created_at


@dataclasses.dataclass(frozen=True)
class IssueSnapshot:
    """The issue as one event or dump shows it."""

    repo: str
    number: int
    title: str
    closed: bool
    opening: Post


@dataclasses.dataclass
class Thread:
    """Everything read about one issue: its latest snapshot and each comment's latest state."""

    issue: IssueSnapshot
    comments: dict[int, Post] = dataclasses.field(default_factory=dict)
    last_event: str = ""

    def add(self, issue: IssueSnapshot, comment: Post | None) -> None:
        """One snapshot more: the later one of the issue wins; a comment's latest edit wins,
        and once deleted it stays deleted."""
        if (issue.opening.rank(), issue.title, issue.closed) > \
                (self.issue.opening.rank(), self.issue.title, self.issue.closed):
            self.issue = issue
        self.last_event = max(self.last_event, issue.opening.order[1])
        if comment is None:
            return
        known = self.comments.get(comment.comment_id)
        if known is None or (not known.deleted and (comment.deleted
                                                    or comment.rank() > known.rank())):
            self.comments[comment.comment_id] = comment
        self.last_event = max(self.last_event, comment.order[1])

    def posts(self) -> list[Post]:
        """The issue's text, then its comments (deleted ones left out) in time order."""
        comments = sorted((c for c in self.comments.values() if not c.deleted),
                          key=lambda c: (c.created_at, c.comment_id))
        return [self.issue.opening, *comments]


# --- reading -------------------------------------------------------------------------------

def _field(value: Any, *path: str, prefix: str = "") -> Any:
    """``value[path[0]][path[1]]...``; EventError naming the first part that is missing, after
    ``prefix`` (where ``value`` lies in the event)."""
    for depth, name in enumerate(path):
        if not isinstance(value, dict) or value.get(name) is None:
            raise EventError(f"missing field {prefix}{'.'.join(path[:depth + 1])}")
        value = value[name]
    return value


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EventError(f"field {name} is not a string")
    return value


def _post(item: dict, comment_id: int | None, event_time: str, event_id: str, prefix: str,
          deleted: bool = False) -> Post:
    created = _text(_field(item, "created_at", prefix=prefix), "created_at")
    updated = _text(item.get("updated_at"), "updated_at") or created
    return Post(comment_id, _text(_field(item, "user", "login", prefix=prefix), "user.login"),
                _text(item.get("body"), "body"), created, (updated, event_time, event_id),
                deleted)


def _number(issue: dict, prefix: str) -> int:
    number = _field(issue, "number", prefix=prefix)
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise EventError(f"issue number {number!r} is not a positive integer")
    return number


def _snapshot(repo: str, issue: dict, event_time: str, event_id: str,
              prefix: str) -> IssueSnapshot:
    return IssueSnapshot(repo, _number(issue, prefix), _text(issue.get("title"), "title"),
                         issue.get("state") == "closed" or issue.get("merged") is True,
                         _post(issue, None, event_time, event_id, prefix))


def read_event(event: Any, config: IssuesConfig) -> tuple[IssueSnapshot, Post | None] | None:
    """The issue snapshot (and comment) of one GH Archive event; None for an event this source
    does not read; EventError when a field it needs is missing."""
    if not isinstance(event, dict):
        raise EventError("an event is a JSON object")
    kind = _field(event, "type")
    if kind not in EVENT_TYPES and not (kind == PULL_REQUEST_EVENT
                                        and config.include_pull_requests):
        return None
    repo = _text(_field(event, "repo", "name"), "repo.name")
    event_time = _text(_field(event, "created_at"), "created_at")
    event_id = str(_field(event, "id"))
    payload = _field(event, "payload")
    name = "pull_request" if kind == PULL_REQUEST_EVENT else "issue"
    issue = _field(payload, name, prefix="payload.")
    pull_request = kind == PULL_REQUEST_EVENT or bool(issue.get("pull_request"))
    if pull_request and not config.include_pull_requests:
        return None
    snapshot = _snapshot(repo, issue, event_time, event_id, f"payload.{name}.")
    if kind != "IssueCommentEvent":
        return snapshot, None
    comment = _field(payload, "comment", prefix="payload.")
    return snapshot, _post(comment, _comment_id(comment, "payload.comment."), event_time,
                           event_id, "payload.comment.",
                           deleted=payload.get("action") == "deleted")


def _comment_id(comment: dict, prefix: str) -> int:
    comment_id = _field(comment, "id", prefix=prefix)
    if isinstance(comment_id, bool) or not isinstance(comment_id, int):
        raise EventError(f"comment id {comment_id!r} is not an integer")
    return comment_id


def read_dump_issue(issue: Any, config: IssuesConfig) -> list[tuple[IssueSnapshot, Post | None]]:
    """The snapshots of one issue of a REST API dump (see the module docstring)."""
    if not isinstance(issue, dict):
        raise EventError("an issue is a JSON object")
    url = _text(_field(issue, "repository_url"), "repository_url")
    repo = "/".join(url.rstrip("/").split("/")[-2:])
    if issue.get("pull_request") and not config.include_pull_requests:
        return []
    updated = _text(issue.get("updated_at"), "updated_at")
    snapshot = _snapshot(repo, issue, updated, "", "")
    comments = issue.get("comments")
    if not isinstance(comments, list):
        raise EventError("field comments is not the list of the issue's comments")
    out: list[tuple[IssueSnapshot, Post | None]] = [(snapshot, None)]
    for index, comment in enumerate(comments):
        prefix = f"comments[{index}]."
        out.append((snapshot, _post(comment, _comment_id(comment, prefix), updated, "", prefix)))
    return out


def _gzip_lines(path: str, max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` of a gzip file, None for a line over ``max_bytes`` (skipped in
    chunks, never held); InputBroken when the file breaks off or is not gzip."""
    number = 0
    try:
        with gzip.open(path, "rb") as handle:
            while line := handle.readline(max_bytes + 1):
                number += 1
                if len(line) > max_bytes:
                    while line and not line.endswith(b"\n"):
                        line = handle.readline(_READ_CHUNK)
                    yield number, None
                else:
                    yield number, line
    except (OSError, EOFError, zlib.error) as error:
        raise InputBroken(f"{type(error).__name__}: {error}", number) from None


# --- the conversation's text ----------------------------------------------------------------

def strip_email_text(text: str) -> str:
    """``text`` without e-mail reply boilerplate: quoted ``>`` lines, a reply's quoted part
    from its header to GitHub's footer, footer lines, Signed-off-by lines, ``____`` rules."""
    kept: list[str] = []
    quoting = False
    for line in text.strip().split("\n"):
        stripped = line.strip()
        if _REPLY_HEADER.search(stripped):
            quoting = True
        elif _REPLY_FOOTER.search(stripped):
            quoting = False
        elif not quoting and not stripped.startswith(">") and not _SIGNED_OFF.match(stripped):
            kept.append(line)
    return _SEPARATOR.sub("", "\n".join(kept)).strip()


def truncate_comment(text: str, max_lines: int, tail_lines: int) -> str:
    """A text over ``max_lines`` lines as its first ``max_lines - tail_lines`` lines,
    :data:`TRUNCATED` and its last ``tail_lines`` lines."""
    lines = text.split("\n")
    if len(lines) <= max_lines:
        return text
    return "\n".join([*lines[:max_lines - tail_lines], TRUNCATED, *lines[-tail_lines:]])


def is_bot(login: str, config: IssuesConfig) -> bool:
    """Whether ``login`` is a bot by the config's names, keywords and suffixes."""
    name = login.lower()
    return (name in config.bot_authors or any(k in name for k in config.bot_keywords)
            or name.endswith(config.bot_suffixes))


def _calls(text: str, bot: str) -> bool:
    """Whether ``text`` calls the bot ``bot``: it names it (``@dependabot`` for
    ``dependabot[bot]``) or is a ``/command``."""
    return (bot.lower().removesuffix("[bot]") in text.lower()
            or text.lstrip().startswith("/"))


def drop_bots(posts: list[tuple[str, str]], config: IssuesConfig) -> list[tuple[str, str]]:
    """``(author, text)`` posts without bots' and without the human comment right before a
    bot's that called it (the issue's own text is never such a call)."""
    kept: list[tuple[str, str]] = []
    kept_index: list[int] = []
    for index, (author, text) in enumerate(posts):
        if not is_bot(author, config):
            kept.append((author, text))
            kept_index.append(index)
        elif kept_index and kept_index[-1] == index - 1 > 0 and _calls(kept[-1][1], author):
            kept.pop()
            kept_index.pop()
    return kept


def pseudonyms(posts: list[tuple[str, str]]) -> dict[str, str]:
    """Lower-case login -> ``username_<n>``, in order of appearance: each post's author, then
    the ``@mentions`` of its text."""
    names: dict[str, str] = {}
    for author, text in posts:
        for login in (author, *_MENTION.findall(text)):
            names.setdefault(login.lower(), f"username_{len(names)}")
    return names


def pseudonymiser(names: dict[str, str]) -> Callable[[str], str]:
    """text -> the text with every login of ``names`` (lower case) that stands as a word, in
    any case, replaced by its pseudonym."""
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    pattern = re.compile(rf"(?<![{_LOGIN_CHARS}])(?:{alternatives})(?![{_LOGIN_CHARS}])",
                         re.IGNORECASE)
    return lambda text: pattern.sub(lambda match: names[match.group().lower()], text)


def issue_text(title: str, posts: list[tuple[str, str]], closed: bool) -> str:
    """The conversation in StarCoder's issue form, pseudonymised (module docstring)."""
    names = pseudonyms(posts)
    pseudonymise = pseudonymiser(names)
    parts = [START]
    for index, (author, text) in enumerate(posts):
        title_line = f"Title: {pseudonymise(title)}\n" if index == 0 else ""
        parts.append(f"{COMMENT}{title_line}{names[author.lower()]}: {pseudonymise(text)}")
    if closed:
        parts.append(CLOSED)
    return "".join(parts)


# --- records --------------------------------------------------------------------------------

def _input_record(entry: IssuesEntry, source: str, line: int | None, reason: Reason,
                  **details: object) -> dict:
    """The exclusion that accounts for an input, or a line of one, that gave no conversation:
    its ``path`` names the input file by its name only (and the line), never the directory of
    the build machine it was read from; its id keys on the input as the manifest gives it."""
    line_suffix = "" if line is None else f"#L{line}"
    record = new_record(id=record_id(KIND, entry.name, source + line_suffix, ""), kind=KIND,
                        repo=entry.name, source_url=None, extension="", stars=0, forks=0,
                        path=Path(source).name + line_suffix)
    return exclude(record, reason, STAGE, **details)



def _utc(stamp: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(datetime.timezone.utc) if parsed.tzinfo else None


def conversation_record(thread: Thread, config: IssuesConfig,
                        language_of: Callable[[str], str]) -> dict:
    """The record of one conversation: its text, or excluded by a filter (module docstring)."""
    issue = thread.issue
    posts = thread.posts()
    raw = json.dumps({"repo": issue.repo, "number": issue.number, "title": issue.title,
                      "closed": issue.closed,
                      "posts": [[p.author, p.created_at, p.body] for p in posts]},
                     ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass")
    blob = git_blob_sha(raw)
    path = f"issues/{issue.number}"
    record = new_record(
        id=record_id(KIND, issue.repo, path, blob), kind=KIND, repo=issue.repo,
        source_url=f"https://github.com/{issue.repo}/issues/{issue.number}",
        revision_date=_utc(thread.last_event), path=path, blob_sha=blob, extension="",
        size=len(raw), encoding="utf-8", stars=0, forks=0)
    longest = max(len(p.body) for p in posts)
    if longest > config.max_body_chars:
        return exclude(record, Reason.TOO_LARGE, STAGE, body_chars=longest,
                       max_body_chars=config.max_body_chars)
    texts = [(p.author, truncate_comment(strip_email_text(p.body), config.max_comment_lines,
                                         config.comment_tail_lines)) for p in posts]
    texts = drop_bots(texts, config)
    record["authors"] = sorted({author.lower() for author, _ in texts}) or None
    if not texts:
        return exclude(record, Reason.ISSUE_BOT, STAGE, posts=len(posts))
    chars = sum(len(text) for _, text in texts)
    if chars < config.min_chars:
        return exclude(record, Reason.ISSUE_TOO_SHORT, STAGE, chars=chars,
                       min_chars=config.min_chars)
    if len(record["authors"]) == 1 and (chars > config.single_author_max_chars
                                        or len(texts) > config.single_author_max_events):
        return exclude(record, Reason.ISSUE_SINGLE_AUTHOR, STAGE, chars=chars, events=len(texts),
                       single_author_max_chars=config.single_author_max_chars,
                       single_author_max_events=config.single_author_max_events)
    language = language_of("\n".join([issue.title, *(text for _, text in texts)]))
    if language not in config.languages:
        return exclude(record, Reason.ISSUE_LANGUAGE, STAGE, language=language,
                       languages=list(config.languages))
    content = issue_text(issue.title, texts, issue.closed)
    record["content"] = content
    record["content_hash"] = content_hash(content)
    return record


def _read_input(source: str, entry: IssuesEntry, config: IssuesConfig,
                add: Callable[[IssueSnapshot, Post | None], None]) -> list[dict]:
    """Feed one input's snapshots to ``add``; returns the exclusions that account for what of
    it could not be read."""
    if source.endswith(".json.gz"):
        return _read_events(source, entry, config, add)
    if not source.endswith(".json"):
        return [_input_record(entry, source, None, Reason.UNREADABLE,
                              error="not a GH Archive .json.gz nor a REST API dump .json")]
    try:
        size = Path(source).stat().st_size
        if size > config.max_dump_bytes:
            return [_input_record(entry, source, None, Reason.TOO_LARGE, size=size,
                                  max_dump_bytes=config.max_dump_bytes)]
        dump = json.loads(Path(source).read_bytes())
    except (OSError, ValueError, RecursionError) as error:  # UnicodeDecodeError: a ValueError
        return [_input_record(entry, source, None, Reason.UNREADABLE,
                              error=f"{type(error).__name__}: {str(error)[:300]}")]
    excluded = []
    for index, issue in enumerate(dump if isinstance(dump, list) else [dump]):
        try:
            snapshots = read_dump_issue(issue, config)
        except EventError as error:
            excluded.append(_input_record(entry, source, index + 1, Reason.ISSUE_EVENT_INVALID,
                                          error=str(error)))
            continue
        for snapshot, comment in snapshots:
            add(snapshot, comment)
    return excluded


def _read_events(source: str, entry: IssuesEntry, config: IssuesConfig,
                 add: Callable[[IssueSnapshot, Post | None], None]) -> list[dict]:
    excluded = []
    try:
        for number, line in _gzip_lines(source, config.max_event_bytes):
            if line is None:
                excluded.append(_input_record(entry, source, number, Reason.TOO_LARGE,
                                              max_event_bytes=config.max_event_bytes))
                continue
            try:
                event = json.loads(line)
                read = read_event(event, config)
            except (ValueError, RecursionError) as error:  # EventError is a ValueError
                excluded.append(_input_record(entry, source, number, Reason.ISSUE_EVENT_INVALID,
                                              error=str(error)[:300]))
                continue
            if read is not None:
                add(*read)
    except InputBroken as error:
        excluded.append(_input_record(entry, source, None, Reason.UNREADABLE, error=str(error),
                                      lines_read=error.lines))
    return excluded


def issue_records(entry: IssuesEntry, config: IssuesConfig,
                  language_of: Callable[[str], str]) -> list[dict]:
    """The records of one issues input: a conversation record per issue, sorted by repository
    and number, then the exclusions of what could not be read, in input order."""
    threads: dict[tuple[str, int], Thread] = {}

    def add(issue: IssueSnapshot, comment: Post | None) -> None:
        key = (issue.repo, issue.number)
        if key not in threads:
            threads[key] = Thread(issue)
        threads[key].add(issue, comment)

    excluded = [record for source in entry.issues
                for record in _read_input(source, entry, config, add)]
    return [conversation_record(threads[key], config, language_of)
            for key in sorted(threads)] + excluded


def language_identifier() -> Callable[[str], str]:
    """py3langid's classifier (its model ships inside the package; loaded once per process):
    text -> ISO 639-1 code."""
    import py3langid

    return lambda text: py3langid.classify(text)[0]


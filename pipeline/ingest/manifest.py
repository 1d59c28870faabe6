"""The repository manifest: JSON Lines, one repository (or one issues input) a line.

``{"name": "owner/repo", "source": "<git URL | local git repository | directory | archive>",
"stars": 0, "forks": 0, "license": null, "history": 100, "url": "https://..."}``; ``stars``,
``forks``, ``license``, ``history`` and ``url`` may be left out. ``license`` is the repository's
metadata licence (an SPDX expression). ``url`` is where the public can get the source (a git
URL, or a registry's page of the package version an archive came from): the records'
``source_url`` (:func:`public_url`), never a path of the machine that built the release. ``history`` asks a git source for the commits among the last N reachable from
HEAD as ``commit`` records (:mod:`pipeline.ingest.commits`); left out, no commit records.

``{"name": "gharchive/2024-01-01", "issues": ["2024-01-01-0.json.gz", "dump.json", ...]}``: a
GitHub issues input (:mod:`pipeline.ingest.issues`), GH Archive hourly files and REST API dumps
(paths as given, like a local ``source``); ``name`` only names the input. A line has ``source``
or ``issues``, never both.

Blank lines and lines starting with ``#`` are skipped; anything else that is not such an object
is an error that names the file and line.
"""
from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from pathlib import Path

from pipeline.ingest.readers.base import redacted_source

_NAME_PART = re.compile(r"[A-Za-z0-9_.-]+")
_REQUIRED = ("name", "source")
_OPTIONAL_COUNTS = ("stars", "forks")
_FIELDS = frozenset(_REQUIRED + _OPTIONAL_COUNTS + ("license", "history", "url"))
# Sources the public can fetch: a URL of these schemes, or git's scp-like user@host:path.
_PUBLIC_SCHEMES = ("http", "https", "git", "ssh")
_SCP_LIKE = re.compile(r"[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:[^/\\].*")
_ISSUES_FIELDS = frozenset(("name", "issues"))


class ManifestError(ValueError):
    """A manifest line that cannot be read; the message starts with ``file:line:``."""


@dataclasses.dataclass(frozen=True)
class RepoEntry:
    """One repository to ingest."""

    name: str  # "owner/repo"
    source: str
    stars: int = 0
    forks: int = 0
    license: str | None = None
    history: int | None = None  # commits of the git history to read as commit records
    url: str | None = None  # where the public gets the source (see the module docstring)


@dataclasses.dataclass(frozen=True)
class IssuesEntry:
    """One GitHub issues input: its name and its files, in the manifest's order."""

    name: str
    issues: tuple[str, ...]


def entry_from_dict(values: dict) -> RepoEntry | IssuesEntry:
    """The entry of a manifest line already read (``dataclasses.asdict`` of one): the reader's
    side of :func:`read_manifest`."""
    if "issues" in values:
        return IssuesEntry(values["name"], tuple(values["issues"]))
    return RepoEntry(**values)


def _is_public_url(text: str) -> bool:
    """Whether ``text`` is a URL the public can fetch, with no credentials in it."""
    if _SCP_LIKE.fullmatch(text):
        return True
    parts = urllib.parse.urlsplit(text)
    return (parts.scheme.lower() in _PUBLIC_SCHEMES and bool(parts.hostname)
            and parts.password is None and not any(c.isspace() for c in text))


def public_url(entry: RepoEntry) -> str | None:
    """Where the public gets ``entry``'s source: its ``url``, else its ``source`` when that
    is a public URL (credentials removed), else None: a local path is no provenance."""
    if entry.url:
        return entry.url
    shown = redacted_source(entry.source)
    return shown if _is_public_url(shown) else None


def _is_owner_repo(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(
        _NAME_PART.fullmatch(part) and part not in (".", "..") for part in parts
    )


def _issues_entry(values: dict, where: str) -> IssuesEntry:
    unknown = sorted(set(values) - _ISSUES_FIELDS)
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {unknown} in an issues line; allowed: "
                            f"{sorted(_ISSUES_FIELDS)}")
    paths = values["issues"]
    if (not isinstance(paths, list) or not paths
            or not all(isinstance(p, str) and p.strip() for p in paths)):
        raise ManifestError(f"{where}: field 'issues' must be a non-empty list of paths")
    if len(set(paths)) != len(paths):
        raise ManifestError(f"{where}: field 'issues' names a path twice")
    return IssuesEntry(values["name"], tuple(paths))


def _entry(values: object, where: str) -> RepoEntry | IssuesEntry:
    if not isinstance(values, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(values).__name__}")
    if "issues" in values:
        if "source" in values:
            raise ManifestError(f"{where}: a line has 'source' or 'issues', not both")
        if not isinstance(values.get("name"), str) or not _is_owner_repo(values["name"]):
            raise ManifestError(f"{where}: name {values.get('name')!r} is not of the form "
                                f"owner/repo")
        return _issues_entry(values, where)
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}")
    for field in _REQUIRED:
        if field not in values:
            raise ManifestError(f"{where}: missing field {field!r}")
        if not isinstance(values[field], str) or not values[field].strip():
            raise ManifestError(f"{where}: field {field!r} must be a non-empty string")
    if not _is_owner_repo(values["name"]):
        raise ManifestError(f"{where}: name {values['name']!r} is not of the form owner/repo")
    for field in _OPTIONAL_COUNTS:
        count = values.get(field, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ManifestError(f"{where}: field {field!r} must be a non-negative integer, "
                                f"got {count!r}")
    license_ = values.get("license")
    if license_ is not None and (not isinstance(license_, str) or not license_.strip()):
        raise ManifestError(f"{where}: field 'license' must be null or a non-empty SPDX "
                            f"expression, got {license_!r}")
    history = values.get("history")
    if history is not None and (isinstance(history, bool) or not isinstance(history, int)
                                or history < 0):
        raise ManifestError(f"{where}: field 'history' must be null or a non-negative integer, "
                            f"got {history!r}")
    url = values.get("url")
    if url is not None and (not isinstance(url, str) or not _is_public_url(url)):
        raise ManifestError(f"{where}: field 'url' must be null or a public http(s), git or "
                            f"ssh URL without credentials, got {url!r}")
    return RepoEntry(values["name"], values["source"], values.get("stars", 0),
                     values.get("forks", 0), license_, history, url)


def read_manifest(path: str | Path) -> list[RepoEntry | IssuesEntry]:
    """The repositories and issues inputs of the manifest at ``path``, in file order."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ManifestError(f"{path}: not UTF-8 ({error})") from error
    entries: list[RepoEntry | IssuesEntry] = []
    line_of_name: dict[str, int] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise ManifestError(f"{where}: invalid JSON: {error}") from error
        entry = _entry(values, where)
        if entry.name in line_of_name:
            raise ManifestError(f"{where}: duplicate name {entry.name!r} "
                                f"(first given on line {line_of_name[entry.name]})")
        line_of_name[entry.name] = number
        entries.append(entry)
    return entries

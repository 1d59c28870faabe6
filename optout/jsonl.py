"""Opt-out requests as JSON lines: parsing an import file, writing an export.

A line, e.g. exported from an issue tracker::

    {"issue": 12, "author": "login", "optout_repos": ["owner/name"], "optout_owners": ["login"]}

``issue`` (a positive integer or null) and ``author`` (a GitHub login or null) must be there,
as must ``optout_repos`` and ``optout_owners`` (lists of strings; together with the optional
``optout_orgs`` and ``optout_emails``, at least one target). Optional: ``optout_orgs``,
``optout_emails`` (e-mail addresses, matched against commit authors) and ``reason`` (text or
null).
Other keys are ignored (an export adds ``id``, ``kind``, ``status``, ``source``,
``created_at``). Each owner becomes a ``user`` request: offline a user cannot be told from an
organisation; organisations known to be ones go under ``optout_orgs``. The source is
``issue:N``, or ``import:FILE:LINE`` for a line without an issue.
"""
from __future__ import annotations

import json
import re
from typing import Any

from optout.registry import NewRequest, Request, check_text, new_request
from optout.targets import normalise_login

TARGET_KEYS = (("optout_repos", "repo"), ("optout_owners", "user"), ("optout_orgs", "org"),
               ("optout_emails", "email"))
REQUIRED_KEYS = ("issue", "author", "optout_repos", "optout_owners")
MAX_REPORTED_ERRORS = 5
_ISSUE_SOURCE = re.compile(r"issue:([1-9][0-9]*)")


class ImportFileError(ValueError):
    """An import file with malformed lines; nothing of it was applied."""


def _line_requests(line: str, file_label: str, number: int) -> list[NewRequest]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg} at column {error.colno})") from error
    if not isinstance(item, dict):
        raise ValueError(f"a JSON object expected, not {type(item).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in item]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    issue = item["issue"]
    if issue is not None and (type(issue) is not int or issue < 1):
        raise ValueError(f"issue must be a positive integer or null, not {issue!r}")
    source = f"issue:{issue}" if issue is not None else f"import:{file_label}:{number}"
    author = item["author"]
    if author is not None:
        normalise_login(author, "author")
    reason = check_text(item.get("reason"), "reason", required=False)
    requests = []
    for key, kind in TARGET_KEYS:
        targets = item.get(key, [])
        if not isinstance(targets, list):
            raise ValueError(f"{key} must be a list, not {type(targets).__name__}")
        for index, target in enumerate(targets):
            try:
                requests.append(new_request(kind, target, reason=reason, source=source,
                                            requested_by=author))
            except ValueError as error:
                raise ValueError(f"{key}[{index}]: {error}") from error
    if not requests:
        raise ValueError("names no repository, owner, organisation or e-mail address")
    return requests


def parse_import(text: str, file_label: str) -> list[NewRequest]:
    """The requests of an import file's ``text``, in file order; blank lines are skipped.
    :class:`ImportFileError` names every malformed line (the first few of them)."""
    requests: list[NewRequest] = []
    errors: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            requests.extend(_line_requests(line, file_label, number))
        except ValueError as error:
            errors.append(f"line {number}: {error}")
    if errors:
        more = len(errors) - MAX_REPORTED_ERRORS
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS]) + (f"; and {more} more" if more > 0
                                                           else "")
        raise ImportFileError(f"{file_label}: {len(errors)} malformed line(s), nothing "
                              f"imported: {shown}")
    return requests


def export_item(request: Request) -> dict[str, Any]:
    """A request as an import line (read back, it gives the same kind, target, reason,
    requester and issue) plus its id, kind, status, source and creation time."""
    issue = _ISSUE_SOURCE.fullmatch(request.source)
    return {
        "issue": int(issue.group(1)) if issue else None,
        "author": request.requested_by,
        **{key: [request.target] if request.kind == kind else []
           for key, kind in TARGET_KEYS},
        "reason": request.reason,
        "id": request.id,
        "kind": request.kind,
        "status": request.status,
        "source": request.source,
        "created_at": request.created_at,
    }

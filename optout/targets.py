"""What an opt-out request can name, checked the way GitHub checks it.

A request names exactly one of: a GitHub login (``user``), an organisation (``org``) or one
repository (``repo``, ``OWNER/NAME``). Each check returns the normalised key the registry
compares: GitHub treats logins, organisation and repository names case-insensitively, so
the key is lower case (the registry keeps what was typed for display).

Logins and organisations: 1-39 ASCII letters, digits and hyphens, not starting or ending
with a hyphen. GitHub refuses consecutive hyphens for new accounts only: older accounts
with ``--`` exist and may opt out, so ``a--b`` is accepted (a key that matches no account
costs nothing; refusing a real account's opt-out would). Repositories: an owner as above,
one slash, and a name of 1-100 characters of ``[A-Za-z0-9._-]`` other than ``.`` and ``..``.
"""
from __future__ import annotations

import re
import unicodedata

KINDS = ("user", "org", "repo")
MAX_LOGIN_CHARS = 39
MAX_REPO_NAME_CHARS = 100
_LOGIN_CHARS = re.compile(r"[A-Za-z0-9-]+")
_REPO_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")


class InvalidTarget(ValueError):
    """A login, organisation or repository GitHub would not accept."""


def has_control_character(text: str, allowed: str = "") -> bool:
    """Whether ``text`` holds a control, format or other non-printing code point (Unicode
    category C*) outside ``allowed``."""
    return any(unicodedata.category(char).startswith("C") and char not in allowed
               for char in text)


def normalise_login(login: object, what: str = "GitHub login") -> str:
    """The lower-case key of a user or organisation login; :class:`InvalidTarget` if GitHub
    would not accept it."""
    if not isinstance(login, str):
        raise InvalidTarget(f"{what} must be a string, not {type(login).__name__}")
    if not login:
        raise InvalidTarget(f"{what} is empty")
    if has_control_character(login):
        raise InvalidTarget(f"{what} {login!r} contains a control character")
    if len(login) > MAX_LOGIN_CHARS:
        raise InvalidTarget(f"{what} {login!r} is longer than {MAX_LOGIN_CHARS} characters")
    if not _LOGIN_CHARS.fullmatch(login):
        raise InvalidTarget(f"{what} {login!r} may hold only ASCII letters, digits and hyphens")
    if login.startswith("-") or login.endswith("-"):
        raise InvalidTarget(f"{what} {login!r} must not start or end with a hyphen")
    return login.lower()


def normalise_repo(repo: object) -> str:
    """The lower-case ``owner/name`` key of a repository; :class:`InvalidTarget` if GitHub
    would not accept it."""
    if not isinstance(repo, str):
        raise InvalidTarget(f"repository must be a string, not {type(repo).__name__}")
    if has_control_character(repo):
        raise InvalidTarget(f"repository {repo!r} contains a control character")
    parts = repo.split("/")
    if any(part in (".", "..") for part in parts):
        raise InvalidTarget(f"repository {repo!r} is a relative path ('.' or '..'), "
                            "not OWNER/NAME")
    if len(parts) != 2:
        raise InvalidTarget(f"repository {repo!r} must be OWNER/NAME, with exactly one slash")
    owner, name = parts
    owner_key = normalise_login(owner, f"owner of repository {repo!r}")
    if not name:
        raise InvalidTarget(f"repository {repo!r} has an empty name")
    if len(name) > MAX_REPO_NAME_CHARS:
        raise InvalidTarget(f"repository name in {repo!r} is longer than "
                            f"{MAX_REPO_NAME_CHARS} characters")
    if not _REPO_NAME_CHARS.fullmatch(name):
        raise InvalidTarget(f"repository name in {repo!r} may hold only ASCII letters, "
                            "digits, '.', '_' and '-'")
    return f"{owner_key}/{name.lower()}"


def normalise_target(kind: str, target: object) -> str:
    """The normalised key of ``target`` as a request of ``kind`` (one of :data:`KINDS`)."""
    if kind == "user":
        return normalise_login(target)
    if kind == "org":
        return normalise_login(target, "organisation")
    if kind == "repo":
        return normalise_repo(target)
    raise InvalidTarget(f"unknown request kind {kind!r}: one of {', '.join(KINDS)}")

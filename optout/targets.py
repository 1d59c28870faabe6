"""What an opt-out request can name, checked the way GitHub checks it.

A request names exactly one of: a GitHub login (``user``), an organisation (``org``), one
repository (``repo``, ``OWNER/NAME``) or one e-mail address (``email``, matched against the
authors of commits). Each check returns the normalised key the registry compares: GitHub
treats logins, organisation and repository names case-insensitively, so the key is lower case
(the registry keeps what was typed for display); an address is trimmed and lower-cased, as
ingest lower-cases the addresses of commit authors.

Logins and organisations: 1-39 ASCII letters, digits and hyphens, not starting or ending
with a hyphen. GitHub refuses consecutive hyphens for new accounts only: older accounts
with ``--`` exist and may opt out, so ``a--b`` is accepted (a key that matches no account
costs nothing; refusing a real account's opt-out would). Repositories: an owner as above,
one slash, and a name of 1-100 characters of ``[A-Za-z0-9._-]`` other than ``.`` and ``..``.
E-mail addresses: at most 254 characters (RFC 5321's limit on a path), exactly one ``@`` with
text on both sides, no blank and no control character.

An e-mail address is personal data: what reaches a release names it by the sha256 of its key
(:func:`published_target`).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

KINDS = ("user", "org", "repo", "email")
MAX_LOGIN_CHARS = 39
MAX_REPO_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254  # RFC 5321 4.5.3.1.3: a path holds at most 256 octets with its <>
_LOGIN_CHARS = re.compile(r"[A-Za-z0-9-]+")
_REPO_NAME_CHARS = re.compile(r"[A-Za-z0-9._-]+")


class InvalidTarget(ValueError):
    """A login, organisation or repository GitHub would not accept, or an e-mail address that
    is not one address."""


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


def normalise_email(address: object) -> str:
    """The key of an e-mail address: trimmed, lower case; :class:`InvalidTarget` naming the
    rule it breaks."""
    if not isinstance(address, str):
        raise InvalidTarget(f"e-mail address must be a string, not {type(address).__name__}")
    key = address.strip().lower()
    if not key:
        raise InvalidTarget("e-mail address is empty")
    if has_control_character(key):
        raise InvalidTarget(f"e-mail address {address!r} contains a control character")
    if len(key) > MAX_EMAIL_CHARS:
        raise InvalidTarget(f"e-mail address {address!r} is longer than {MAX_EMAIL_CHARS} "
                            "characters (RFC 5321)")
    if any(char.isspace() for char in key):
        raise InvalidTarget(f"e-mail address {address!r} contains a blank: give one address")
    local, at, domain = key.partition("@")
    if not at:
        raise InvalidTarget(f"e-mail address {address!r} has no @")
    if "@" in domain:
        raise InvalidTarget(f"e-mail address {address!r} has more than one @: give one address")
    if not local or not domain:
        raise InvalidTarget(f"e-mail address {address!r} needs text before and after the @")
    return key


def published_target(kind: str, key: str) -> str:
    """A request's normalised target as a release may show it: an e-mail address (personal
    data) as ``sha256:HEX`` of its key, any other target as it is."""
    if kind == "email":
        return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


def normalise_target(kind: str, target: object) -> str:
    """The normalised key of ``target`` as a request of ``kind`` (one of :data:`KINDS`)."""
    if kind == "user":
        return normalise_login(target)
    if kind == "org":
        return normalise_login(target, "organisation")
    if kind == "repo":
        return normalise_repo(target)
    if kind == "email":
        return normalise_email(target)
    raise InvalidTarget(f"unknown request kind {kind!r}: one of {', '.join(KINDS)}")

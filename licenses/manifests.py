"""The licences that package manifests declare, read as ScanCode's package detection reads them.

A manifest is a licence statement of its directory, ranked below the directory's licence files
(:mod:`licenses.resolve`). The fields read, per format:

- ``package.json``: ``license``, a string (SPDX, or ``SEE LICENSE IN <file>``) or the old
  ``{"type": ...}`` object, and the old ``licenses`` list of strings or ``{"type": ...}``
  (npm docs, "license"; scancode-toolkit packagedcode/npm.py ``get_declared_licenses``);
- ``pyproject.toml``: ``[project] license``, a string (an SPDX expression, PEP 639) or a table
  ``{text = ...}`` / ``{file = ...}`` (PEP 621), and ``[project] license-expression`` (PEP 639
  drafts);
- ``PKG-INFO`` and ``METADATA`` (core metadata): ``License-Expression`` and ``License``;
- ``Cargo.toml``: ``[package] license`` (SPDX; Cargo's deprecated ``/`` separator reads as
  ``OR``) and ``license-file``.

This module only parses: it returns each declaration as written. Reading it (an SPDX
expression, else free text through ScanCode's detection, or the file it points to) is
:mod:`licenses.resolve`'s business.
"""
from __future__ import annotations

import dataclasses
import email.parser
import json
import posixpath
import re
import tomllib

MANIFEST_NAMES = frozenset({"package.json", "pyproject.toml", "PKG-INFO", "METADATA", "Cargo.toml"})
# Values that say nothing: SPDX's "no information" values, and "UNKNOWN", which setuptools
# wrote into PKG-INFO for a missing License field before metadata 2.2.
_NO_INFORMATION = frozenset({"", "NOASSERTION", "NONE", "UNKNOWN"})
PROPRIETARY = "LicenseRef-scancode-proprietary-license"  # ScanCode category "Commercial"
_SEE_LICENSE_IN = re.compile(r"^SEE LICEN[CS]E IN\s+(?P<file>\S.*)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Declaration:
    """One licence statement of a package manifest, as written."""

    manifest: str  # repository path of the manifest
    field: str  # where in it: "license", "licenses[1].type", "[project] license.text", ...
    value: str  # the statement, or the path of the file it points to (see ``file``)
    file: str | None = None  # repository path of the licence file it points to, if it does


def is_manifest(path: str) -> bool:
    """Whether the base name of ``path`` (POSIX) is that of a package manifest read here."""
    return posixpath.basename(path) in MANIFEST_NAMES


def _statement(manifest: str, field: str, value: object) -> list[Declaration]:
    if not isinstance(value, str) or value.strip().upper() in _NO_INFORMATION:
        return []
    value = value.strip()
    pointer = _SEE_LICENSE_IN.match(value)
    if pointer:
        return _pointer(manifest, field, pointer.group("file"))
    return [Declaration(manifest, field, value)]


def _pointer(manifest: str, field: str, value: object) -> list[Declaration]:
    if not isinstance(value, str) or not value.strip():
        return []
    target = posixpath.normpath(posixpath.join(posixpath.dirname(manifest), value.strip()))
    return [Declaration(manifest, field, value.strip(), file=target)]


def _npm_entry(manifest: str, field: str, value: object) -> list[Declaration]:
    if isinstance(value, dict):
        return _statement(manifest, f"{field}.type", value.get("type"))
    if isinstance(value, str) and value.strip() == "UNLICENSED":
        # npm docs ("license"): UNLICENSED means no right to use is granted (ScanCode's
        # npm.py: "this is proprietary"); ScanCode's detection finds nothing in the word.
        return [Declaration(manifest, f"{field}: UNLICENSED", PROPRIETARY)]
    return _statement(manifest, field, value)


def _package_json(path: str, text: str) -> list[Declaration]:
    data = json.loads(text)
    if not isinstance(data, dict):
        return []
    found = _npm_entry(path, "license", data.get("license"))
    old_list = data.get("licenses")
    for number, entry in enumerate(old_list if isinstance(old_list, list) else []):
        found += _npm_entry(path, f"licenses[{number}]", entry)
    return found


def _table(data: dict, name: str) -> dict:
    table = data.get(name)
    return table if isinstance(table, dict) else {}


def _pyproject(path: str, text: str) -> list[Declaration]:
    project = _table(tomllib.loads(text), "project")
    license_ = project.get("license")
    found = _statement(path, "[project] license-expression", project.get("license-expression"))
    if isinstance(license_, dict):
        found += _statement(path, "[project] license.text", license_.get("text"))
        found += _pointer(path, "[project] license.file", license_.get("file"))
    else:
        found += _statement(path, "[project] license", license_)
    return found


def _core_metadata(path: str, text: str) -> list[Declaration]:
    headers = email.parser.HeaderParser().parsestr(text)
    return [declaration for field in ("License-Expression", "License")
            for declaration in _statement(path, field, headers.get(field))]


def _cargo(path: str, text: str) -> list[Declaration]:
    package = _table(tomllib.loads(text), "package")
    license_ = package.get("license")
    if isinstance(license_, str):
        license_ = license_.replace("/", " OR ")
    return (_statement(path, "[package] license", license_)
            + _pointer(path, "[package] license-file", package.get("license-file")))


_READERS = {
    "package.json": _package_json,
    "pyproject.toml": _pyproject,
    "PKG-INFO": _core_metadata,
    "METADATA": _core_metadata,
    "Cargo.toml": _cargo,
}


def declarations(path: str, text: str) -> list[Declaration]:
    """The licence declarations of the manifest at ``path`` (empty when it declares none or
    does not parse: a manifest that cannot be read states nothing)."""
    reader = _READERS.get(posixpath.basename(path))
    if reader is None:
        return []
    try:
        return reader(path, text)
    except ValueError:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        return []

"""Which files of a repository are licence files.

A licence file is named for a licence word (LICENSE, LICENCE, COPYING, NOTICE, UNLICENSE,
COPYRIGHT, singular or plural, any case) standing alone or joined to a prefix or suffix by
``-``, ``_`` or ``.``: ``LICENSE``, ``LICENSE.txt``, ``LICENSE-MIT``, ``COPYING.LESSER``,
``COPYING3``, ``MIT-LICENSE``, ``dmp.py.LICENSE``. A suffix must be a version, a text
extension, a licence name or an upper-case tag, so that documents about licences
(``license_migration.rst``) are not taken for licences. Only the base name is looked at, at
any directory level. A name whose last extension is that of source code or structured data
(``license.py``, ``licenses.json``) is code that mentions licences, not a licence file.

Notice files (NOTICE*, and third-party / bundled licence lists) are licence files of a
second rank: they contribute to a directory's licence only when nothing else decides
(:mod:`licenses.resolve`), since they mostly list the licences of OTHER software.
"""
from __future__ import annotations

import posixpath
import re

from licenses.manifests import is_manifest

_LICENSE_NAME = re.compile(
    r"""^(?:.*[-_.])?                                  # optional prefix: MIT-, foo.py.
        (?P<word>(?:un)?licen[cs]es?|copying|copyrights?|notices?)
        (?P<suffix>[-_.v\d].*)?$                       # optional suffix: .txt, -MIT, 3, v3
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Names of files that list the licences of bundled third-party code (numpy's
# LICENSES_bundled.txt, THIRD-PARTY-NOTICES, ThirdPartyNoticeText.txt).
_THIRD_PARTY = re.compile(r"third[-_. ]?party|3rd[-_. ]?party|bundled|vendor", re.IGNORECASE)
_THIRD_PARTY_NOTICE = re.compile(r"^third[-_. ]?party[-_. ]?notices?", re.IGNORECASE)

# Extensions of source code and structured data: a file so named is code about licences.
_CODE_EXTENSIONS = frozenset(
    """py pyi pyx pxd ipynb js mjs cjs ts tsx jsx vue svelte go rs java kt kts scala groovy
    c cc cpp cxx h hh hpp hxx m mm cs fs vb swift rb php pl pm t sh bash zsh fish ps1 bat
    cmd lua r jl dart ex exs erl hrl hs ml mli clj cljs el lisp scm sql json jsonl yaml yml
    toml ini cfg conf xml xsd css scss less lock mod sum gradle pom proto png jpg jpeg gif
    svg ico pdf zip gz tgz bz2 xz jar class so dll exe""".split()
)


# Suffix parts that keep a name a licence file: text extensions and licence names.
_TEXT_EXTENSIONS = frozenset("txt text md markdown rst adoc asciidoc org html htm rtf".split())
_LICENSE_TOKENS = frozenset(
    """mit apache apache2 bsd bsd2 bsd3 gpl gpl2 gpl3 lgpl lgpl2 lgpl3 agpl agpl3 mpl mpl2 isc
    cc0 cc ccby psf python zlib boost bsl unlicense wtfpl lesser library artistic epl eupl ofl
    x11 expat docs doc third thirdparty party bundled other""".split()
)
_VERSION = re.compile(r"^v?\d+(?:\.\d+)*$", re.IGNORECASE)


def _suffix_names_a_license(suffix: str) -> bool:
    """Whether each part of a suffix (``-MIT.txt``, ``.LESSER``, ``3``) fits a licence file."""
    for part in re.split(r"[-_.]+", suffix):
        if not part or _VERSION.match(part) or part.isupper():
            continue
        if part.lower() not in _TEXT_EXTENSIONS | _LICENSE_TOKENS:
            return False
    return True


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def is_license_file(path: str) -> bool:
    """Whether the base name of ``path`` (POSIX) is that of a licence file."""
    name = posixpath.basename(path)
    if not name or _extension(name) in _CODE_EXTENSIONS:
        return False
    if _THIRD_PARTY_NOTICE.match(name):
        return True
    match = _LICENSE_NAME.match(name)
    return match is not None and _suffix_names_a_license(match.group("suffix") or "")


def is_notice_file(path: str) -> bool:
    """Whether a licence file is of the second rank: NOTICE*, or a third-party list."""
    name = posixpath.basename(path)
    if not is_license_file(path):
        return False
    if _THIRD_PARTY.search(name):
        return True
    match = _LICENSE_NAME.match(name)
    return match is not None and match.group("word").lower().startswith("notice")


def is_license_evidence(path: str) -> bool:
    """Whether ingest keeps the text of a file for licence resolution: a licence file or a
    package manifest (:mod:`licenses.manifests`)."""
    return is_license_file(path) or is_manifest(path)

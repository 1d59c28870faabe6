"""Whether a file parses, before and after redaction: the check that redaction never breaks code.

One maintained parser per language where one is at hand: Python's ``ast``, ``json``, PyYAML
(libyaml's loader when built with it), ``tomllib``, and expat for XML and XSLT (external
entities are never fetched; expat >= 2.4 bounds entity expansion). Other languages have no
parser here and count as neither parsed nor broken. A file that did not parse before redaction
(JSONC, JSON5, Python 2, a template) is never counted as broken by it.
"""
from __future__ import annotations

import ast
import gc
import json
import tomllib
import warnings
from collections.abc import Callable
from xml.parsers import expat

import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOM = "\ufeff"


def _python(text: str) -> None:
    with warnings.catch_warnings():  # invalid escapes in literals: SyntaxWarning, not an error
        warnings.simplefilter("ignore")
        ast.parse(text)


def _yaml(text: str) -> None:
    for _ in yaml.load_all(text, Loader=_YAML_LOADER):  # every document, constructed
        pass


def _xml(text: str) -> None:
    # The text is decoded already: parse its UTF-8 bytes whatever its declaration says.
    expat.ParserCreate("utf-8").Parse(text.encode("utf-8"), True)


# language -> (parser, the errors that mean "does not parse"). Deep nesting and huge inputs
# raise RecursionError/MemoryError in any of them; ValueError covers null bytes in Python
# source, over-long integer literals (JSON, YAML), bad YAML timestamps and unencodable text.
_ALWAYS = (ValueError, RecursionError, MemoryError)
_PARSERS: dict[str, tuple[Callable[[str], object], tuple[type[BaseException], ...]]] = {
    "python": (_python, (SyntaxError,)),
    "json": (json.loads, ()),  # JSONDecodeError is a ValueError
    # PyYAML's constructors raise what they meet on a bad explicit tag: KeyError (!!bool y),
    # AttributeError (!!timestamp x), IndexError and ValueError (!!float), besides YAMLError.
    "yaml": (_yaml, (Exception,)),
    "toml": (tomllib.loads, ()),  # TOMLDecodeError is a ValueError
    "xml": (_xml, (expat.ExpatError,)),
    "xslt": (_xml, (expat.ExpatError,)),
}
LANGUAGES: frozenset[str] = frozenset(_PARSERS)


def parse_error(language: str | None, text: str) -> str | None:
    """The parser's error when ``text`` does not parse as ``language``; None when it parses or
    there is no parser for ``language``."""
    if language not in _PARSERS:
        return None
    parse, errors = _PARSERS[language]
    # A parse allocates many objects that reference counting frees (a YAML alias cycle waits
    # for the next collection); the cyclic collector, run meanwhile, would rescan every live
    # object of the process (twice the time of ast.parse with the detector loaded).
    collecting = gc.isenabled()
    gc.disable()
    try:
        parse(text.removeprefix(_BOM))
    except errors + _ALWAYS as error:
        return f"{type(error).__name__}: {error}"
    finally:
        if collecting:
            gc.enable()
    return None


def parses(language: str | None, text: str) -> bool | None:
    """Whether ``text`` parses as ``language`` (a name of pipeline/ingest/languages.py); None
    when there is no parser for it."""
    if language not in _PARSERS:
        return None
    return parse_error(language, text) is None


def broken_by(language: str | None, before: str, after: str) -> bool:
    """Whether ``before`` parsed and ``after`` (its redaction) does not. The redacted text is
    parsed first, so the original is parsed only when the redaction fails."""
    if before == after or parses(language, after) is not False:
        return False
    return parses(language, before) is True

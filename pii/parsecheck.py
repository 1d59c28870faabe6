"""Whether a file parses, before and after redaction: the check that redaction never breaks code.

One maintained parser per language where one is at hand: Python's ``ast``, ``json``, PyYAML
(libyaml's loader when built with it), ``tomllib``, expat for XML and XSLT (external entities
are never fetched; expat >= 2.4 bounds entity expansion), and tree-sitter grammars (py-tree-sitter
and each grammar's PyPI wheel) for Go, Rust, Ruby, PHP, Perl, JavaScript, TypeScript, C, C++,
Java, shell, Lua, Haskell, C#, OCaml, Scala, Kotlin, Julia, Elixir and Swift, and from
tree-sitter-language-pack 0.13's wheel for R, Erlang and Emacs Lisp: such a file parses when its
tree has no ERROR or MISSING node (tree-sitter recovers from errors instead of raising).
Other languages have no parser here and count as neither parsed nor broken. A file that did not
parse before redaction (JSONC, JSON5, Python 2, a template, C whose macros the grammar cannot
read) counts as broken by it only where a tree-sitter grammar finds more lines under errors
after it than before (:func:`broken_by`); the other parsers stop at the first error.
"""
from __future__ import annotations

import ast
import functools
import gc
import importlib
import json
import threading
import tomllib
import warnings
from collections.abc import Callable
from xml.parsers import expat

import tree_sitter
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


class TreeSitterError(Exception):
    """A tree-sitter tree with an ERROR or MISSING node."""


# language (pipeline/ingest/languages.py) -> (grammar module, its functions returning grammars): a
# file parses when one of them reads it with no error, tried in order (OCaml: an implementation,
# else an interface, for .mli). .tsx files read with the TypeScript grammar do not parse, and so
# are never judged; likewise zsh or ksh files with the bash grammar, .hsc files (hsc2hs
# directives) with Haskell's, ocamllex and menhir files (.mll, .mly) with OCaml's. PHP's grammar
# reads the HTML around <?php ... ?>. R, Erlang and Emacs Lisp, which have no wheel of their own
# on PyPI, take the grammars compiled into tree-sitter-language-pack 0.13 (its binding modules,
# imported directly: that release has no download path; 1.x fetches grammars at run time). On
# files of Debian sources they read 952 of 953 R files, 4,976 of 5,067 Erlang (none of its 16
# yecc grammars, .yrl) and 2,428 of 2,451 Emacs Lisp without an error. Its Scheme
# (3,040 of 3,990) and Tcl (400 of 1,056) grammars read too few to judge by, and are not used
# (nor its Vim script one, 2,429 of 3,432, for no ingest language); Dart's wheel (a 0.1 fork)
# was not checked on real files.
_GRAMMARS: dict[str, tuple[str, ...]] = {
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),
    "perl": ("tree_sitter_perl", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
    "java": ("tree_sitter_java", "language"),
    "shell": ("tree_sitter_bash", "language"),
    "lua": ("tree_sitter_lua", "language"),
    "haskell": ("tree_sitter_haskell", "language"),
    "c-sharp": ("tree_sitter_c_sharp", "language"),
    "ocaml": ("tree_sitter_ocaml", "language_ocaml", "language_ocaml_interface"),
    "scala": ("tree_sitter_scala", "language"),
    "kotlin": ("tree_sitter_kotlin", "language"),
    "julia": ("tree_sitter_julia", "language"),
    "elixir": ("tree_sitter_elixir", "language"),
    "swift": ("tree_sitter_swift", "language"),
    "r": ("tree_sitter_language_pack.bindings.r", "language"),
    "erlang": ("tree_sitter_language_pack.bindings.erlang", "language"),
    "emacs-lisp": ("tree_sitter_language_pack.bindings.elisp", "language"),
}
_TREE_SITTER_PARSERS = threading.local()  # a Parser is not to be shared between threads


@functools.cache
def _grammars(language: str) -> tuple[tree_sitter.Language, ...]:
    module, *functions = _GRAMMARS[language]
    grammar = importlib.import_module(module)
    with warnings.catch_warnings():  # tree-sitter-perl 2.0 hands over its grammar as an int
        warnings.simplefilter("ignore", DeprecationWarning)
        return tuple(tree_sitter.Language(getattr(grammar, function)()) for function in functions)


def _first_error(node: tree_sitter.Node) -> tree_sitter.Node:
    """The first ERROR or MISSING node under ``node``, which has one (descends only into
    subtrees with an error, so a long file costs little)."""
    while not (node.is_error or node.is_missing):
        child = next((c for c in node.children if c.has_error or c.is_missing), None)
        if child is None:
            break
        node = child
    return node


def _tree_sitter_roots(language: str, text: str) -> list[tree_sitter.Node]:
    """The root of ``text``'s tree under each grammar of ``language``, up to the first that
    parses it without an error."""
    parsers = getattr(_TREE_SITTER_PARSERS, language, None)
    if parsers is None:
        parsers = [tree_sitter.Parser(grammar) for grammar in _grammars(language)]
        setattr(_TREE_SITTER_PARSERS, language, parsers)
    source = text.encode("utf-8")
    roots = []
    for parser in parsers:
        roots.append(parser.parse(source).root_node)
        if not roots[-1].has_error:
            break
    return roots


def _tree_sitter(language: str) -> Callable[[str], None]:
    def parse(text: str) -> None:
        roots = _tree_sitter_roots(language, text)
        if not roots[-1].has_error:
            return
        node = _first_error(roots[0])  # the first grammar's error
        line, column = node.start_point
        kind = f"MISSING {node.type}" if node.is_missing else "ERROR"
        raise TreeSitterError(f"{kind} at line {line + 1}, byte {column + 1}")
    return parse


def _error_lines(root: tree_sitter.Node) -> int:
    """Lines that ERROR and MISSING nodes under ``root`` cover (descends only into subtrees
    with an error). Lines, not nodes: error recovery may merge a new error into an old ERROR
    node, which then covers more lines."""
    lines: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            lines.update(range(node.start_point.row, node.end_point.row + 1))
        else:
            stack.extend(c for c in node.children if c.has_error or c.is_missing)
    return len(lines)


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
    # ValueError (in _ALWAYS): lone surrogates that UTF-8 cannot encode.
    **{language: (_tree_sitter(language), (TreeSitterError,)) for language in _GRAMMARS},
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


def syntax_errors(language: str | None, text: str) -> int | None:
    """How much of ``text`` does not parse as ``language``: the lines that ERROR and MISSING
    nodes cover under a tree-sitter grammar (its fewest, where a language has several), else 0
    or 1 (the other parsers stop at the first error); None when there is no parser."""
    if language not in _PARSERS:
        return None
    if language not in _GRAMMARS:
        return int(parse_error(language, text) is not None)
    collecting = gc.isenabled()
    gc.disable()  # as in parse_error
    try:
        return min(_error_lines(root) for root in
                   _tree_sitter_roots(language, text.removeprefix(_BOM)))
    except _ALWAYS:
        return 1
    finally:
        if collecting:
            gc.enable()


def broken_by(language: str | None, before: str, after: str) -> bool:
    """Whether ``after`` (a redaction of ``before``) has more that does not parse: for a file
    that parsed, any error; for one a tree-sitter grammar reads with errors already (C whose
    macros it cannot expand, a template), more lines under errors. The redacted text is looked at first, so
    the original is parsed only when the redaction has an error."""
    if before == after:
        return False
    errors_after = syntax_errors(language, after)
    return bool(errors_after) and errors_after > syntax_errors(language, before)

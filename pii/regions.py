"""Where PII can be in a file: its comments and string literals, or all of a prose or config file.

PII in source code lives in what the code says, not in what it does: comments, docstrings and
string literals. An identifier, keyword, attribute or number is never PII, and a placeholder
there breaks the code (``G.add_edge`` -> ``<NAME>.add_edge``). So for a programming language the
PII stage keeps only spans that lie inside one comment or one literal's contents (the quotes and
escapes around them never), and the NER model reads only the lines that hold such regions.

Prose and configuration (Markdown, reST, plain text, YAML, INI, .env, shell, Makefiles, ...)
are regions from end to end: their values are unquoted. A language this module has no lexer for
counts as prose, so nothing is lost for want of a lexer.

The lexers are one compiled regex per language family (comments, then strings, tried at each
position left to right, so a quote inside a comment and a comment marker inside a string are
read as the text they are). They are not parsers: a construct a family's regex does not know
(heredocs, regex literals, nested comments) at worst widens or narrows a region, and the PII
stage's parse check (pii/parsecheck.py) measures what that costs.
"""
from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import operator
from collections.abc import Sequence

import ahocorasick
import regex

from pii.cues import LINE_CUE, PORT_FIELD
from pii.names import name_words


@dataclasses.dataclass(frozen=True)
class Lexer:
    """The comment and string syntax of a family of languages."""

    line_comments: tuple[str, ...] = ()  # regexes of the markers ("#(?!\\[)": not PHP's #[)
    block_comments: tuple[tuple[str, str], ...] = ()  # literal open and close markers
    line_start_blocks: tuple[tuple[str, str], ...] = ()  # regexes of markers that open a line
    quotes: str = "\"'"  # one-line string delimiters
    triple_quotes: bool = False  # Python, Julia, Kotlin, Scala, Swift, Groovy, Dart
    backtick_strings: bool = False  # JavaScript/TypeScript templates, Go raw strings (multi-line)


# Families by their comment syntax (Linguist's languages.yml and each language's reference).
_C = Lexer(("//",), (("/*", "*/"),))
_C_TRIPLE = Lexer(("//",), (("/*", "*/"),), triple_quotes=True)
_JS = Lexer(("//",), (("/*", "*/"),), backtick_strings=True)
_RUST = Lexer(("//",), (("/*", "*/"),), quotes="\"")  # 'a is a lifetime, not a string
_HASH = Lexer(("#",))
_RUBY = Lexer(("#",), line_start_blocks=((r"=begin\b", r"=end\b"),))
_PERL = Lexer(("#",), line_start_blocks=((r"=[a-zA-Z]\w*", r"=cut\b"),))  # POD
_PHP = Lexer(("//", r"#(?!\[)"), (("/*", "*/"),))  # "#[...]" is a PHP 8 attribute
_PYTHON = Lexer(("#",), triple_quotes=True)
_DASH = Lexer(("--",), (("/*", "*/"),))
_HASKELL = Lexer(("--",), (("{-", "-}"),), quotes="\"")  # x' is a name
_LUA = Lexer(("--",), (("--[[", "]]"),))
_PERCENT = Lexer(("%",))
_MATLAB = Lexer(("%",), (("%{", "%}"),))
_PROLOG = Lexer(("%",), (("/*", "*/"),))
_SEMICOLON = Lexer((";",), (("#|", "|#"),), quotes="\"")  # 'x is a quoted symbol
_ML = Lexer((), (("(*", "*)"),), quotes="\"")  # 'a is a type variable
_FSHARP = Lexer(("//",), (("(*", "*)"),), quotes="\"")
_PASCAL = Lexer(("//",), (("{", "}"), ("(*", "*)")), quotes="'")
_VB = Lexer(("'",), quotes="\"")
_FORTRAN = Lexer(("!",))
_MARKUP = Lexer((), (("<!--", "-->"),))

LEXERS: dict[str, Lexer] = {
    **dict.fromkeys(("c", "cpp", "c-sharp", "java", "go", "cuda", "glsl", "solidity", "zig",
                     "protocol-buffer", "thrift", "css", "java-server-pages", "verilog",
                     "systemverilog", "stan", "antlr", "yacc", "bluespec", "alloy"), _C),
    "php": _PHP,
    **dict.fromkeys(("kotlin", "scala", "swift", "groovy", "dart"), _C_TRIPLE),
    **dict.fromkeys(("javascript", "typescript"), _JS),
    "rust": _RUST,
    "python": _PYTHON,
    "julia": _PYTHON,
    "ruby": _RUBY,
    "perl": _PERL,
    **dict.fromkeys(("r", "elixir", "awk", "coffeescript", "sparql", "tcl",
                     "toml"), _HASH),
    **dict.fromkeys(("sql", "vhdl", "ada"), _DASH),
    # (literate Haskell and Agda are prose with code blocks: no lexer, whole text)
    **dict.fromkeys(("haskell", "elm", "idris", "agda"), _HASKELL),
    "lua": _LUA,
    "matlab": _MATLAB,
    "prolog": _PROLOG,
    "erlang": _PERCENT,
    **dict.fromkeys(("common-lisp", "clojure", "scheme", "racket", "emacs-lisp"), _SEMICOLON),
    **dict.fromkeys(("ocaml", "standard-ml", "mathematica"), _ML),
    "f-sharp": _FSHARP,
    "pascal": _PASCAL,
    "visual-basic": _VB,
    "fortran": _FORTRAN,
    # JSON has no comments; its keys and values are all strings.
    "json": Lexer(quotes="\""),
    **dict.fromkeys(("xml", "html", "xslt"), _MARKUP),
}
# Markup is text between tags, and attribute values: for xml/html/xslt the regions are the text
# outside tags and the quoted attribute values (see _markup_regions).
_MARKUP_LANGUAGES = frozenset(("xml", "html", "xslt"))

# Interpolations inside string literals are code: "${user}", "#{user}", and {user} in Python
# f-strings and C# $"..." strings.
_DOLLAR_HASH_INTERPOLATION = regex.compile(r"[$#]\{[^{}\n]*\}")
_BRACE_INTERPOLATION = regex.compile(r"\{\{|\}\}|\{[^{}\n]*\}")


def _lexer_regex(lexer: Lexer) -> regex.Pattern:
    """One regex whose named groups ``comment`` (with its ``text`` between the markers) and
    ``string`` (with its ``body`` between the quotes) match the next comment or
    string literal."""
    at_line_start = r"(?<![^\n])"
    comments = [at_line_start + open_ + r"(?P<text>.*?)(?:" + at_line_start + close + r"|\Z)"
                for open_, close in lexer.line_start_blocks]
    comments += [regex.escape(open_) + r"(?P<text>.*?)" + regex.escape(close) for open_, close
                 in sorted(lexer.block_comments, key=lambda pair: -len(pair[0]))]
    comments += [marker + r"(?P<text>[^\n]*)" for marker in lexer.line_comments]
    strings = []
    if lexer.triple_quotes:
        strings += [r'"""(?P<body>.*?)"""', r"'''(?P<body>.*?)'''"]
    if lexer.backtick_strings:
        strings.append(r"`(?P<body>(?:\\.|[^`\\])*)`")
    for quote in lexer.quotes:
        q = regex.escape(quote)
        strings.append(rf"{q}(?P<body>(?:\\.|[^{q}\\\n])*){q}")
    parts = []
    if comments:
        parts.append("(?P<comment>" + "|".join(comments) + ")")
    if strings:
        parts.append(r"(?P<string>" + "|".join(strings) + ")")
    return regex.compile("|".join(parts), regex.DOTALL)


@functools.lru_cache(maxsize=None)
def _compiled(lexer: Lexer) -> regex.Pattern:
    return _lexer_regex(lexer)


def _string_body(text: str, start: int, end: int, prefix: str, language: str
                 ) -> list[tuple[int, int]]:
    """A literal's contents without its interpolations (which are code)."""
    braces = ("f" in prefix.lower() and language == "python") or (
        "$" in prefix and language == "c-sharp")
    if "{" not in text[start:end]:
        return [(start, end)]
    pattern = _BRACE_INTERPOLATION if braces else _DOLLAR_HASH_INTERPOLATION
    pieces, cursor = [], start
    for match in pattern.finditer(text, start, end):
        if match.start() > cursor:
            pieces.append((cursor, match.start()))
        cursor = match.end()
    if end > cursor:
        pieces.append((cursor, end))
    return pieces


# A start or end tag (a name, then attributes or the end), a declaration or a processing
# instruction; "<jane@mail.org>" in text is not a tag. Comments are regions of their own.
_MARKUP_TOKEN = regex.compile(
    r"(?P<comment><!--.*?(?:-->|$))|</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>|<[!?][^<>]*>",
    regex.DOTALL)
_ATTRIBUTE_VALUE = regex.compile(r"=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _markup_regions(text: str) -> list[tuple[int, int]]:
    """Text outside tags, comments, and quoted attribute values inside tags."""
    regions, cursor = [], 0
    for token in _MARKUP_TOKEN.finditer(text):
        if token.group("comment") is not None:
            continue  # part of the text region around it
        if token.start() > cursor:
            regions.append((cursor, token.start()))
        for value in _ATTRIBUTE_VALUE.finditer(text, token.start(), token.end()):
            group = 1 if value.group(1) is not None else 2
            if value.end(group) > value.start(group):
                regions.append((value.start(group), value.end(group)))
        cursor = token.end()
    if len(text) > cursor:
        regions.append((cursor, len(text)))
    return regions


def has_lexer(language: str | None) -> bool:
    """Whether ``language`` is code with regions (else the whole text is one region)."""
    return language in LEXERS


def text_regions(text: str, language: str | None) -> list[tuple[int, int]]:
    """The sorted, disjoint ``(start, end)`` regions of ``text`` where PII may be: comments and
    string contents for a language with a lexer, the whole text otherwise."""
    if not text:
        return []
    if language in _MARKUP_LANGUAGES:
        return _markup_regions(text)
    lexer = LEXERS.get(language) if language else None
    if lexer is None:
        return [(0, len(text))]
    regions: list[tuple[int, int]] = []
    has_comments = bool(lexer.line_comments or lexer.block_comments)
    # "text" and "body" name a group of several alternatives: span() is the one that matched
    for match in _compiled(lexer).finditer(text):
        if has_comments and match.start("comment") >= 0:
            regions.append(match.span("text"))
            continue
        body_start, body_end = match.span("body")
        prefix = text[max(match.start() - 2, 0):match.start()]  # f"...", rb"...", $"..."
        regions.extend(_string_body(text, body_start, body_end, prefix,
                                    language or ""))
    return [(start, end) for start, end in regions if end > start]


class RegionIndex:
    """Answers "does one region hold this span?" in O(log n)."""

    def __init__(self, regions: Sequence[tuple[int, int]]) -> None:
        self.starts = [start for start, _ in regions]
        self.ends = [end for _, end in regions]

    def holds(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.starts, start) - 1
        return index >= 0 and end <= self.ends[index]


# An escape sequence of a string literal: \xHH, \uHHHH, \UHHHHHHHH, \N{NAME}, octal, or one
# of the one-character escapes that C, Python, Java, JavaScript, JSON, Go and Rust share. A
# backslash before any other character escapes nothing ("C:\Users\jane" in a raw string, or
# in a language that keeps unknown escapes), so a span may start right after it.
_ESCAPE = regex.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}\n]*\}"
                        r"|[0-7]{1,3}|[\\'\"`abfnrtve?$/{}\n])")
_LONGEST_ESCAPE = 12  # "\U0001F600" is 10 characters; \N{...} names longer than this are rare


def _escape_around(text: str, position: int) -> tuple[int, int] | None:
    """The escape sequence that ``position`` falls strictly inside, if any."""
    for start in range(position - 1, max(position - _LONGEST_ESCAPE, -1), -1):
        if text[start] != "\\":
            continue
        run = 0
        while start - run - 1 >= 0 and text[start - run - 1] == "\\":
            run += 1
        if run % 2:  # this backslash is itself escaped
            continue
        match = _ESCAPE.match(text, start)
        if match and match.start() < position < match.end():
            return match.span()
        return None
    return None


def escape_safe(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` narrowed so that neither edge falls inside an escape sequence
    (``"\\nJane"`` -> ``Jane``; ``"\\x00Zed"`` -> ``Zed``; ``Jane\\`` -> ``Jane``): replacing
    half an escape would change what the literal means or end it early."""
    inside = _escape_around(text, start)
    if inside:
        start = inside[1]
    inside = _escape_around(text, end)
    if inside:
        end = inside[0]
    if end > start and text[end - 1] == "\\":
        run = 0
        while end - run - 1 >= start and text[end - run - 1] == "\\":
            run += 1
        if run % 2:  # a lone backslash at the end escapes what follows the span
            end -= 1
    return (start, end) if end > start else (start, start)


# Perl POD's character escapes (perlpod, "Formatting Codes"): E<lt>, E<gt>, E<sol>, E<verbar>,
# E<eacute>, E<0x201E>, E<171>.
_POD_ESCAPE = regex.compile(r"E<(?:[A-Za-z]+|0[xX][0-9A-Fa-f]+|\d+)>")
_POD_EDGE_CHARS = 12  # the longest escape a span's edge can fall in or next to


def pod_escape_trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` narrowed off Perl POD's escapes at its edges: POD writes "Name
    E<lt>addr@host.orgE<gt>", where an e-mail span took the ``E`` of ``E<gt>`` and a name the
    `` E`` of ``E<lt>`` (blind build 9's review, 2026-12-06: 22 e-mails, 9 names). An edge inside
    an escape, or an escape at an edge, moves out of it (the end also off the spaces before it)."""
    for match in _POD_ESCAPE.finditer(text, max(0, start - _POD_EDGE_CHARS),
                                      min(len(text), start + _POD_EDGE_CHARS)):
        if match.start() <= start < match.end():
            start = match.end()
    for match in _POD_ESCAPE.finditer(text, max(0, end - _POD_EDGE_CHARS),
                                      min(len(text), end + _POD_EDGE_CHARS)):
        if match.start() < end <= match.end():
            end = match.start()
            while end > start and text[end - 1] in " \t":
                end -= 1
    return (start, end) if end > start else (start, start)


def line_bounds(text: str, regions: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The ``(start, end)`` of every line that some region touches, merged where adjacent
    (end without the line break)."""
    lines: list[tuple[int, int]] = []
    for start, end in regions:
        if lines and start < lines[-1][1]:
            start = lines[-1][1]
            if start >= end:
                continue
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end - 1 if end > start else end)
        line_end = len(text) if line_end < 0 else line_end
        if lines and line_start <= lines[-1][1] + 1:
            lines[-1] = (lines[-1][0], max(lines[-1][1], line_end))
        else:
            lines.append((line_start, line_end))
    return lines


# The cheap selector of the cascade: a line the model reads must hold what the engine asks of a
# model span before it keeps one (pii.cues): a cue of a password, a key, a handle or a name
# (LINE_CUE), or a person's name written out (two capitalised words, one a known given name or
# surname: pii.names). The model's spans on other lines would all be dropped. Lines are picked
# by TRIGGER_WORDS in the lower-cased text, all found in one Aho-Corasick pass (pyahocorasick;
# LINE_CUE over whole blocks ran at 3 MB/s here), and LINE_CUE confirms each picked line
# unless its word is one of SURE_TRIGGER_WORDS. Each trigger word is a part of cues of
# LINE_CUE, and every cue holds one but PORT_FIELD, which a regex finds
# (tests/test_pii_regions.py). Letters next to digits, IP-like runs and letters outside ASCII,
# which this selector also took before the engine asked for cues, took a third of the model's
# reading and gave no span that it keeps.
TRIGGER_WORDS: tuple[str, ...] = (
    "pass", "pw", "secret", "login", "credential", "auth", "connect", "key", "token", "bearer",
    "basic", "api", "private", "sign", "user", "owner", "by", "handle", "account", "thank",
    "ping", "cc", "github", "gitlab", "slack", "twitter", "home", "review", "maint", "member",
    "contact", "todo(", "fixme(", "xxx(", "hack(", "note(", "from", "@", "~")
# Trigger words that LINE_CUE confirmed on at least 9 of 10 of the lines holding them (region
# lines of 4 MB of the demo corpus, 2026-12-06): their lines are taken without the check.
SURE_TRIGGER_WORDS = frozenset({
    "secret", "login", "credential", "auth", "token", "private", "user", "owner", "by", "handle",
    "account", "thank", "github", "gitlab", "contact", "from", "@", "~"})
# The one cue without a trigger word (a ":" would pick most lines of code comments): a regex.
_PORT_FIELD = regex.compile(PORT_FIELD)
_CAPITALISED_PAIR = regex.compile(r"(\p{Lu}[\p{Ll}'’-]+)[ \t]+(?:\p{Ll}{1,4}[ \t]+)?"
                                  r"(\p{Lu}[\p{Ll}'’-]*)")


def _known_name_at(text: str, start: int, end: int) -> int:
    """Where the first two capitalised words with a known name (pii.names) start in
    ``text[start:end]``, -1 when there are none."""
    known = name_words()
    match = _CAPITALISED_PAIR.search(text, start, end)
    while match and not (match[1] in known or match[2] in known):
        match = _CAPITALISED_PAIR.search(text, match.start(2), end)
    return match.start() if match else -1


def _trigger_automaton() -> ahocorasick.Automaton:
    """An automaton that finds every trigger word, each reported as itself."""
    automaton = ahocorasick.Automaton()
    for word in TRIGGER_WORDS:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


_TRIGGERS = _trigger_automaton()


def _line_breaks(text: str) -> list[int]:
    """The offset of every line break of ``text``."""
    lengths = itertools.accumulate(map(len, text.split("\n")))
    return list(map(operator.add, lengths, range(text.count("\n"))))


def _lower_in_place(text: str) -> str:
    """``text`` in lower case, each character where it was (a character whose lower case is
    longer, such as "İ", stays as it is)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    # "İ" (U+0130) is the one character whose lower case is longer (Python 3.11's Unicode
    # tables): the text is lowered around it, not one character at a time (whose result differs
    # only in a final sigma, "ς" for "σ", which no trigger word holds)
    lowered = "\u0130".join(part.lower() for part in text.split("\u0130"))
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low) == 1 else char for char, low in
                   ((char, char.lower()) for char in text))


def model_lines(text: str, regions: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The lines that hold a region and a cue (a trigger word confirmed by LINE_CUE, a port
    field) or two capitalised words with a known name, adjacent ones merged (``(start, end)``
    without the line break). A line counts the first occurrence of each trigger word in it,
    when that lies on a line a region touches. One Aho-Corasick pass finds every trigger word;
    the lines of sure words are taken before LINE_CUE checks the others."""
    blocks = line_bounds(text, regions)
    if not blocks:
        return []
    block_starts = [start for start, _ in blocks]
    breaks = _line_breaks(text)

    def line_of(position: int) -> int:
        return bisect.bisect_left(breaks, position)

    def bounds(line: int) -> tuple[int, int]:
        return (breaks[line - 1] + 1 if line else 0,
                breaks[line] if line < len(breaks) else len(text))

    def in_a_block(position: int) -> bool:
        index = bisect.bisect_right(block_starts, position) - 1
        return index >= 0 and position < blocks[index][1]

    first: dict[tuple[str, int], int] = {}  # (trigger word, line) -> its first occurrence
    for end, word in _TRIGGERS.iter(_lower_in_place(text)):
        at = end - len(word) + 1
        first.setdefault((word, line_of(at)), at)
    hit = {line for (word, line), at in first.items()
           if word in SURE_TRIGGER_WORDS and in_a_block(at)}
    checked: set[int] = set()
    for (word, line), at in first.items():
        if line in hit or line in checked or word in SURE_TRIGGER_WORDS or not in_a_block(at):
            continue
        checked.add(line)
        if LINE_CUE.search(text, *bounds(line)):
            hit.add(line)
    for start, end in blocks:
        for match in _PORT_FIELD.finditer(text, start, end):
            hit.add(line_of(match.start()))
        at = _known_name_at(text, start, end)
        while at >= 0:
            line = line_of(at)
            hit.add(line)
            at = _known_name_at(text, bounds(line)[1] + 1, end)
    lines: list[tuple[int, int]] = []
    for line in sorted(hit):
        line_start, line_end = bounds(line)
        if lines and lines[-1][1] + 1 == line_start:
            lines[-1] = (lines[-1][0], line_end)
        elif line_end > line_start:
            lines.append((line_start, line_end))
    return lines


def model_snippets(text: str, regions: Sequence[tuple[int, int]], max_chars: int,
                   select: bool = True) -> list[tuple[int, int]]:
    """The stretches of ``text`` the NER model reads: the lines of :func:`model_lines`, runs of
    them cut at line breaks into pieces of at most ``max_chars`` (a longer line is cut at
    ``max_chars``). Lines without a region or a trigger are never read, and no character is
    read twice. ``select=False`` reads every line (the model everywhere, for comparison)."""
    if max_chars <= 0:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    snippets: list[tuple[int, int]] = []
    lines = model_lines(text, regions) if select else line_bounds(text, [(0, len(text))])
    for start, end in lines:
        while end - start > max_chars:
            cut = text.rfind("\n", start, start + max_chars)
            cut = start + max_chars if cut <= start else cut
            snippets.append((start, cut))
            start = cut + 1 if text[cut:cut + 1] == "\n" else cut
        if end > start:
            snippets.append((start, end))
    return snippets

"""Regions (comments, literals, prose) and the cascade's line selector."""
from __future__ import annotations

import ast
import random

import pytest

from pii.cues import LINE_CUE
from pii.regions import (
    LEXERS,
    RegionIndex,
    escape_safe,
    has_lexer,
    model_lines,
    model_snippets,
    text_regions,
)


def pieces(text: str, language: str | None) -> list[str]:
    return [text[start:end] for start, end in text_regions(text, language)]


def test_python_comments_docstrings_and_literals_but_not_code():
    text = ('import os  # by Ada Quill\n'
            'def f(user):\n'
            '    """Docstring by Ada Quill."""\n'
            "    s = f\"hi {user.name}, it's {{me}}\"\n"
            "    t = 'it\\'s Bo'\n"
            '    return G.add_edge(2, 3)\n')
    # f-string interpolations are code; "{{" is an escaped brace, not an interpolation
    assert pieces(text, "python") == [" by Ada Quill", "Docstring by Ada Quill.", "hi ",
                                      ", it's ", "me", "it\\'s Bo"]


@pytest.mark.parametrize("language, text, expected", [
    ("javascript", "const a = `hi ${name} x`; // by Tom\n/* Ann */ b = 'q'",
     ["hi ", " x", " by Tom", " Ann ", "q"]),
    ("c", 'int x = 1; /* a "quoted" word */ char *s = "// not a comment";',
     [' a "quoted" word ', "// not a comment"]),
    ("rust", "fn f<'a>(x: &'a str) { // Tom\n let s = \"Ann\"; }", [" Tom", "Ann"]),
    ("sql", "SELECT 'Ann' -- by Tom\nFROM t /* x */", ["Ann", " by Tom", " x "]),
    ("json", '{"author": "Ann Lee", "n": 3}', ["author", "Ann Lee", "n"]),
    ("ruby", 'puts "hi #{user}" # Tom', ["hi ", " Tom"]),
    ("html", '<a href="mailto:j@x.org">Jane <j@x.org></a><!-- c -->',
     ["mailto:j@x.org", "Jane <j@x.org>", "<!-- c -->"]),
    ("ruby", "x = 1\n=begin\nby Tom, don't\n=end\ny = 'Ann'", ["\nby Tom, don't\n", "Ann"]),
    ("perl", "my $x;\n=head1 AUTHOR\n\nTom\n\n=cut\nprint 'Ann';",
     [" AUTHOR\n\nTom\n\n", "Ann"]),
    ("php", "#[Route('/a')]\n$x = 1; # by Tom\n// Ann", ["/a", " by Tom", " Ann"]),
    ("matlab", "%{\nby Tom\n%}\nx = 1; % Ann", ["\nby Tom\n", " Ann"]),
    ("prolog", "/* by Tom */\nfoo(X) :- bar(X). % Ann", [" by Tom ", " Ann"]),
])
def test_lexers_of_other_families(language, text, expected):
    assert pieces(text, language) == expected


def test_prose_config_and_unknown_languages_are_one_region():
    for language in ("markdown", "yaml", "shell", "dotenv", None, "no-such-language"):
        assert not has_lexer(language)
        assert text_regions("a: b\nc = d\n", language) == [(0, 11)]
    assert text_regions("", "python") == []
    assert "python" in LEXERS and has_lexer("python")


def test_region_index_and_escape_safety():
    index = RegionIndex([(2, 5), (10, 20)])
    assert index.holds(2, 5) and index.holds(11, 19)
    assert not index.holds(4, 11) and not index.holds(0, 3) and not index.holds(19, 21)
    text = '"\\nJane\\\\"'  # "\nJane\\"
    assert text[slice(*escape_safe(text, 2, 8))] == "Jane"  # no half escapes at the edges
    assert escape_safe(text, 1, 9) == (1, 9)  # whole escapes may go
    assert escape_safe("abc", 0, 3) == (0, 3)
    path = 'r"C:\\Users\\jane\\x"'  # r"C:\Users\jane\x": "\j" escapes nothing
    start = path.index("jane")
    assert escape_safe(path, start, start + 4) == (start, start + 4)


def test_selector_reads_triggered_lines_only_and_never_twice():
    text = ("x = 1\n# by Ada Lovelace\n# plain words here\ny = 'abc'\n"
            "# ping @bob\n# api_key: x\n" + "# Ada Quill " * 200 + "\n")
    regions = text_regions(text, "python")
    lines = [text[a:b] for a, b in model_lines(text, regions)]
    assert lines[0] == "# by Ada Lovelace"
    assert "# plain words here" not in lines and "y = 'abc'" not in lines
    assert lines[1].startswith("# ping @bob\n# api_key: x\n# Ada")  # adjacent: one run
    snippets = model_snippets(text, regions, 100)
    assert all(end - start <= 100 for start, end in snippets)
    covered = [i for start, end in snippets for i in range(start, end)]
    assert len(covered) == len(set(covered))  # no character read twice
    everything = model_snippets(text, regions, 100, select=False)
    assert sum(end - start for start, end in everything) > sum(end - start for start, end in snippets)
    with pytest.raises(ValueError, match="max_chars"):
        model_snippets(text, regions, 0)


# One line per cue of pii.cues (each alternative of its regexes), in a comment.
CUE_LINES = [
    "the password", "pwd", "pw", "secrets", "login", "credentials", "auth", "authentication",
    "oauth2", "connection", "db_pass", "PASS = 1", "://u:v@h", "h:5432:db:u:v", "keys",
    "tokens", "bearer", "basic", "api", "private", "signature", "username", "owner",
    "author", "by", "handle", "account", "thanks to", "ping", "cc", "github", "gitlab",
    "slack", "twitter", "home", "reviewers", "maintainers", "members", "contact", "@", "~",
    "TODO(", "FIXME(", "XXX(", "HACK(", "NOTE(", "from", "dbPassword", "apiKey"]


@pytest.mark.parametrize("cue", CUE_LINES)
def test_selector_reads_every_line_with_a_cue_of_the_engine(cue):
    text = f"x = 1\n# {cue} z\ny = 2\n"
    assert LINE_CUE.search(f"# {cue} z")  # a cue the engine would accept
    assert [text[a:b] for a, b in model_lines(text, text_regions(text, "python"))] == [f"# {cue} z"]


def test_selector_skips_lines_without_a_cue_or_a_known_name():
    text = "# Abstract Data Structures\n# utf8 and md5 of x2\n# 10.0.0.1\n# 名前\n# Ada Quill\n"
    lines = [text[a:b] for a, b in model_lines(text, text_regions(text, "python"))]
    assert lines == ["# Ada Quill"]


def test_redacting_any_region_slice_keeps_python_parsing():
    """Whatever a detector marks inside a region (escape-safe), the file still parses."""
    rng = random.Random(0)
    source = ('"""Module by Ada Quill <ada@mail.org>."""\n'
              "import os\n\n"
              "NAMES = ['Ann Lee', \"Bo \\\"Kim\\\"\", r'C:\\\\Users\\\\ann']\n"
              "def greet(user):  # thanks @ann-lee\n"
              "    return f\"hello {user.name}!\" + '\\\\' + b'\\x00Zed'.decode()\n")
    ast.parse(source)
    regions = text_regions(source, "python")
    for _ in range(500):
        start, end = regions[rng.randrange(len(regions))]
        a = rng.randrange(start, end)
        b = rng.randrange(a, end) + 1
        a, b = escape_safe(source, a, b)
        if a < b:
            ast.parse(source[:a] + "<NAME>" + source[b:])

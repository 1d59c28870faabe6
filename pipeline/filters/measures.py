"""What the quality rules measure, as pure functions of a file's text.

The definitions follow bigcode-dataset's ``preprocessing/filtering.py`` (``add_stats`` and
``filter_html``), which built StarCoderData (Li et al. 2023, "StarCoder", §3):

- lines are ``text.splitlines()`` (so every Unicode line boundary counts and the line
  terminators are not part of a line's length);
- the alphanumeric fraction is the share of characters for which ``str.isalnum()`` holds;
- the visible text of an HTML page is its character data outside tags, with the contents
  of ``<script>`` and ``<style>`` and comments left out, character references decoded, and
  a run of text between two tags that is only whitespace counted as one character (what
  BeautifulSoup's ``get_text()``, which bigcode used, returns for it). Two differences
  from BeautifulSoup remain: it keeps such runs whole inside ``<pre>``/``<textarea>`` and
  counts ``<![CDATA[...]]>`` as text; here neither happens.

Where bigcode's code is undefined we fix a value: an empty text has no lines (maximum and
mean line length 0) and an alphanumeric fraction of 0.0.
"""
from __future__ import annotations

import html
import re

# What str.splitlines() ends a line at; "\r\n" is one line end of two characters.
LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def max_line_length(text: str) -> int:
    """The longest line's length; 0 for an empty text."""
    return max(map(len, text.splitlines()), default=0)


def mean_line_length(text: str) -> float:
    """Mean length of the lines of ``text.splitlines()``; 0.0 for an empty text.

    Counted without splitting (it runs on every file): the lines hold every character but
    the line-end ones, and there is one line per line end, plus one for a last line that
    has none.
    """
    break_chars = sum(map(text.count, LINE_BREAKS))
    lines = break_chars - text.count("\r\n")
    if text and text[-1] not in LINE_BREAKS:
        lines += 1
    return (len(text) - break_chars) / lines if lines else 0.0


# Every byte except the ASCII letters and digits, which are exactly the ASCII characters
# for which str.isalnum() holds: deleting these from UTF-8 bytes leaves the ASCII
# alphanumerics (multi-byte sequences are all >= 0x80 and go too).
_NOT_ASCII_ALNUM = bytes(b for b in range(256) if not (b < 128 and chr(b).isalnum()))
_ASCII_RUNS = re.compile(r"[\x00-\x7f]+")


def alphanumeric_count(text: str) -> int:
    """Number of characters of ``text`` for which ``str.isalnum()`` holds.

    ASCII is counted at C speed by deleting the other bytes; only the non-ASCII
    characters are tested one by one.
    """
    count = len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_ASCII_ALNUM))
    if not text.isascii():
        count += sum(map(str.isalnum, _ASCII_RUNS.sub("", text)))
    return count


def alphanumeric_fraction(text: str) -> float:
    """Share of alphanumeric characters; 0.0 for an empty text."""
    return alphanumeric_count(text) / len(text) if text else 0.0


# HTML markup, one alternative per kind of token of the HTML tokenizer (WHATWG HTML §13.2.5)
# that is not character data. Each alternative ends at its closing delimiter or at the end
# of the text (an unterminated comment, tag or quoted value runs to the end, as in the
# spec), and every repetition is possessive, so one pass over the text is linear.
# html.parser is not used: on Python 3.11 it is quadratic on unterminated tags (measured:
# 200 kB of "<a" took 42 s, 300 kB of "<a b='" 490 s), and files reach 1 MB.
_ATTRIBUTES = r"""(?:[^>"'=]++|=\s*+"[^"]*+(?:"|\Z)|=\s*+'[^']*+(?:'|\Z)|[="'])*+"""
_RAW_TEXT_ELEMENT = (  # the element with its contents, up to its end tag; no capture group
    r"<{name}(?=[\s/>]|\Z){attrs}(?:>|\Z)(?s:.*?)(?:</{name}(?=[\s/>]|\Z)[^>]*+(?:>|\Z)|\Z)"
)
_HTML_MARKUP = re.compile(
    "|".join((
        r"<!--(?s:.*?)(?:-->|\Z)",  # comment
        _RAW_TEXT_ELEMENT.format(name="script", attrs=_ATTRIBUTES),
        _RAW_TEXT_ELEMENT.format(name="style", attrs=_ATTRIBUTES),
        r"</?[a-zA-Z]" + _ATTRIBUTES + r"(?:>|\Z)",  # start or end tag
        r"<[!?][^>]*+(?:>|\Z)",  # doctype, CDATA, processing instruction, bogus comment
        r"</(?![a-zA-Z])[^>]*+(?:>|\Z)",  # "</" not followed by a tag name: bogus comment
    )),
    re.IGNORECASE,
)


def html_visible_text_length(text: str) -> int:
    """Characters of visible text in an HTML document (see the module docstring).

    Character references are decoded per run of text between two pieces of markup, as an
    HTML parser does (``&am<b></b>p;`` is not ``&``).
    """
    return sum(map(_text_run_length, _HTML_MARKUP.split(text)))


_ASCII_WHITESPACE = " \t\n\r\f"  # HTML's "ASCII whitespace" (WHATWG Infra)


def _text_run_length(run: str) -> int:
    """Visible length of one run of character data (see :func:`html_visible_text_length`)."""
    decoded = html.unescape(run) if "&" in run else run
    if decoded and not decoded.strip(_ASCII_WHITESPACE):
        return 1
    return len(decoded)

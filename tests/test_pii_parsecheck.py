"""The parse check: a redaction that breaks a file is caught, one that keeps it valid is not."""
import warnings

import pytest

from pii.entities import Span
from pii.parsecheck import LANGUAGES, broken_by, parse_error, parses
from pii.redact import redact


def _redacted(text: str, value: str, label: str) -> str:
    start = text.index(value)
    return redact(text, [Span(start, start + len(value), label, 0.9, "test")])[0]


# language, valid file, a value whose redaction keeps it valid, one whose redaction breaks it
CASES = [
    ("python", 'ada_quill = 1\nAUTHOR = "Ada Quill"  # ada@mail.org\n', "Ada Quill", "ada_quill"),
    ("json", '{"author": "Ada Quill", "email": "ada@mail.org"}', "ada@mail.org", 'Ada Quill"'),
    ("yaml", 'author: "Ada Quill"\nemail: ada@mail.org\n', "ada@mail.org", 'Ada Quill"'),
    ("toml", 'ada_quill = "x"\nauthor = "Ada Quill"\n', "Ada Quill", "ada_quill"),
    ("xml", "<conf><host>52.14.3.9</host><author>Ada Quill</author></conf>", "52.14.3.9",
     "Ada Quill"),
    ("xml", '<conf host="52.14.3.9" email="ada@mail.org"/>', "52.14.3.9", "ada@mail.org"),
]
LABELS = {"Ada Quill": "NAME", 'Ada Quill"': "NAME", "ada_quill": "NAME",
          "ada@mail.org": "EMAIL", "52.14.3.9": "IP_ADDRESS"}


@pytest.mark.parametrize("language, text, safe, unsafe", CASES)
def test_a_redaction_that_breaks_the_file_is_caught(language, text, safe, unsafe):
    assert parses(language, text) is True
    kept = _redacted(text, safe, LABELS[safe])
    assert kept != text and parses(language, kept) is True
    assert not broken_by(language, text, kept)
    broken = _redacted(text, unsafe, LABELS[unsafe])
    assert parses(language, broken) is False
    assert broken_by(language, text, broken)
    assert parse_error(language, broken)


def test_a_file_that_never_parsed_is_not_broken():
    jsonc = '{\n  // maintainer: Ada Quill\n  "email": "ada@mail.org",\n}\n'
    assert parses("json", jsonc) is False
    assert not broken_by("json", jsonc, _redacted(jsonc, 'ada@mail.org"', "EMAIL"))
    python2 = 'print "Ada Quill"\nada_quill = 1\n'
    assert not broken_by("python", python2, _redacted(python2, "ada_quill", "NAME"))


def test_unknown_language_gives_none_and_is_never_broken():
    text = "int ada_quill = 1;\n"
    assert parses("c", text) is None and parses(None, text) is None
    assert parse_error("c", "int (") is None
    assert not broken_by("c", text, _redacted(text, "ada_quill", "NAME"))
    assert {"python", "json", "yaml", "toml", "xml"} <= LANGUAGES


def test_unchanged_text_is_not_broken_and_errors_are_not_parses():
    assert not broken_by("python", "x = 1\n", "x = 1\n")
    for language, text in [("python", "def f(:\n"), ("python", "x = 1\x00\n"),
                           ("python", "(" * 1000), ("json", "[" * 100_000),
                           ("yaml", "a: [\n"), ("yaml", "a: 2001-13-45 10:00:00\n"),
                           ("yaml", "{[a]: 1}\n"), ("yaml", "a: !!bool y\n"),
                           ("yaml", "a: !!timestamp x\n"), ("yaml", "a: !!float .\n"),
                           ("toml", "a = \n"), ("xml", "<a><b></a>")]:
        assert parses(language, text) is False, (language, text[:20])


def test_python_escape_warnings_are_silenced(capsys):
    text = 'PATTERN = "\\d+"\n'
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parses("python", text) is True
    assert capsys.readouterr() == ("", "")


def test_yaml_reads_every_document_and_a_byte_order_mark_is_ignored():
    assert parses("yaml", "a: 1\n---\nb: [\n") is False
    assert parses("json", '\ufeff{"a": 1}') is True
    assert parses("xml", '<?xml version="1.0" encoding="ISO-8859-1"?>\n<a>\u00e9</a>') is True

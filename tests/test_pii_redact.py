"""Redaction: placeholders, consistent IP replacement, spans at the new offsets, no raw values."""
import ipaddress
import json

import pytest

from pii.entities import Span, resolve_overlaps
from pii.redact import IpReplacer, PLACEHOLDERS, redact, redact_keeping_syntax


def _span(text: str, value: str, label: str, nth: int = 0, score: float = 0.9) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(value, start + 1)
    return Span(start, start + len(value), label, score, "test")


def test_placeholders_and_moved_spans():
    text = 'author = "Ada Quill <ada.quill@mail.org>"  # token: ghp_' + "a1" * 18 + "\n"
    spans = [_span(text, "Ada Quill", "NAME"), _span(text, "ada.quill@mail.org", "EMAIL"),
             _span(text, "ghp_" + "a1" * 18, "KEY")]
    redacted, moved = redact(text, spans)
    assert redacted == 'author = "<NAME> <<EMAIL>>"  # token: <KEY>\n'
    assert [redacted[s.start:s.end] for s in moved] == ["<NAME>", "<EMAIL>", "<KEY>"]
    assert [s.label for s in moved] == ["NAME", "EMAIL", "KEY"]


def test_ip_replacement_is_consistent_within_a_text_and_documentation_only():
    text = "primary 52.14.3.9, backup 34.201.7.77, again 52.14.3.9; v6 2a03:2880:f10c::1\n"
    spans = [_span(text, "52.14.3.9", "IP_ADDRESS"), _span(text, "34.201.7.77", "IP_ADDRESS"),
             _span(text, "52.14.3.9", "IP_ADDRESS", nth=1),
             _span(text, "2a03:2880:f10c::1", "IP_ADDRESS")]
    redacted, moved = redact(text, spans)
    values = [redacted[s.start:s.end] for s in moved]
    assert values[0] == values[2] != values[1]
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24",
                                              "203.0.113.0/24", "2001:db8::/32")]
    for value in values:
        address = ipaddress.ip_address(value)
        assert any(address in net for net in docs if net.version == address.version)
    assert "52.14.3.9" not in redacted and "2a03:2880" not in redacted
    # the same original maps to the same replacement in another text, too
    assert redact("x 52.14.3.9", [Span(2, 11, "IP_ADDRESS")])[0] == "x " + values[0]


def test_ip_replacer_never_gives_two_originals_one_address():
    replacer = IpReplacer()
    given = {replacer.replace(f"34.{i // 256}.{i % 256}.9") for i in range(700)}
    assert len(given) == 700
    with pytest.raises(ValueError, match="distinct IPv4"):
        for i in range(700, 800):
            replacer.replace(f"35.{i // 256}.{i % 256}.9")


def test_overlapping_spans_are_redacted_once():
    text = "pw=hunter2hunter2 end"
    spans = [Span(3, 17, "PASSWORD", 0.9), Span(3, 10, "NAME", 0.4)]
    redacted, moved = redact(text, spans)
    assert redacted == "pw=<PASSWORD> end" and len(moved) == 1
    assert resolve_overlaps(spans) == [spans[0]]


def test_spans_never_hold_raw_values():
    text = "mail me: jo.bloggs@post.example.org.uk"
    span = _span(text, "jo.bloggs@post.example.org.uk", "EMAIL")
    redacted, moved = redact(text, [span])
    dumped = json.dumps([s.to_dict() for s in [span, *moved]])
    assert "jo.bloggs" not in dumped and set(moved[0].to_dict()) == {
        "start", "end", "label", "score", "detector"}
    assert PLACEHOLDERS["EMAIL"] in redacted


def test_bad_spans_are_errors():
    with pytest.raises(ValueError, match="beyond text"):
        redact("short", [Span(2, 40, "KEY")])
    with pytest.raises(ValueError, match="unknown PII entity"):
        Span(0, 3, "PHONE")
    with pytest.raises(ValueError, match="bad span offsets"):
        Span(3, 3, "KEY")


def test_markup_gets_placeholders_as_character_references():
    text = "<author><email>ada@mail.org</email></author>"
    span = Span(text.index("ada"), text.index("</email>"), "EMAIL")
    redacted, moved = redact(text, [span], "xml")
    assert redacted == "<author><email>&lt;EMAIL&gt;</email></author>"
    assert redacted[moved[0].start:moved[0].end] == "&lt;EMAIL&gt;"
    assert redact(text, [span], "python")[0] == "<author><email><EMAIL></email></author>"


def test_a_span_whose_replacement_breaks_a_parsing_file_is_not_applied():
    text = 'G = graph()\nG.add_edge(2, 3)  # by Ada Quill\n'
    code = Span(text.index("G.add"), text.index("G.add") + 1, "NAME")  # a false positive
    name = Span(text.index("Ada"), text.index("Ada") + len("Ada Quill"), "NAME")
    redacted, moved, dropped = redact_keeping_syntax(text, [code, name], "python")
    assert redacted == 'G = graph()\nG.add_edge(2, 3)  # by <NAME>\n' and dropped == 1
    assert [redacted[s.start:s.end] for s in moved] == ["<NAME>"]
    # no parser for the language, or a file that never parsed: every span applies
    assert redact_keeping_syntax(text, [code, name], "idris")[2] == 0
    broken = "def (:\n" + text
    assert redact_keeping_syntax(broken, [Span(code.start + 7, code.end + 7, "NAME")],
                                 "python")[2] == 0
    # JSON: a key's quotes are not PII
    data = '{"user": "ada"}'
    assert redact_keeping_syntax(data, [Span(1, 8, "USERNAME")], "json") == (data, [], 1)

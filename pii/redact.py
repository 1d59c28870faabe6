"""Redaction: replace each detected span by its entity's placeholder.

``<NAME>``, ``<EMAIL>``, ``<KEY>``, ``<PASSWORD>`` and ``<USERNAME>`` follow StarCoderData's
redaction (Li et al. 2023, "StarCoder", §4.2; bigcode-dataset/pii). IP addresses become addresses
from the documentation ranges (RFC 5737 for IPv4, RFC 3849 for IPv6) instead, so code that parses
them still parses; one original always maps to the same replacement within a text, and two
different originals of one text never share one.
"""
from __future__ import annotations

import hashlib
import ipaddress

from pii.entities import IP_ADDRESS, Span, resolve_overlaps
from pii.parsecheck import broken_by, syntax_errors

PLACEHOLDERS = {"NAME": "<NAME>", "EMAIL": "<EMAIL>", "KEY": "<KEY>",
                "PASSWORD": "<PASSWORD>", "USERNAME": "<USERNAME>"}
# In markup, "<NAME>" would be a tag: there the placeholders are written as character
# references ("&lt;NAME&gt;"), which read as the same text.
MARKUP_LANGUAGES = frozenset(("xml", "xslt", "html", "java-server-pages"))


def placeholder(label: str, language: str | None = None) -> str:
    """The text that replaces an entity of ``label`` in a file of ``language``."""
    text = PLACEHOLDERS[label]
    return text.replace("<", "&lt;").replace(">", "&gt;") if language in MARKUP_LANGUAGES else text

# RFC 5737 TEST-NET-1/2/3 and RFC 3849's IPv6 documentation prefix.
_IPV4_DOC_NETS = tuple(ipaddress.ip_network(n) for n in
                       ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
_IPV4_DOC_HOSTS = tuple(str(host) for net in _IPV4_DOC_NETS for host in net.hosts())
_IPV6_DOC_NET = ipaddress.ip_network("2001:db8::/32")


class IpReplacer:
    """Maps the IP addresses of one text to documentation addresses, consistently.

    The first choice for an original comes from a hash of it (so it is the same across texts
    and runs); a collision with an address already given out in this text probes onwards.
    """

    def __init__(self) -> None:
        self._given: dict[str, str] = {}
        self._taken: set[str] = set()

    def replace(self, original: str) -> str:
        key = original.strip().lower()
        if key not in self._given:
            self._given[key] = self._fresh(key)
            self._taken.add(self._given[key])
        return self._given[key]

    def _fresh(self, key: str) -> str:
        digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
        if ":" in key:  # IPv6: 2^96 host bits, collisions only in theory, probed all the same
            base = int(_IPV6_DOC_NET.network_address)
            size = _IPV6_DOC_NET.num_addresses
            for step in range(size):
                candidate = str(ipaddress.IPv6Address(base + 1 + (digest + step) % (size - 1)))
                if candidate not in self._taken:
                    return candidate
        for step in range(len(_IPV4_DOC_HOSTS)):
            candidate = _IPV4_DOC_HOSTS[(digest + step) % len(_IPV4_DOC_HOSTS)]
            if candidate not in self._taken:
                return candidate
        raise ValueError(f"more than {len(_IPV4_DOC_HOSTS)} distinct IPv4 addresses in one text")


def redact(text: str, spans: list[Span], language: str | None = None) -> tuple[str, list[Span]]:
    """``text`` with every span replaced, and the spans at their offsets in the new text.
    ``language`` picks the placeholders' spelling (:func:`placeholder`).

    Overlapping spans are first resolved (:func:`pii.entities.resolve_overlaps`). The returned
    spans cover the placeholders (or replacement addresses), so a redacted record can be audited
    without the original.
    """
    replacer = IpReplacer()
    pieces: list[str] = []
    moved: list[Span] = []
    cursor = 0
    length = 0
    for span in resolve_overlaps(spans):
        if span.end > len(text):
            raise ValueError(f"span [{span.start}, {span.end}) beyond text of {len(text)} chars")
        pieces.append(text[cursor:span.start])
        length += span.start - cursor
        if span.label == IP_ADDRESS:
            replacement = replacer.replace(text[span.start:span.end])
        else:
            replacement = placeholder(span.label, language)
        pieces.append(replacement)
        moved.append(Span(length, length + len(replacement), span.label, span.score,
                          span.detector))
        length += len(replacement)
        cursor = span.end
    pieces.append(text[cursor:])
    return "".join(pieces), moved


def redact_keeping_syntax(text: str, spans: list[Span], language: str | None
                          ) -> tuple[str, list[Span], int]:
    """:func:`redact`, except that no span whose replacement breaks the file's syntax
    (:func:`pii.parsecheck.broken_by`: a new place that does not parse) is applied: such a span
    sits where code is, not PII, so it is taken as a false positive. Returns the text, the
    applied spans and how many were dropped.

    Spans are tried alone (a file with a breaking span is rare: none on the demo corpus); if the
    spans that each keep the file's syntax still break it together, none is applied.
    """
    redacted, moved = redact(text, spans, language)
    if not moved or not broken_by(language, text, redacted):
        return redacted, moved, 0
    errors = syntax_errors(language, text)
    safe = [span for span in resolve_overlaps(spans)
            if syntax_errors(language, redact(text, [span], language)[0]) <= errors]
    redacted, moved = redact(text, safe, language)
    if broken_by(language, text, redacted):
        return text, [], len(resolve_overlaps(spans))
    return redacted, moved, len(resolve_overlaps(spans)) - len(safe)

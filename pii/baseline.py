"""A BigCode-style regex detector: e-mail and IP regexes plus detect-secrets for keys.

This is the approach of bigcode-dataset's ``pii/`` regex pipeline (itself adapted from BigScience's
PII regexes): regular expressions for e-mails and IP addresses, ``ipaddress`` to drop non-public
addresses, and Yelp's detect-secrets plugins for secrets. It shares no code or patterns with
:mod:`pii.recognizers` or the NER model, which makes it two things here: baseline (c) of
``bench/pii_bench.py``, and the independent detector of ``curate pii audit``, which looks for PII
the redacting detectors missed.
"""
from __future__ import annotations

import ipaddress
import re
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from pii.entities import EMAIL, IP_ADDRESS, KEY, PASSWORD, Span, resolve_overlaps

DETECTOR = "regex-baseline"

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?![\w-])")
_IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
                   r"(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:.])")

# detect-secrets' plugins that recognise provider formats, entropy and credentials; the keyword
# and basic-auth plugins find passwords. Entropy limits are detect-secrets' own defaults
# (base64 4.5 bits, hex 3.0 bits), which BigCode also kept.
_SECRET_PLUGINS = [
    {"name": name} for name in (
        "ArtifactoryDetector", "AWSKeyDetector", "AzureStorageKeyDetector", "BasicAuthDetector",
        "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector",
        "GitLabTokenDetector", "IbmCloudIamDetector", "IbmCosHmacDetector", "JwtTokenDetector",
        "KeywordDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector",
        "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector",
        "SoftlayerDetector", "SquareOAuthDetector", "StripeDetector",
        "TelegramBotTokenDetector", "TwilioKeyDetector")
] + [{"name": "Base64HighEntropyString", "limit": 4.5},
     {"name": "HexHighEntropyString", "limit": 3.0}]
_PASSWORD_TYPES = {"Basic Auth Credentials"}
_PASSWORD_WORDS = re.compile(r"pass|pwd", re.IGNORECASE)


def _public_ip(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return address.is_global and not address.is_multicast


def _regex_spans(text: str) -> Iterator[Span]:
    for match in _EMAIL.finditer(text):
        yield Span(match.start(), match.end(), EMAIL, 1.0, DETECTOR)
    for pattern in (_IPV4, _IPV6):
        for match in pattern.finditer(text):
            if _public_ip(match.group()):
                yield Span(match.start(), match.end(), IP_ADDRESS, 1.0, DETECTOR)


def _value_at(line: str, value: str) -> int:
    """Where ``value`` stands in ``line`` as a whole token (else its first occurrence)."""
    bounded = re.search(r"(?<![\w+/=-])" + re.escape(value) + r"(?![\w+/=-])", line)
    return bounded.start() if bounded else line.find(value)


def _secret_spans(text: str, scratch: Path) -> Iterator[Span]:
    """detect-secrets over ``text`` in file mode, as BigCode ran it (heuristic filters on)."""
    from detect_secrets.core.scan import scan_file
    from detect_secrets.settings import transient_settings

    scratch.write_text(text, encoding="utf-8", errors="surrogatepass")
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    with transient_settings({"plugins_used": _SECRET_PLUGINS}):
        found = sorted({(s.line_number, s.type, s.secret_value) for s in scan_file(str(scratch))
                        if s.secret_value and 0 < s.line_number <= len(lines)})
    for line_number, secret_type, value in found:
        line = lines[line_number - 1]
        at = _value_at(line, value)
        if at < 0:
            continue
        is_password = (secret_type in _PASSWORD_TYPES or (
            secret_type == "Secret Keyword" and _PASSWORD_WORDS.search(line[:at])))
        start = starts[line_number - 1] + at
        yield Span(start, start + len(value), PASSWORD if is_password else KEY, 1.0, DETECTOR)


class RegexBaselineDetector:
    """E-mails, public IPs, keys and passwords found the BigCode regex way."""

    name = DETECTOR

    def detect(self, texts: Sequence[str]) -> list[list[Span]]:
        with tempfile.TemporaryDirectory(prefix="curate-pii-baseline-") as scratch:
            snippet = Path(scratch) / "snippet.txt"
            return [resolve_overlaps([*_regex_spans(text), *_secret_spans(text, snippet)])
                    for text in texts]

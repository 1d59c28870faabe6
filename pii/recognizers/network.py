"""EMAIL and IP_ADDRESS recognizers."""
from __future__ import annotations

from pii import policy
from pii.entities import EMAIL, IP_ADDRESS
from pii.recognizers.base import Rule, ValueRecognizer

_LOCAL = r"[\w%+-]+(?:\.[\w%+-]+)*"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|xn--[\w-]{2,59})"
# Obfuscated separators: "[at]", "(at)", "{at}", "<at>" (bracketed), " at " (word); the same
# for "dot", or a real ".".
_AT_BRACKETED = r"[ \t]*[\[({<][ \t]*(?i:at)[ \t]*[\])}>][ \t]*"
_AT_WORD = r"[ \t]+(?i:at)[ \t]+"
_DOT_OBFUSCATED = r"(?:[ \t]*[\[({<][ \t]*(?i:dot)[ \t]*[\])}>][ \t]*|[ \t]+(?i:dot)[ \t]+)"
_DOT = rf"(?:{_DOT_OBFUSCATED}|\.)"


class EmailRecognizer(ValueRecognizer):
    """E-mail addresses, plain and obfuscated; the policy drops example domains and
    look-alikes (SSH remotes, package specs, asset names, URL user-info)."""

    ENTITY = EMAIL
    RULES = (
        # 1.0: the syntax is the whole evidence, and the policy has ruled out every known
        # look-alike before a span is kept.
        Rule("email", rf"(?<![\w.%+@-])(?P<value>{_LOCAL}@(?:{_LABEL}\.)+{_TLD})(?![\w@-]|\.\w)",
             1.0, ("@",)),
        # 0.85 for bracketed "[at]" forms, deliberate obfuscation; 0.6 for the words " at "
        # and " dot ", which prose can also produce ("look at x dot y").
        Rule("email_obfuscated_bracketed",
             rf"(?<![\w.%+@-])(?P<value>{_LOCAL}{_AT_BRACKETED}(?:{_LABEL}{_DOT})+{_TLD})"
             r"(?![\w@-])", 0.85, ("at]", "at)", "at}", "at>", "at ]", "at )")),
        Rule("email_obfuscated_words",
             rf"(?<![\w.%+@-])(?P<value>{_LOCAL}{_AT_WORD}(?:{_LABEL}{_DOT_OBFUSCATED})+{_TLD})"
             r"(?![\w@-])", 0.6, ("dot",)),
    )


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_H16 = r"[0-9A-Fa-f]{1,4}"


class IpRecognizer(ValueRecognizer):
    """IPv4 and IPv6 addresses that ``ipaddress`` parses and the policy calls public."""

    ENTITY = IP_ADDRESS
    # 0.9 for IPv4: parsed by ipaddress and public; below 1 because a dotted quad can still
    # be a four-part version number that no context word gives away. 0.95 for IPv6: no other
    # common token has its shape once the reserved ranges (where C++ scopes such as
    # "Abc::Add" fall) are excluded.
    RULES = (
        Rule("ipv4", rf"(?<![\w.])(?P<value>(?:{_OCTET}\.){{3}}{_OCTET})(?!\w|\.\d)", 0.9),
        # Compressed ("2001:db8::1", "::ffff:1.2.3.4") and full eight-group forms.
        Rule("ipv6_compressed", rf"(?<![\w:.])(?P<value>(?:{_H16}:){{0,6}}(?:{_H16})?::"
                                rf"(?:(?:{_H16}:){{0,5}}(?:(?:{_OCTET}\.){{3}}{_OCTET}|{_H16}))?)"
                                r"(?![\w:]|\.\d)", 0.95, ("::",)),
        Rule("ipv6_full", rf"(?<![\w:.])(?P<value>(?:{_H16}:){{7}}{_H16})(?![\w:])", 0.95),
    )

    def accept(self, rule_name: str, text: str, start: int, end: int) -> bool:
        return (policy.parse_ip(text[start:end]) is not None
                and super().accept(rule_name, text, start, end))

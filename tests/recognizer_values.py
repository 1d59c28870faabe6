"""The values a pattern recognizer reports in a text: shared by the PII recognizer tests."""
from __future__ import annotations

from pii.recognizers import (
    EmailRecognizer,
    IpRecognizer,
    KeyRecognizer,
    NameRecognizer,
    PasswordRecognizer,
    UsernameRecognizer,
)

RECOGNIZERS = {cls.ENTITY: cls() for cls in (EmailRecognizer, IpRecognizer, KeyRecognizer,
                                             PasswordRecognizer, UsernameRecognizer,
                                             NameRecognizer)}


def found(label: str, text: str) -> list[str]:
    """The values one recognizer reports in ``text``, in order."""
    results = RECOGNIZERS[label].analyze(text, [label])
    return [text[r.start:r.end] for r in sorted(results, key=lambda r: r.start)]

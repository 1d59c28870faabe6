"""Presidio recognizers for the six PII entities of code, each judged by :mod:`pii.policy`."""
from __future__ import annotations

from presidio_analyzer import EntityRecognizer

from pii.recognizers.base import ValueRecognizer
from pii.recognizers.network import EmailRecognizer, IpRecognizer
from pii.recognizers.people import NameRecognizer, UsernameRecognizer
from pii.recognizers.secrets import KeyRecognizer, PasswordRecognizer

RECOGNIZER_CLASSES: tuple[type[ValueRecognizer], ...] = (
    EmailRecognizer, IpRecognizer, KeyRecognizer, PasswordRecognizer, UsernameRecognizer,
    NameRecognizer)


def pattern_recognizers() -> list[EntityRecognizer]:
    """A fresh instance of every pattern recognizer, one per entity."""
    return [cls() for cls in RECOGNIZER_CLASSES]


__all__ = ["RECOGNIZER_CLASSES", "EmailRecognizer", "IpRecognizer", "KeyRecognizer",
           "NameRecognizer", "PasswordRecognizer", "UsernameRecognizer", "ValueRecognizer",
           "pattern_recognizers"]

"""Bytes to text: UTF-8 first, else a confident charset-normalizer match, else nothing.

Decoding is strict everywhere, so ``text.encode(encoding) == data`` holds for every result
(a UTF-8 byte-order mark is reported as the ``utf-8-sig`` encoding). The thresholds are
``IngestConfig.max_encoding_chaos`` and ``min_encoding_coherence`` (see their sources there).
"""
from __future__ import annotations

import codecs

import charset_normalizer

from pipeline.config import IngestConfig


def is_binary(data: bytes, config: IngestConfig) -> bool:
    """A NUL byte in the first ``config.binary_sniff_bytes`` bytes (git's own test)."""
    return b"\0" in data[: config.binary_sniff_bytes]


def decode(data: bytes, config: IngestConfig) -> tuple[str, str] | None:
    """``(text, encoding)`` of ``data``, or None when no encoding decodes it confidently."""
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        pass
    match = charset_normalizer.from_bytes(data, threshold=config.max_encoding_chaos).best()
    if (match is None or match.chaos > config.max_encoding_chaos
            or match.coherence < config.min_encoding_coherence):
        return None
    try:
        return data.decode(match.encoding), match.encoding
    except (UnicodeDecodeError, LookupError):
        return None

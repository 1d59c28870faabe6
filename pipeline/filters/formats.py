"""StarCoderData's filters for markup and data formats (Li et al. 2023, "StarCoder", §3.1;
bigcode-dataset ``preprocessing/filtering.py``: ``filter_xml``, ``filter_html``,
``filter_large_and_small_files``)."""
from __future__ import annotations

from pipeline.filters.base import ContentRule, record_text
from pipeline.filters.measures import html_visible_text_length
from pipeline.reasons import Reason

XML_DECLARATION = "<?xml version="


class XmlDeclarationFilter(ContentRule):
    """Drops XML files that open with an XML declaration: mostly data and configuration
    that tools write (StarCoder §3.1). Only the language ``xml``; XSLT and the like are
    languages of their own and stay."""

    reason = Reason.XML_DECLARATION

    def __init__(self, window: int):
        self.window = window

    def applies_to(self, record: dict) -> bool:
        return super().applies_to(record) and record["language"] == "xml"

    def violation(self, record: dict) -> dict | None:
        offset = record_text(record).find(XML_DECLARATION, 0, self.window)
        return None if offset < 0 else {"value": offset, "threshold": self.window}


class HtmlVisibleTextFilter(ContentRule):
    """Keeps an HTML file only when its visible text is at least ``min_fraction`` of the
    file and at least ``min_chars`` characters (StarCoder §3.1: 20% and 100).

    The paper says "at least"; bigcode's code compares strictly (``> 0.2``, ``> 100``). We
    follow the paper, so a file exactly at a threshold is kept. An empty file has no visible
    text and is dropped.
    """

    reason = Reason.HTML_VISIBLE_TEXT

    def __init__(self, min_fraction: float, min_chars: int):
        self.min_fraction = min_fraction
        self.min_chars = min_chars

    def applies_to(self, record: dict) -> bool:
        return super().applies_to(record) and record["language"] == "html"

    def violation(self, record: dict) -> dict | None:
        text = record_text(record)
        visible = html_visible_text_length(text)
        fraction = visible / len(text) if text else 0.0
        if visible >= self.min_chars and fraction >= self.min_fraction:
            return None
        return {"visible_chars": visible, "visible_fraction": fraction,
                "min_chars": self.min_chars, "min_fraction": self.min_fraction}


class DataFileSizeFilter(ContentRule):
    """Keeps a data file (JSON, YAML) only with ``min_chars <= characters <= max_chars``
    (StarCoder §3.1: 50 to 5000; larger ones are mostly data dumps, smaller ones empty
    stubs). bigcode's script defaults to 100 as the minimum; we follow the paper."""

    reason = Reason.DATA_FILE_SIZE

    def __init__(self, min_chars: int, max_chars: int, languages: tuple[str, ...]):
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.languages = frozenset(languages)

    def applies_to(self, record: dict) -> bool:
        return super().applies_to(record) and record["language"] in self.languages

    def violation(self, record: dict) -> dict | None:
        size = len(record_text(record))
        if self.min_chars <= size <= self.max_chars:
            return None
        return {"value": size, "min": self.min_chars, "max": self.max_chars}

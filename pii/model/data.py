"""Labelled documents: the JSONL ``{"id", "text", "spans": [{"start", "end", "label"}]}``."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from pii.entities import Span


@dataclasses.dataclass(frozen=True)
class LabelledText:
    """One document and its gold spans."""

    id: str
    text: str
    spans: tuple[Span, ...]


def _parse_line(line: str, where: str) -> LabelledText:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object")
    doc_id, text, spans = record.get("id"), record.get("text"), record.get("spans")
    if not isinstance(doc_id, str) or not isinstance(text, str) or not isinstance(spans, list):
        raise ValueError(f"{where}: needs 'id' (string), 'text' (string) and 'spans' (list)")
    parsed = []
    for index, span in enumerate(spans):
        try:
            start, end, label = span["start"], span["end"], span["label"]
            if not (isinstance(start, int) and isinstance(end, int)) or end > len(text):
                raise ValueError(f"offsets [{start}, {end}) do not fit a text of {len(text)} characters")
            parsed.append(Span(start, end, label))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{where}, span {index}: {error}") from None
    return LabelledText(doc_id, text, tuple(sorted(parsed)))


def read_labelled(path: str | Path) -> list[LabelledText]:
    """Every record of a labelled JSONL file (blank lines skipped); bad records are errors."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"labelled data {source} does not exist")
    docs = []
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                docs.append(_parse_line(line, f"{source}:{number}"))
    if not docs:
        raise ValueError(f"{source} holds no records")
    return docs

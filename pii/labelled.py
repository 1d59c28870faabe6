"""JSONL documents: ``{"id", "text"[, "language" or "path"]}`` to scan, and labelled ones that
add ``"spans": [{"start", "end", "label"[, "held_out"]}]`` (training data and gold; ``held_out``
marks a span of a template that training never saw: a test split's held-out family, a validation
template). A bad line is an error naming
``file:line``."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

from pii.entities import Span


@dataclasses.dataclass(frozen=True)
class LabelledText:
    """One document, its gold spans (sorted) and its language (None: read as prose)."""

    id: str
    text: str
    spans: tuple[Span, ...]
    language: str | None = None
    held_out: tuple[Span, ...] = ()  # the spans marked ``held_out`` (a subset of ``spans``)


def language_of(item: dict) -> str | None:
    """A document's language: its ``language`` key, else the one its ``path`` names (the
    build's table), else None (read as prose: the whole text may hold PII)."""
    from pipeline.ingest.languages import language_for

    if item.get("language"):
        return str(item["language"])
    return language_for(str(item["path"])) if item.get("path") else None


def _objects(path: Path) -> Iterator[tuple[str, dict]]:
    """``("file:line", object)`` per non-blank line; a line that is no JSON object is an error."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{where}: not JSON ({error.msg})") from None
            if not isinstance(item, dict):
                raise ValueError(f"{where}: expected a JSON object")
            yield where, item


def read_jsonl(path: str | Path, required: tuple[str, ...]) -> Iterator[dict]:
    """Objects of a JSONL file, each with the keys ``required`` and a string ``text``."""
    for where, item in _objects(Path(path)):
        if any(key not in item for key in required):
            raise ValueError(f"{where}: needs the keys {', '.join(required)}")
        if not isinstance(item["text"], str):
            raise ValueError(f"{where}: 'text' must be a string")
        yield item


def _gold_spans(item: dict, where: str) -> tuple[Span, ...]:
    """A labelled record's spans, sorted; one malformed or beyond the text is an error."""
    spans = []
    for raw in item["spans"]:
        try:
            start, end = raw["start"], raw["end"]
            if not (isinstance(start, int) and isinstance(end, int)):
                raise ValueError("offsets must be integers")
            if end > len(item["text"]):
                raise ValueError(f"beyond the text: offsets [{start}, {end}) do not fit a text "
                                 f"of {len(item['text'])} characters")
            spans.append(Span(start, end, raw["label"]))
        except KeyError as error:
            raise ValueError(f"{where}: bad gold span {raw!r}: no {error}") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"{where}: bad gold span {raw!r}: {error}") from None
    return tuple(sorted(spans))


def read_labelled(path: str | Path) -> list[LabelledText]:
    """Every record of a labelled JSONL file (blank lines skipped); bad records are errors."""
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"labelled data {source} does not exist")
    docs = []
    for where, item in _objects(source):
        doc_id, text, spans = item.get("id"), item.get("text"), item.get("spans")
        if not (isinstance(doc_id, str) and isinstance(text, str) and isinstance(spans, list)):
            raise ValueError(f"{where}: needs 'id' (string), 'text' (string) and 'spans' (list)")
        gold = _gold_spans(item, where)
        held_out = tuple(sorted(Span(raw["start"], raw["end"], raw["label"])
                                for raw in spans if raw.get("held_out") is True))
        docs.append(LabelledText(doc_id, text, gold, language_of(item), held_out))
    if not docs:
        raise ValueError(f"{source} holds no records")
    return docs

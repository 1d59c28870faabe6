"""Audit a published release for residual PII, with detectors independent of the redacting ones.

The redacting detectors are Presidio pattern recognizers and the NER model (:mod:`pii.engine`).
The audit uses none of their code: the BigCode-style regexes and detect-secrets
(:mod:`pii.baseline`) for e-mails, IPs, keys and passwords, a first-name lexicon (Faker's, several
locales) for names and path/URL patterns for usernames. It reads the shards, counts what the
build redacted (the ``pii_spans`` column) and what the independent detectors still find, per
entity and language, and writes ``audit.md`` and ``audit.html``. Examples in the reports are
masked: a value never appears in a report or a log.
"""
from __future__ import annotations

import collections
import dataclasses
import html
import re
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from pii.baseline import RegexBaselineDetector
from pii.entities import ENTITIES, NAME, USERNAME, Span, resolve_overlaps
from pii.names import GIVEN_NAMES, name_words
from pii.redact import PLACEHOLDERS
from pipeline.report import PAGE_STYLE, bar_plot, html_section, html_table, largest
from pipeline.shards import resolve_release

DETECTOR = "audit-lexicon"
# Faker locales whose first names make the audit's name lexicon (Latin script: the capitalised
# "First Last" shape the lexicon detector relies on).
_NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "nl_NL",
                 "pl_PL", "sv_SE", "cs_CZ", "tr_TR")
_NAME_PAIR = re.compile(r"\b([A-Z][a-z]{1,15}) ([A-Z][a-z]{1,20}|[A-Z]\. [A-Z][a-z]{1,20})\b")
_USERNAME_PATTERNS = (
    re.compile(r"(?:/home/|/Users/|C:\\\\Users\\\\|C:\\Users\\)([A-Za-z][\w.-]{1,31})"),
    # a profile URL ends at the handle: github.com/org/repo names a project, not a person
    re.compile(r"(?:github\.com|gitlab\.com|twitter\.com|x\.com)/([A-Za-z0-9][\w-]{1,38})"
               r"(?=[\s\"'>)\]]|$)"),
)
_NOT_USERS = frozenset({"root", "admin", "user", "runner", "ubuntu", "travis", "vagrant",
                        "username", "USER", "me", "you", "name", "shared", "Shared"})
_EXAMPLES_PER_ENTITY = 5  # masked examples shown per entity


def _lexicon_spans(text: str) -> Iterator[Span]:
    first_names = name_words(GIVEN_NAMES, _NAME_LOCALES)
    for match in _NAME_PAIR.finditer(text):
        if match.group(1) in first_names:
            yield Span(match.start(), match.end(), NAME, 0.5, DETECTOR)
    for pattern in _USERNAME_PATTERNS:
        for match in pattern.finditer(text):
            if match.group(1) not in _NOT_USERS:
                yield Span(match.start(1), match.end(1), USERNAME, 0.5, DETECTOR)


def _is_placeholder(text: str, span: Span) -> bool:
    value = text[span.start:span.end]
    return any(token in value for token in PLACEHOLDERS.values())


def mask(value: str) -> str:
    """A masked form that shows shape, never content: first character, length, class."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@***.{domain.rsplit('.', 1)[-1][:6]}"
    return f"{value[:1]}{'*' * min(len(value) - 1, 12)} ({len(value)} chars)"


@dataclasses.dataclass
class AuditReport:
    """What the audit counted, per entity and language, with masked examples."""

    release: str
    files: int = 0
    megabytes: float = 0.0
    redacted: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    residual: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    residual_by_language: dict = dataclasses.field(
        default_factory=lambda: collections.defaultdict(collections.Counter))
    megabytes_by_language: collections.Counter = dataclasses.field(
        default_factory=collections.Counter)
    examples: dict = dataclasses.field(default_factory=lambda: collections.defaultdict(list))


def _shards(release_dir: Path) -> list[Path]:
    return sorted((resolve_release(release_dir) / "data").rglob("*.parquet"))


def _masked_context(text: str, span: Span, others: list[Span]) -> str:
    line_start = text.rfind("\n", 0, span.start) + 1
    line_end = text.find("\n", span.end)
    line_end = len(text) if line_end < 0 else line_end
    pieces, cursor = [], line_start
    for other in sorted(s for s in others if s.start >= line_start and s.end <= line_end):
        pieces += [text[cursor:other.start], f"[{other.label}:{mask(text[other.start:other.end])}]"]
        cursor = other.end
    pieces.append(text[cursor:line_end])
    line = "".join(pieces).strip()
    return line if len(line) <= 160 else line[:157] + "..."


def audit_release(release_dir: Path, batch_rows: int = 256) -> AuditReport:
    """Scan every kept shard of ``release_dir`` for residual PII."""
    release_dir = Path(release_dir)
    report = AuditReport(release=str(release_dir))
    baseline = RegexBaselineDetector()
    for shard in _shards(release_dir):
        parquet = pq.ParquetFile(shard)
        columns = [c for c in ("id", "language", "content", "pii_spans")
                   if c in parquet.schema_arrow.names]
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            rows = [r for r in batch.to_pylist() if r.get("content") is not None]
            found = baseline.detect([r["content"] for r in rows])
            for row, spans in zip(rows, found):
                _audit_record(report, row, spans)
    return report


def _audit_record(report: AuditReport, row: dict, baseline_spans: list[Span]) -> None:
    text, language = row["content"], row.get("language") or "unknown"
    size = len(text.encode("utf-8", "surrogatepass")) / 1e6
    report.files += 1
    report.megabytes += size
    report.megabytes_by_language[language] += size
    for span in row.get("pii_spans") or []:
        report.redacted[span["label"]] += 1
    spans = [s for s in resolve_overlaps([*baseline_spans, *_lexicon_spans(text)])
             if not _is_placeholder(text, s)]
    for span in spans:
        report.residual[span.label] += 1
        report.residual_by_language[language][span.label] += 1
        examples = report.examples[span.label]
        if len(examples) < _EXAMPLES_PER_ENTITY:
            examples.append({"id": row.get("id"), "language": language,
                             "masked": mask(text[span.start:span.end]),
                             "context": _masked_context(text, span, spans)})


def _rows(report: AuditReport) -> list[tuple[str, int, int, str]]:
    rate = (lambda n: f"{n / report.megabytes:.2f}") if report.megabytes else (lambda n: "-")
    return [(label, report.redacted[label], report.residual[label], rate(report.residual[label]))
            for label in ENTITIES]


def render_markdown(report: AuditReport) -> str:
    """The audit as Markdown (counts, rates per MB, per-language table, masked examples)."""
    lines = [f"# PII audit of {report.release}", "",
             f"{report.files} files, {report.megabytes:.2f} MB. Residual = found by the audit's "
             "independent detectors (regexes, detect-secrets, a first-name lexicon) after "
             "redaction; it counts their false positives too.", "",
             "| entity | redacted by the build | residual | residual per MB |",
             "|---|---:|---:|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _rows(report)]
    lines += ["", "## Residual per language", "",
              "| language | MB | " + " | ".join(ENTITIES) + " |",
              "|---|---:|" + "---:|" * len(ENTITIES)]
    for language in sorted(report.megabytes_by_language):
        counts = report.residual_by_language.get(language, {})
        lines.append(f"| {language} | {report.megabytes_by_language[language]:.2f} | "
                     + " | ".join(str(counts.get(label, 0)) for label in ENTITIES) + " |")
    lines += ["", "## Masked examples", ""]
    for label in ENTITIES:
        for example in report.examples.get(label, []):
            lines.append(f"- {label} `{example['masked']}` in {example['language']} "
                         f"record {str(example['id'])[:12]}: `{example['context']}`")
    return "\n".join(lines) + "\n"


def render_html(report: AuditReport) -> str:
    """The same content as :func:`render_markdown`, as a self-contained HTML page that leads
    with plots: spans redacted and residual per entity, residual per MB in the languages that
    hold most of the release; languages with nothing residual fold below the table."""
    per_megabyte = {language: sum(counts.values()) / report.megabytes_by_language[language]
                    for language, counts in report.residual_by_language.items()
                    if report.megabytes_by_language[language] and sum(counts.values())}
    heavy = [language for language, _ in largest(dict(report.megabytes_by_language))]
    with_residual = [language for language in heavy if language in per_megabyte]
    rows = [(language, f"{report.megabytes_by_language[language]:.2f}",
             *(report.residual_by_language.get(language, {}).get(label, 0)
               for label in ENTITIES))
            for language in with_residual + [lang for lang in heavy if lang not in per_megabyte]]
    examples = [(label, e["masked"], e["language"], str(e["id"])[:12], e["context"])
                for label in ENTITIES for e in report.examples.get(label, [])]
    entity_rows = _rows(report)
    sections = [
        html_section("Redacted by the build", bar_plot(
            "Spans redacted, per entity", [(label, n) for label, n, _, _ in entity_rows if n],
            "spans") if any(report.redacted.values()) else None,
            html_table(("entity", "redacted by the build", "residual", "residual per MB"),
                       entity_rows, folded_after=len(entity_rows))),
        html_section("Residual per language", bar_plot(
            "Residual spans per MB (largest languages first)",
            [(language, per_megabyte[language]) for language in with_residual], "per MB")
            if with_residual else None,
            html_table(("language", "MB", *ENTITIES), rows,
                       folded_after=max(len(with_residual), 1))),
        html_section("Masked examples", None,
                     html_table(("entity", "masked", "language", "record", "context"),
                                examples, folded_after=len(examples))),
    ]
    title = html.escape(f"PII audit of {report.release}")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{PAGE_STYLE}</style></head><body><h1>{title}</h1>"
            f"<p class=summary>{report.files:,} files, {report.megabytes:.2f} MB. Residual = "
            "found by independent detectors after redaction (their false positives included)."
            f"</p>{''.join(sections)}</body></html>\n")


def write_reports(report: AuditReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``audit.md`` and ``audit.html`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, page = out_dir / "audit.md", out_dir / "audit.html"
    markdown.write_text(render_markdown(report), encoding="utf-8")
    page.write_text(render_html(report), encoding="utf-8")
    return markdown, page

"""Attribution search: where in a release does a piece of code come from, under which licence?

``curate search index RELEASE_DIR`` writes ``search/`` beside the release's shards;
``curate search query`` and the opt-out web page answer from it:

- ``search/text/``: a tantivy index with one document per kept record: ``record`` (its number
  in the release's shard order), ``id``, ``repo``, ``path``, ``license`` and ``content`` stored
  (zstd-compressed blocks, so a result's text is read without decoding a Parquet row group of
  ``[shards] row_group_rows`` files), and the indexed fields of ranked mode (below).
- ``search/ngrams.npy``: exact mode's table, a NumPy structured array sorted by ``hash``:
  ``hash`` (the first 64-bit half of xxh3-128 of a 50-character n-gram, as
  :func:`optout.membership.ngram_hashes` computes it), ``record``, ``offset`` (the n-gram's
  character offset in the record's content); n-grams taken at a stride of 50 as the membership
  index's (``[membership]``). Memory-mapped: a lookup is a binary search that touches a few
  pages, where a Parquet file would decode whole row groups.
- ``search/index.json``: the release it indexes (version and manifest.json's sha256), records,
  content bytes, n-gram settings, its files' sizes and its size as a share of the release.

Why tantivy (tantivy-py, the official bindings of the Rust engine): a maintained full-text
engine that ships as a wheel and runs offline, with BM25 ranking, positional phrase queries,
custom tokenizers and a compressed document store. DuckDB's full-text search extension is
downloaded from DuckDB's servers at run time, and SQLite FTS5 has no tokenizer for code short
of writing one in C.

Tokenisation for code. The standard text tokenizers split ``parse_json_file`` into three words
and keep ``parseJsonFile`` as one, so neither form finds the other. Two analyzers index the
content:
- ``content``, :data:`IDENTIFIER_PATTERN`: whole identifiers (``\\w+``: letters, digits and
  ``_``, in any script), lower-cased: a query ``parse_json_file`` matches that identifier.
- ``parts``, :data:`PART_PATTERN`: the words inside identifiers (``snake_case`` and
  ``camelCase`` split, digits apart), lower-cased: ``json`` finds ``parse_json_file`` and
  ``parseJSON``, and the phrase ``parse json file`` finds every spelling.
- ``symbols``: the names that definitions introduce (:data:`DEFINITION`: ``def``, ``class``,
  ``function``, ``fn``, ``struct`` ... in the usual languages), whole, in one spelling
  (:func:`symbol_key`: ``parse_json_file`` and ``ParseJsonFile`` are both ``parsejsonfile``),
  so the file that defines an identifier ranks above the files that use it, and above those
  that define longer names holding it (``test_parse_json_file``); ``path``, by parts.
Punctuation is not indexed: ranked mode is for identifiers and words; a snippet with its
punctuation goes to exact mode.

Two modes (:meth:`ReleaseSearch.search`):
- exact, for snippets of at least :data:`NGRAM_CHARS` characters: every window of the snippet
  is looked up (stride 1, as :mod:`optout.membership` explains: one alignment class meets the
  stored n-grams). A hit of window ``j`` on ``(record, offset)`` places the snippet at
  ``offset - j``; a place is kept when every stored n-gram it spans was hit, then confirmed by
  reading the record's content. From ``NGRAM_CHARS + STRIDE - 1`` characters (99) every place
  spans a stored n-gram, so none is missed; a shorter snippet, or one with no exact place,
  is searched ranked.
- ranked, BM25: every identifier of the query must occur (as itself, as its parts in order,
  in a definition or in the path), scores add up over the fields with :data:`BOOSTS`, and the
  query's words (the parts of its identifiers) in order as a phrase add more.
Results carry the record's repository, path, licence, id and the matching lines with the
matches marked.
"""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
import pyarrow.parquet as pq
import tantivy

from optout.membership import ngram_hashes, stored_ngrams
from pipeline.config import MembershipConfig
from pipeline.shards import file_sha256, resolve_release

INDEX_DIR = "search"
TEXT_DIR = f"{INDEX_DIR}/text"
NGRAMS_FILE = f"{INDEX_DIR}/ngrams.npy"
HEADER_FILE = f"{INDEX_DIR}/index.json"
NGRAM_CHARS = MembershipConfig().ngram_chars  # 50, the membership index's n-grams
STRIDE = MembershipConfig().stride  # 50
NGRAM_DTYPE = np.dtype([("hash", "<u8"), ("record", "<u4"), ("offset", "<u4")])
IDENTIFIER_PATTERN = r"\w+"
# Upper-case runs with their lower-case tail (camelCase, HTTPServer as one), lower-case runs,
# digit runs, and letters of scripts without case with their marks.
PART_PATTERN = r"\p{Lu}+\p{Ll}*|\p{Ll}+|\p{N}+|[\p{Lo}\p{Lm}\p{M}]+"
MAX_TOKEN_BYTES = 64  # UTF-8; tokens as long or longer are data (base64, hashes): not indexed
DEFINITION = re.compile(
    r"\b(?:def|class|function|func|fn|struct|enum|interface|trait|type|typedef|module|macro|"
    r"sub|proc|object|record|union|namespace|const|let|var|val)\s+[*&]?([^\W\d]\w*)")
# Field weights of ranked mode: a definition of the identifier counts most, then the
# identifier itself, then its words in order; the path least.
BOOSTS = {"symbols": 4.0, "content": 2.0, "parts": 1.0, "path": 1.0, "phrase": 2.0}
MAX_LINES = 8  # lines shown per result; the rest are counted
MAX_QUERY_WORDS = 64  # ranked mode reads a longer text's first 64 identifiers
WRITER_HEAP_BYTES = 128_000_000  # tantivy's default writer heap


class NoSearchIndex(FileNotFoundError):
    """The release has no search index (the message says how to build one)."""


def _analyzer(pattern: str) -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(pattern))
            .filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES))
            .filter(tantivy.Filter.lowercase()).build())


IDENTIFIERS = _analyzer(IDENTIFIER_PATTERN)
PARTS = _analyzer(PART_PATTERN)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("record", stored=True, indexed=True)
    for name in ("id", "repo", "license"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("path", stored=True, tokenizer_name="parts")
    builder.add_text_field("content", stored=True, tokenizer_name="identifiers",
                           index_option="freq")  # phrases are matched on parts
    builder.add_text_field("parts", tokenizer_name="parts")
    builder.add_text_field("symbols", tokenizer_name="identifiers", index_option="freq")
    return builder.build()


SCHEMA = _schema()


def _open_text_index(path: Path, create: bool = False) -> tantivy.Index:
    index = tantivy.Index(SCHEMA, str(path), reuse=not create)
    index.register_tokenizer("identifiers", IDENTIFIERS)
    index.register_tokenizer("parts", PARTS)
    return index


def symbol_key(name: str) -> str:
    """``name`` in the spelling the ``symbols`` field keeps: lower case, without ``_``."""
    return name.replace("_", "").lower()


def definitions(content: str) -> str:
    """The names that :data:`DEFINITION` finds defined in ``content``, as
    :func:`symbol_key` spells them, space-separated."""
    return " ".join(map(symbol_key, DEFINITION.findall(content)))


# --- building ----------------------------------------------------------------------------------

def _records(release: Path, manifest: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The release's kept records in shard order, with the columns the index needs."""
    columns = ["id", "repo", "path", "license", "content"]
    for shard in manifest["shards"]:
        for batch in pq.ParquetFile(release / shard["path"]).iter_batches(columns=columns):
            yield from batch.to_pylist()


def build_index(release_dir: Path, threads: int = 1) -> dict[str, Any]:
    """Write ``search/`` for the release that ``release_dir`` names (assembled aside, then
    renamed into place) with a tantivy writer of ``threads`` threads; its header."""
    release = resolve_release(release_dir)
    manifest_path = release / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    pending = release / f"{INDEX_DIR}.pending"
    shutil.rmtree(pending, ignore_errors=True)
    pending.mkdir()
    started = time.perf_counter()
    (pending / "text").mkdir()
    writer = _open_text_index(pending / "text", create=True).writer(
        WRITER_HEAP_BYTES, num_threads=threads)
    hashes, records, offsets = [], [], []
    count = content_bytes = 0
    for number, row in enumerate(_records(release, manifest)):
        content = row["content"] or ""
        content_bytes += len(content.encode("utf-8", "surrogatepass"))
        doc = tantivy.Document()
        doc.add_unsigned("record", number)
        for field, value in (("id", row["id"]), ("repo", row["repo"]), ("path", row["path"]),
                             ("license", row["license"] or ""), ("content", content),
                             ("parts", content), ("symbols", definitions(content))):
            doc.add_text(field, value)
        writer.add_document(doc)
        ngrams = stored_ngrams(content, NGRAM_CHARS, STRIDE)
        if ngrams:
            hashes.append(ngram_hashes(ngrams)[:, 0])
            records.append(np.full(len(ngrams), number, dtype="<u4"))
            offsets.append(np.arange(0, len(ngrams) * STRIDE, STRIDE, dtype="<u4"))
        count = number + 1
    writer.commit()
    writer.wait_merging_threads()
    table = np.empty(sum(map(len, hashes)), dtype=NGRAM_DTYPE)
    if hashes:
        order = np.argsort(np.concatenate(hashes), kind="stable")
        for name, parts in (("hash", hashes), ("record", records), ("offset", offsets)):
            table[name] = np.concatenate(parts)[order]
    np.save(pending / "ngrams.npy", table)
    index_bytes = sum(path.stat().st_size for path in pending.rglob("*") if path.is_file())
    shard_bytes = sum(shard["bytes"] for shard in manifest["shards"])
    header = {
        "release": release.name, "manifest_sha256": file_sha256(manifest_path),
        "records": count, "content_bytes": content_bytes, "ngrams": len(table),
        "ngram_chars": NGRAM_CHARS, "stride": STRIDE,
        "hash": "first little-endian uint64 of xxh3_128(utf-8 n-gram)",
        "tokenizers": {"content": IDENTIFIER_PATTERN, "parts": PART_PATTERN,
                       "max_token_bytes": MAX_TOKEN_BYTES},
        "engine": f"tantivy (tantivy-py {version('tantivy')})",
        "index_bytes": index_bytes, "ngrams_bytes": (pending / "ngrams.npy").stat().st_size,
        "release_shard_bytes": shard_bytes,
        "fraction_of_shard_bytes": index_bytes / shard_bytes if shard_bytes else 0.0,
        "seconds": round(time.perf_counter() - started, 3),
    }
    (pending / "index.json").write_text(json.dumps(header, indent=2, sort_keys=True) + "\n",
                                        encoding="utf-8")
    shutil.rmtree(release / INDEX_DIR, ignore_errors=True)
    pending.rename(release / INDEX_DIR)
    return header


def _strides_within(first: int, last: int) -> int:
    """How many multiples of :data:`STRIDE` lie in ``[first, last]``: the stored n-grams that
    a place starting at ``first`` spans, ``last`` the offset of its last window."""
    return last // STRIDE - -(-first // STRIDE) + 1


# --- results -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a result: its number (from 1) and its text as (piece, marked) pairs."""

    number: int
    pieces: tuple[tuple[str, bool], ...]


@dataclasses.dataclass(frozen=True)
class Hit:
    """A record that matches: where it comes from and its matching lines."""

    record: int
    id: str
    repo: str
    path: str
    license: str
    score: float | None  # BM25 in ranked mode; None for an exact place
    lines: tuple[Line, ...]
    more_lines: int  # matching lines not shown (over MAX_LINES)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The hits of a query, best first; ``total`` counts the places (exact) or the matching
    records (ranked), shown or not."""

    mode: Literal["exact", "ranked"]
    hits: list[Hit]
    total: int


def marked_lines(content: str, spans: list[tuple[int, int]]) -> tuple[tuple[Line, ...], int]:
    """The lines of ``content`` that the character ``spans`` touch, with the spans marked:
    the first :data:`MAX_LINES` of them and how many more there are."""
    if not spans:
        return (), 0
    starts = np.array([0] + [match.end() for match in re.finditer("\n", content)])
    ends = np.append(starts[1:] - 1, len(content))  # each line's end, before its newline
    bounds = np.array(sorted(spans))
    firsts = np.searchsorted(starts, bounds[:, 0], side="right") - 1
    lasts = np.searchsorted(starts, np.maximum(bounds[:, 0], bounds[:, 1] - 1), side="right") - 1
    touched = np.zeros(len(starts) + 1, dtype=np.int64)  # +1 at a span's first line, -1 after
    np.add.at(touched, firsts, 1)
    np.add.at(touched, lasts + 1, -1)
    numbers = np.flatnonzero(np.cumsum(touched)[:-1] > 0)
    shown = numbers[:MAX_LINES]
    near = (firsts <= shown[-1]) & (lasts >= shown[0])
    lines = []
    for number in shown.tolist():
        pieces, at, line_end = [], int(starts[number]), int(ends[number])
        for begin, end in bounds[near].tolist():
            begin, end = max(begin, at), min(end, line_end)
            if end <= begin:  # another line's, or within the previous span
                continue
            if begin > at:
                pieces.append((content[at:begin], False))
            pieces.append((content[begin:end], True))
            at = end
        if at < line_end:
            pieces.append((content[at:line_end].rstrip("\r"), False))
        lines.append(Line(number + 1, tuple(pieces)))
    return tuple(lines), len(numbers) - len(shown)


def query_identifiers(text: str) -> list[str]:
    """The identifiers of a ranked query, as typed (their case splits their parts): its first
    :data:`MAX_QUERY_WORDS` runs of ``\\w`` that the index keeps (under
    :data:`MAX_TOKEN_BYTES` of UTF-8, as tantivy counts)."""
    return [word for word in re.findall(IDENTIFIER_PATTERN, text)
            if len(word.encode("utf-8", "surrogatepass")) < MAX_TOKEN_BYTES][:MAX_QUERY_WORDS]


def _term_pattern(identifier: str) -> re.Pattern[str]:
    """``identifier`` (a query identifier) as its parts in order, lower-case, with ``_`` or
    ``-`` allowed between them: searched in lower-cased content (:func:`term_spans`)."""
    parts = PARTS.analyze(identifier) or IDENTIFIERS.analyze(identifier)
    return re.compile("[_-]?".join(map(re.escape, parts)))


def _part_edge(before: str, after: str) -> bool:
    """Whether a part of an identifier may end and another start between the characters
    ``before`` and ``after`` (each "" at an end): where either is not a letter or digit, or a
    lower-case or digit run meets upper case (camelCase)."""
    return (not (before.isalnum() and after.isalnum())
            or ((before.islower() or before.isdigit()) and after.isupper()))


def term_spans(content: str, patterns: list[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Where ``patterns`` (of :func:`_term_pattern`) occur in ``content`` in any case, starting
    and ending on the edges of identifier parts, as the index splits them: what a ranked result
    marks. Matched in ``content.lower()`` (one pass, no case-insensitive regex) unless
    lower-casing changes its length (as it does for "İ")."""
    lowered = content.lower()
    same = len(lowered) == len(content)
    spans = []
    for pattern in patterns:
        matches = (pattern.finditer(lowered) if same
                   else re.compile(pattern.pattern, re.IGNORECASE).finditer(content))
        for match in matches:
            start, end = match.span()
            if end > start and _part_edge(content[start - 1:start], content[start]) \
                    and _part_edge(content[end - 1], content[end:end + 1]):
                spans.append((start, end))
    return spans


# --- querying ----------------------------------------------------------------------------------

class ReleaseSearch:
    """The search index of one release, opened for queries."""

    def __init__(self, release_dir: Path):
        self.release = resolve_release(release_dir)
        header_path = self.release / HEADER_FILE
        if not header_path.is_file():
            raise NoSearchIndex(
                f"{self.release} has no search index ({HEADER_FILE}): build it with "
                f"curate search index {release_dir}")
        self.header = json.loads(header_path.read_text(encoding="utf-8"))
        if self.header["manifest_sha256"] != file_sha256(self.release / "manifest.json"):
            raise NoSearchIndex(
                f"the search index of {self.release} was built for another state of its "
                f"manifest: rebuild it with curate search index {release_dir}")
        self.index = _open_text_index(self.release / TEXT_DIR)
        self.searcher = self.index.searcher()
        self.ngrams = np.load(self.release / NGRAMS_FILE, mmap_mode="r")
        self.hashes = self.ngrams["hash"]

    def search(self, text: str, top: int = 10) -> SearchResult:
        """Exact mode for a snippet of :data:`NGRAM_CHARS` characters or more that the
        release holds, also with CRLF line ends (a browser's textarea sends them); ranked
        mode otherwise."""
        if len(text) >= NGRAM_CHARS:
            variants = [text] + ([text.replace("\n", "\r\n")] if "\n" in text
                                 and "\r\n" not in text else [])
            for variant in variants:
                result = self.exact(variant, top)
                if result.total:
                    return result
        return self.ranked(text, top)

    # exact mode

    def places(self, text: str) -> list[tuple[int, int]]:
        """(record, character offset) of every place the index says ``text`` (at least
        :data:`NGRAM_CHARS` characters) lies, by record and offset: each stored n-gram the
        place spans was found. Unconfirmed (a 64-bit hash may collide)."""
        query = ngram_hashes(stored_ngrams(text, NGRAM_CHARS, 1))[:, 0]
        lows = np.searchsorted(self.hashes, query, side="left")
        highs = np.searchsorted(self.hashes, query, side="right")
        found: dict[tuple[int, int], int] = {}
        for window in np.flatnonzero(highs > lows).tolist():  # the windows found
            rows = self.ngrams[lows[window]:highs[window]]
            for record, offset in zip(rows["record"].tolist(), rows["offset"].tolist()):
                if offset >= window:
                    key = (record, offset - window)
                    found[key] = found.get(key, 0) + 1
        last = len(text) - NGRAM_CHARS  # the last window's offset in the snippet
        return sorted(key for key, hits in found.items()
                      if hits == _strides_within(key[1], key[1] + last))

    def exact(self, text: str, top: int = 10) -> SearchResult:
        """The places of ``text``, confirmed in the records' content: the first ``top``
        records (in release order) with every place in them marked; ``total`` counts all
        confirmed places."""
        by_record: dict[int, list[int]] = {}
        for record, offset in self.places(text):
            by_record.setdefault(record, []).append(offset)
        hits, total = [], 0
        for record, offsets in by_record.items():
            doc = self._document(record)
            content = doc.get_first("content") or ""
            confirmed = [offset for offset in offsets if content.startswith(text, offset)]
            total += len(confirmed)
            if confirmed and len(hits) < top:
                hits.append(self._hit(doc, None, [(offset, offset + len(text))
                                                  for offset in confirmed]))
        return SearchResult("exact", hits, total)

    def _document(self, record: int) -> tantivy.Document:
        found = self.searcher.search(tantivy.Query.term_query(SCHEMA, "record", record), 1)
        return self.searcher.doc(found.hits[0][1])

    # ranked mode

    def ranked_query(self, text: str) -> tantivy.Query | None:
        """The BM25 query of ``text`` (the module's ranked mode); None when it holds no
        identifier."""
        words = query_identifiers(text)
        if not words:
            return None
        should, must = tantivy.Occur.Should, tantivy.Occur.Must
        clauses = []
        for identifier in dict.fromkeys(words):
            term = IDENTIFIERS.analyze(identifier)
            parts = PARTS.analyze(identifier) or term
            fields = [("content", term), ("symbols", IDENTIFIERS.analyze(symbol_key(identifier))),
                      ("parts", parts), ("path", parts)]
            options = [(should, self._boosted(field, terms)) for field, terms in fields if terms]
            if options:
                clauses.append((must, tantivy.Query.boolean_query(options)))
        if not clauses:
            return None
        parts = [part for word in words for part in PARTS.analyze(word)]
        if len(parts) > 1:
            clauses.append((should, tantivy.Query.boost_query(
                tantivy.Query.phrase_query(SCHEMA, "parts", parts), BOOSTS["phrase"])))
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def _boosted(field: str, words: list[str]) -> tantivy.Query:
        query = (tantivy.Query.term_query(SCHEMA, field, words[0]) if len(words) == 1
                 else tantivy.Query.phrase_query(SCHEMA, field, words))
        return tantivy.Query.boost_query(query, BOOSTS[field])

    def ranked(self, text: str, top: int = 10) -> SearchResult:
        """The ``top`` records that best match the identifiers of ``text`` (BM25), each with
        the lines where they occur."""
        query = self.ranked_query(text)
        if query is None:
            return SearchResult("ranked", [], 0)
        found = self.searcher.search(query, top, count=True)
        patterns = [_term_pattern(identifier) for identifier
                    in dict.fromkeys(query_identifiers(text))]
        hits = []
        for score, address in found.hits:
            doc = self.searcher.doc(address)
            content = doc.get_first("content") or ""
            hits.append(self._hit(doc, score, term_spans(content, patterns)))
        return SearchResult("ranked", hits, found.count)

    @staticmethod
    def _hit(doc: tantivy.Document, score: float | None, spans: list[tuple[int, int]]) -> Hit:
        lines, more = marked_lines(doc.get_first("content") or "", spans)
        return Hit(record=doc.get_first("record"), id=doc.get_first("id"),
                   repo=doc.get_first("repo"), path=doc.get_first("path"),
                   license=doc.get_first("license") or "", score=score, lines=lines,
                   more_lines=more)


def has_index(release_dir: Path) -> bool:
    """Whether the release that ``release_dir`` names has a search index."""
    try:
        return (resolve_release(release_dir) / HEADER_FILE).is_file()
    except OSError:
        return False


# --- terminal output ---------------------------------------------------------------------------

def format_result(result: SearchResult, tty: bool) -> str:
    """``result`` as text: a header per hit (repository, path, licence, record id), then its
    lines numbered, matches in bold red on a terminal, between « and » otherwise."""
    mark = ("\x1b[1;31m", "\x1b[0m") if tty else ("«", "»")
    noun = "place" if result.mode == "exact" else "file"
    out = [f"{result.total} {noun}{'s' if result.total != 1 else ''} ({result.mode} mode); "
           f"showing {len(result.hits)}"]
    for rank, hit in enumerate(result.hits, 1):
        score = f"  score {hit.score:.2f}" if hit.score is not None else ""
        out.append(f"\n{rank}. {hit.repo}  {hit.path}  licence {hit.license or 'unknown'}"
                   f"{score}\n   record {hit.id}")
        for line in hit.lines:
            text = "".join(f"{mark[0]}{piece}{mark[1]}" if marked else piece
                           for piece, marked in line.pieces)
            out.append(f"   {line.number:>6}: {text}")
        if hit.more_lines:
            out.append(f"   ... {hit.more_lines} more matching line(s)")
    return "\n".join(out)

"""Presidio's analyzer set up for code: a model-free NLP engine, this package's recognizers,
an optional NER recognizer primed in batches, and the policy over every span.

Presidio needs an NLP engine for tokens and lemmas (its context enhancer reads them). spaCy's
blank English tokenizer needs no model but measured here 2.1 s per MB of code (1 MB of the demo
release, one thread): slower than all recognizers together. :class:`CodeNlpEngine` tokenizes
with one regex instead, and only when something reads the tokens: none of this package's
recognizers does (they read the text around a match themselves), so by default the cost is nil.
No spaCy pipeline runs, so spaCy's ``max_length`` (1,000,000 characters) limits no text.
"""
from __future__ import annotations

import collections
import dataclasses
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import regex
from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc
from spacy.vocab import Vocab

from pii import policy
from pii.entities import ENTITIES, KEY, PASSWORD, USERNAME, Span, resolve_overlaps
from pii.cues import model_span_has_cue
from pii.recognizers import pattern_recognizers
from pii.regions import (RegionIndex, escape_safe, has_lexer, model_snippets, pod_escape_trimmed,
                         text_regions)

LANGUAGE = "en"  # the recognizers' language tag; code is scanned the same in every language
# Words of code and prose: identifiers (with their underscores), numbers, or one symbol.
_TOKEN = regex.compile(r"\w+|[^\w\s]")


class LazyNlpArtifacts(NlpArtifacts):
    """NlpArtifacts whose tokens, lemmas and keywords are computed on first use.

    NlpArtifacts' own constructor fills them eagerly; this one defers that work (and so does
    not call it) because the analyzer builds artifacts for every text while, with this
    package's recognizers, nothing reads them.
    """

    def __init__(self, text: str, nlp_engine: CodeNlpEngine, language: str) -> None:
        self.text = text
        self.nlp_engine = nlp_engine
        self.language = language
        self.entities: list = []
        self.scores: list[float] = []
        self._parsed: tuple[Doc, list[int], list[str], list[str]] | None = None

    def _parse(self) -> tuple[Doc, list[int], list[str], list[str]]:
        if self._parsed is None:
            matches = list(_TOKEN.finditer(self.text))
            words = [m.group() for m in matches]
            lemmas = [w.lower() for w in words]
            tokens = Doc(self.nlp_engine.vocab, words=words)
            keywords = NlpArtifacts.set_keywords(self.nlp_engine, lemmas, self.language)
            self._parsed = (tokens, [m.start() for m in matches], lemmas, keywords)
        return self._parsed

    @property
    def tokens(self) -> Doc:
        return self._parse()[0]

    @property
    def tokens_indices(self) -> list[int]:
        return self._parse()[1]

    @property
    def lemmas(self) -> list[str]:
        return self._parse()[2]

    @property
    def keywords(self) -> list[str]:
        return self._parse()[3]

    def to_json(self) -> str:
        """The JSON of NlpArtifacts (tokens, lemmas, ...), for Presidio's decision log."""
        return NlpArtifacts(self.entities, self.tokens, self.tokens_indices, self.lemmas,
                            self.nlp_engine, self.language, self.scores).to_json()


class CodeNlpEngine(NlpEngine):
    """A Presidio NLP engine with no model: regex tokens, lower-cased lemmas, spaCy's English
    stop-word list (a plain list in spaCy, no model) and Unicode punctuation classes."""

    def __init__(self, languages: Sequence[str] = (LANGUAGE,)) -> None:
        self.languages = list(languages)
        self.vocab = Vocab()

    def load(self) -> None:
        """Nothing to load."""

    def is_loaded(self) -> bool:
        return True

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if language not in self.languages:
            raise ValueError(f"language {language!r} not supported; supported: {self.languages}")
        return LazyNlpArtifacts(text, self, language)

    def process_batch(self, texts: Iterable[str], language: str, batch_size: int = 1,
                      n_process: int = 1, **kwargs: Any) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in STOP_WORDS

    def is_punct(self, word: str, language: str) -> bool:
        return bool(word) and all(unicodedata.category(c).startswith("P") for c in word)

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return list(self.languages)


class ContextEnhancer(LemmaContextAwareEnhancer):
    """Presidio's context enhancer, skipped when neither the call nor a recognizer has context
    words (none of this package's recognizers has): it deep-copies every result first."""

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult],
                              nlp_artifacts: NlpArtifacts, recognizers: list[EntityRecognizer],
                              context: list[str] | None = None) -> list[RecognizerResult]:
        if not context and not any(recognizer.context for recognizer in recognizers):
            return raw_results
        return super().enhance_using_context(text, raw_results, nlp_artifacts, recognizers,
                                             context)


def build_analyzer(extra_recognizers: Sequence[EntityRecognizer] = ()) -> AnalyzerEngine:
    """An AnalyzerEngine with the code NLP engine, every pattern recognizer of
    :mod:`pii.recognizers` and ``extra_recognizers`` (e.g. the NER model)."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in [*pattern_recognizers(), *extra_recognizers]:
        if not isinstance(recognizer, EntityRecognizer):
            raise TypeError(f"not a Presidio EntityRecognizer: {recognizer!r}")
        if recognizer.supported_language != LANGUAGE:
            raise ValueError(f"recognizer {recognizer.name} is for language "
                             f"{recognizer.supported_language!r}; the engine runs {LANGUAGE!r}")
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=CodeNlpEngine(),
                          supported_languages=[LANGUAGE], context_aware_enhancer=ContextEnhancer())


def _to_span(result: RecognizerResult, default_detector: str = "") -> Span:
    metadata = result.recognition_metadata or {}
    return Span(result.start, result.end, result.entity_type, float(result.score),
                str(metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY, default_detector)))


# The model's own spans of these entities count from this probability up (others from min_score).
# Measured 2026-11-27 with the model of then: on 300 real files of the demo corpus (which holds
# almost no passwords, keys or handles outside what the patterns find) model-only USERNAME spans
# fall from 189 to 55, PASSWORD from 29 to 9, KEY from 9 to 6 between 0.5 and 0.8. With the model
# of 2026-12-06, exact F1 on the validation split moves by at most 0.006 between 0.5 and 0.8 (KEY
# 0.964 -> 0.967, PASSWORD 0.943 -> 0.939, USERNAME 0.958 -> 0.952), so 0.8 stays.
NER_MIN_SCORE = {USERNAME: 0.8, PASSWORD: 0.8, KEY: 0.8}
# The model's own spans of these entities count only in prose (a language without a lexer:
# Markdown, reStructuredText, plain text), not in a source file's comments and strings. In four
# blind reviews of real builds its handles in source files were right 6 of 100 times (1/12,
# 0/38, 4/16, 1/34: kernel-doc "@field" names, words after "user", constants), its keys 3 of 59
# (0/2, 0/2, 0/16, 3/39: option names, C constants, class names). On the validation split
# (keys and handles in code that the patterns miss, which real code rarely has) handles keep
# recall 0.826 this way (0.850 everywhere, 0.812 never) and keys F1 0.884 (0.967, 0.857).
PROSE_ONLY_MODEL_ENTITIES = frozenset({USERNAME, KEY})

# Characters of one snippet the model reads (pii/regions.py: whole lines, cut at line breaks).
# 1,024 characters are about 260 tokens of the shipped tokenizer (3.9 characters a token on the
# demo release), so a snippet fits one 512-token window and no token is encoded twice.
SNIPPET_CHARS = 1024


class PiiDetector:
    """Spans of PII in texts: Presidio with this package's recognizers and an optional NER
    recognizer, every span checked against the policy, overlaps resolved.

    A cascade: the pattern recognizers read every text; the NER recognizer reads only the lines
    that hold comments, string literals or prose (:mod:`pii.regions`), batched across texts.
    For a language with a lexer every span, whoever found it, must lie inside one comment or
    one literal's contents, so no identifier, keyword or number is ever redacted.

    The NER recognizer is a Presidio EntityRecognizer (it works in any AnalyzerEngine), but here
    its results join the pattern results after Presidio's analysis, not inside it: Presidio
    drops a result contained in a same-entity result of higher score, which would let a model
    span with learned (possibly wrong) edges remove a validated pattern match inside it.
    ``select_lines=False`` lets the model read every line (the benchmark's comparison).
    ``counters`` adds up, over every call, the characters scanned and read by the model and the
    PII-looking spans dropped for lying in code.
    """

    def __init__(self, ner: EntityRecognizer | None = None,
                 # 0.5: keeps every pattern match (the lowest pattern score is 0.6) and a
                 # model's span when its probability says entity more likely than not.
                 min_score: float = 0.5, snippet_chars: int = SNIPPET_CHARS,
                 select_lines: bool = True) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be within [0, 1], got {min_score}")
        self.ner = ner
        self.min_score = min_score
        self.snippet_chars = snippet_chars
        self.select_lines = select_lines
        self.analyzer = build_analyzer()
        supported = set(self.analyzer.get_supported_entities(LANGUAGE))
        if ner is not None:
            supported |= set(ner.supported_entities)
        self.entities = [e for e in ENTITIES if e in supported]
        self.counters: collections.Counter[str] = collections.Counter()

    def detect(self, texts: Sequence[str],
               languages: Sequence[str | None] | None = None) -> list[list[Span]]:
        """For each text, its PII spans, sorted. ``languages`` names each text's language
        (pipeline/ingest/languages.py; None or a language without a lexer: the whole text is
        prose). The NER recognizer (if any) is primed once with the snippets of all texts."""
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] is a {type(text).__name__}, not a str")
        languages = [None] * len(texts) if languages is None else list(languages)
        if len(languages) != len(texts):
            raise ValueError(f"{len(languages)} languages for {len(texts)} texts")
        regions = [text_regions(text, language) for text, language in zip(texts, languages)]
        learned = self._model_spans(texts, regions)
        self.counters["texts"] += len(texts)
        self.counters["chars"] += sum(map(len, texts))
        return [self._detect_one(*args) for args in zip(texts, languages, regions, learned)]

    def _model_spans(self, texts: list[str], regions: list[list[tuple[int, int]]]
                     ) -> list[list[Span]]:
        """The NER recognizer's spans of every text, found in the snippets it reads."""
        found: list[list[Span]] = [[] for _ in texts]
        if self.ner is None:
            return found
        snippets = [(doc, start, end) for doc, (text, doc_regions) in enumerate(zip(texts, regions))
                    for start, end in model_snippets(text, doc_regions, self.snippet_chars,
                                                     self.select_lines)]
        pieces = [texts[doc][start:end] for doc, start, end in snippets]
        self.counters["model_chars"] += sum(map(len, pieces))
        prime = getattr(self.ner, "prime", None)
        if callable(prime):
            prime(pieces)
        for (doc, start, _), piece in zip(snippets, pieces):
            for result in self.ner.analyze(piece, self.entities, None):
                span = _to_span(result, self.ner.name)
                found[doc].append(dataclasses.replace(span, start=span.start + start,
                                                      end=span.end + start))
        return found

    def _valid(self, spans: Iterable[Span], text: str, language: str | None,
               regions: list[tuple[int, int]]) -> list[Span]:
        """The spans of ``spans`` that the policy calls PII and that one region holds (narrowed
        off Perl POD's escapes, and off escapes in a language with a lexer); ``counters``
        counts, per label, the PII spans dropped for sitting in code (``in_code_<LABEL>``)."""
        code = has_lexer(language)
        index = RegionIndex(regions)
        valid = []
        for span in spans:
            if span.score < self.min_score:
                continue
            start, end = pod_escape_trimmed(text, span.start, span.end)
            if start >= end:
                continue
            span = dataclasses.replace(span, start=start, end=end)
            if code:
                start, end = escape_safe(text, span.start, span.end)
                if start >= end:
                    continue
                span = dataclasses.replace(span, start=start, end=end)
            if not policy.is_pii(span.label, text, span.start, span.end):
                continue
            if code and not index.holds(span.start, span.end):
                self.counters[f"in_code_{span.label}"] += 1
                continue
            valid.append(span)
        return valid

    def _detect_one(self, text: str, language: str | None, regions: list[tuple[int, int]],
                    learned: list[Span]) -> list[Span]:
        if not text:
            return []
        patterns = self._valid((_to_span(r) for r in self.analyzer.analyze(
            text=text, language=LANGUAGE, entities=self.entities,
            score_threshold=self.min_score)), text, language, regions)
        learned = self._valid(learned, text, language, regions)
        # A validated pattern knows the exact extent of what it matched; the model's edges are
        # learned. So patterns are resolved first and the model adds what they do not cover.
        chosen = resolve_overlaps(patterns)
        prose = not has_lexer(language)
        learned = [s for s in learned if s.score >= NER_MIN_SCORE.get(s.label, self.min_score)
                   and (prose or s.label not in PROSE_ONLY_MODEL_ENTITIES)
                   and model_span_has_cue(s, text) and not any(s.overlaps(kept) for kept in chosen)]
        return sorted(chosen + resolve_overlaps(learned))

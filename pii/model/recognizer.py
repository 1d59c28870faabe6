"""The NER encoder as a Presidio recognizer that runs batched, not one text at a time.

Presidio's analyzer calls ``analyze`` once per text. ``prime(texts)`` first predicts ALL texts in one
batched ``NerModel.predict`` call and keeps each text's spans until ``analyze`` takes them. An entry
is dropped once used, and a new ``prime`` drops what the last batch left (texts the caller never
analysed, e.g. empty ones), so the cache holds at most one batch. A text that was not primed is
predicted on its own.
"""
from __future__ import annotations

from collections.abc import Sequence

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from pii.entities import Span
from pii.model.inference import BATCH_SIZE, NerModel

NAME = "NerRecognizer"


class NerRecognizer(EntityRecognizer):
    """Presidio recognizer over a NerModel, primed with a batch of texts before analysis."""

    def __init__(self, model: NerModel, supported_language: str = "en",
                 batch_size: int = BATCH_SIZE, name: str = NAME) -> None:
        self.model = model
        self.batch_size = batch_size
        self._primed: dict[str, list[list[Span]]] = {}  # text -> spans, one entry per primed copy
        super().__init__(supported_entities=list(model.entities), name=name,
                         supported_language=supported_language)

    def load(self) -> None:
        """Nothing to load: the NerModel is loaded (and cached) by the caller."""

    def prime(self, texts: Sequence[str]) -> None:
        """Predict every text in one batched call and keep the spans for ``analyze``.

        Results of an earlier batch that were never taken are dropped.
        """
        texts = list(texts)
        self._primed.clear()
        for text, spans in zip(texts, self.model.predict(texts, batch_size=self.batch_size)):
            self._primed.setdefault(text, []).append(spans)

    def pending(self) -> int:
        """Number of primed results not yet taken by ``analyze``."""
        return sum(len(results) for results in self._primed.values())

    def clear(self) -> None:
        """Drop every primed result (e.g. after a batch was abandoned)."""
        self._primed.clear()

    def _take(self, text: str) -> list[Span]:
        results = self._primed.get(text)
        if not results:
            return self.model.predict([text], batch_size=self.batch_size)[0]
        spans = results.pop()
        if not results:
            del self._primed[text]
        return spans

    def analyze(self, text: str, entities: list[str] | None, nlp_artifacts=None) -> list[RecognizerResult]:
        """The NER spans of ``text`` among ``entities`` (all supported ones if empty) as results."""
        wanted = set(entities) if entities else set(self.supported_entities)
        return [self._result(span) for span in self._take(text) if span.label in wanted]

    def _result(self, span: Span) -> RecognizerResult:
        explanation = AnalysisExplanation(recognizer=self.name, original_score=span.score,
                                          textual_explanation=f"NER token classifier ({span.detector})")
        return RecognizerResult(entity_type=span.label, start=span.start, end=span.end,
                                score=span.score, analysis_explanation=explanation,
                                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                                                      RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})

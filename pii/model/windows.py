"""Overlapping token windows over long documents, and which window labels each token.

A document of n tokens is cut into windows of at most ``length`` tokens that start every
``length - overlap`` tokens; the last window is moved back to end at the document's end, so every
window but a short document's only one is full. Each token takes its label from the window in which
it is most central (farthest from both edges; the earlier window on ties), so every token whose
document is long enough sees at least ``overlap // 2`` tokens of context on each side.
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Window:
    """Tokens ``[start, end)`` of document ``doc``; ``owned`` marks the tokens it labels."""

    doc: int
    start: int
    end: int
    owned: np.ndarray  # bool, length end - start

    @property
    def length(self) -> int:
        """Number of tokens in the window (special tokens not counted)."""
        return self.end - self.start


def window_starts(n_tokens: int, length: int, overlap: int) -> list[int]:
    """Start of every window over ``n_tokens`` tokens (none for an empty document)."""
    if length <= 0 or not 0 <= overlap < length:
        raise ValueError(f"window length {length} and overlap {overlap}: need 0 <= overlap < length")
    if n_tokens == 0:
        return []
    last = max(n_tokens - length, 0)
    starts = list(range(0, last, length - overlap))
    return starts + [last]


def plan_windows(doc: int, n_tokens: int, length: int, overlap: int) -> list[Window]:
    """The windows over one document, each with the tokens it owns."""
    starts = window_starts(n_tokens, length, overlap)
    if len(starts) == 1:  # one window owns every token (most of the cascade's snippets)
        return [Window(doc, 0, n_tokens, np.ones(n_tokens, dtype=bool))]
    best = np.full(n_tokens, -1, dtype=np.int64)
    owner = np.zeros(n_tokens, dtype=np.int64)
    for index, start in enumerate(starts):
        end = min(start + length, n_tokens)
        position = np.arange(start, end)
        centrality = np.minimum(position - start, end - 1 - position)
        better = centrality > best[start:end]
        best[start:end][better] = centrality[better]
        owner[start:end][better] = index
    windows = []
    for index, start in enumerate(starts):
        end = min(start + length, n_tokens)
        windows.append(Window(doc, start, end, owner[start:end] == index))
    return windows

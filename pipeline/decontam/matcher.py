"""Every benchmark pattern found in a text in one pass: an Aho-Corasick automaton
(pyahocorasick, C) over the normalised patterns, searched in the normalised text, instead of
one substring search per pattern."""
from __future__ import annotations

from typing import Iterable

import ahocorasick

from pipeline.decontam.benchmarks import Pattern, normalise


class Matcher:
    """The patterns of some benchmarks, searched for at once."""

    def __init__(self, patterns: Iterable[Pattern]):
        by_text: dict[str, list[Pattern]] = {}
        for pattern in patterns:
            by_text.setdefault(pattern.text, []).append(pattern)
        self.automaton = ahocorasick.Automaton()
        for text, found in by_text.items():
            self.automaton.add_word(text, tuple(found))
        self.automaton.make_automaton()

    def find(self, content: str) -> list[Pattern]:
        """The patterns in ``content`` (normalised as they are), in the order their matches
        end; none for an automaton without patterns."""
        if not len(self.automaton):
            return []
        return [pattern for _, found in self.automaton.iter(normalise(content))
                for pattern in found]

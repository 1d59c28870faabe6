"""Benchmarks to decontaminate against: read from a package's data file or a local JSONL, and
turned into normalised patterns, each traced back to its benchmark, task and field.

A benchmark file is JSONL (gzip-compressed or not), one task a line: ``task_id`` and any of
``prompt`` (HumanEval: its docstring is matched), ``canonical_solution`` (HumanEval), ``text``
and ``code`` (MBPP). Solutions shorter than ``min_solution_lines`` non-blank lines are trivial
and not matched (:class:`pipeline.config.DecontaminationConfig`). Nothing is ever downloaded:
a source is a path or ``package:MODULE/PATH``, a file an installed package ships.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any, Iterator

from pipeline.config import DecontaminationConfig

PACKAGE_PREFIX = "package:"
SOLUTION_FIELDS = ("canonical_solution", "code")
FIELDS = ("prompt", "canonical_solution", "text", "code")
_DOCSTRING = re.compile(r'("""|\'\'\')(.*?)\1', re.DOTALL)


def normalise(text: str) -> str:
    """Lower case, double quotes as single ones (a docstring's triple double quotes read as
    triple single quotes) and every run of whitespace as one space, trimmed: patterns and
    texts alike."""
    return " ".join(text.lower().replace('"', "'").split())


def docstring(prompt: str) -> str:
    """The last triple-quoted string of ``prompt`` (a HumanEval prompt's function docstring,
    after any helper's), else the whole prompt; bigcode-dataset's extract_docstring takes the
    same one from prompts with one or two docstrings."""
    found = _DOCSTRING.findall(prompt)
    return found[-1][1] if found else prompt


@dataclasses.dataclass(frozen=True)
class Pattern:
    """A normalised benchmark text and where it comes from."""

    text: str
    benchmark: str
    task_id: str
    field: str


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmark's patterns and what the manifest records about its data."""

    name: str
    source: str
    sha256: str  # of the file's bytes as read
    tasks: int
    patterns: tuple[Pattern, ...]
    trivial: int  # solutions left out as trivial

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": self.sha256, "tasks": self.tasks,
                "patterns": len(self.patterns), "trivial_solutions_ignored": self.trivial}


def _read_source(name: str, source: str) -> bytes:
    """The bytes of ``source``: a path or a package's file; one-line errors."""
    if source.startswith(PACKAGE_PREFIX):
        module, _, resource = source[len(PACKAGE_PREFIX):].partition("/")
        try:
            return importlib.resources.files(module).joinpath(resource).read_bytes()
        except ModuleNotFoundError as error:
            raise ValueError(f"benchmark {name}: package {module!r} is not installed, so "
                             f"{source} cannot be read; install it or name a JSONL file") from error
        except OSError as error:
            raise ValueError(f"benchmark {name}: package {module!r} ships no {resource!r} "
                             f"({error.strerror or error})") from error
    try:
        return Path(source).expanduser().read_bytes()
    except OSError as error:
        raise ValueError(f"benchmark {name}: cannot read {source} "
                         f"({error.strerror or error})") from error


def _tasks(name: str, source: str, data: bytes) -> Iterator[dict[str, Any]]:
    """The tasks of a JSONL file's bytes (gzip or plain), each checked."""
    try:
        text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise ValueError(f"benchmark {name}: {source} is not UTF-8 JSONL, plain or gzip "
                         f"({error})") from error
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"benchmark {name}: {source} line {number}"
        try:
            task = json.loads(line)
        except ValueError as error:
            raise ValueError(f"{where}: not JSON ({error})") from error
        if not isinstance(task, dict) or "task_id" not in task:
            raise ValueError(f"{where}: not an object with a task_id")
        if not any(isinstance(task.get(field), str) for field in FIELDS):
            raise ValueError(f"{where}: no text field (one of {', '.join(FIELDS)})")
        yield task


def load_benchmark(name: str, source: str, min_solution_lines: int) -> Benchmark:
    """The patterns of benchmark ``name`` read from ``source``."""
    data = _read_source(name, source)
    patterns: dict[tuple[str, str], Pattern] = {}  # one per (text, field): repeats add nothing
    tasks = trivial = 0
    for task in _tasks(name, source, data):
        tasks += 1
        for field in FIELDS:
            value = task.get(field)
            if not isinstance(value, str):
                continue
            if field in SOLUTION_FIELDS and sum(
                    1 for line in value.splitlines() if line.strip()) < min_solution_lines:
                trivial += 1
                continue
            text = normalise(docstring(value) if field == "prompt" else value)
            if text:
                patterns.setdefault((text, field), Pattern(text, name, str(task["task_id"]), field))
    if not tasks:
        raise ValueError(f"benchmark {name}: {source} holds no task")
    return Benchmark(name, source, hashlib.sha256(data).hexdigest(), tasks,
                     tuple(patterns.values()), trivial)


def load_benchmarks(config: DecontaminationConfig) -> tuple[Benchmark, ...]:
    """The configured benchmarks, in name order."""
    for name, source in config.benchmarks.items():
        if not isinstance(source, str) or not source:
            raise ValueError(f"benchmark {name}: its source must be a path or "
                             f"{PACKAGE_PREFIX}MODULE/PATH, not {source!r}")
    return tuple(load_benchmark(name, source, config.min_solution_lines)
                 for name, source in sorted(config.benchmarks.items()))

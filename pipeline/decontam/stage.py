"""The build's decontamination stage: files that hold a benchmark's prompt or solution out.

It runs after near dedup, on the files that are left. A match is exact and case-insensitive
on texts normalised alike (:func:`pipeline.decontam.benchmarks.normalise`), BigCode's
substring rule (bigcode-dataset decontamination/find_substrings.py) with whitespace and quotes
normalised. The benchmarks are read once, when the stage is built from the config (on the
driver); their description (source, sha256, tasks, patterns) is the stage's fingerprint, so a
changed benchmark file reruns the stage onwards. Each worker builds the automaton once, in
``setup``. ``curate decontaminate`` applies the same matcher to a published release.
"""
from __future__ import annotations

import collections
import json
import sys
from typing import Any, Iterable, Iterator

import pyarrow as pa

from pipeline.config import DecontaminationConfig
from pipeline.decontam.benchmarks import Benchmark, load_benchmarks
from pipeline.decontam.matcher import Matcher
from pipeline.reasons import Reason, exclude
from pipeline.schema import to_batch
from pipeline.stage import Stage


class DecontaminationStage(Stage):
    """Excludes records whose text holds a benchmark pattern (reason ``decontamination``)."""

    name = "decontam"
    config_sections = ("decontamination",)
    code = ("pipeline.decontam",)
    reasons = (Reason.DECONTAMINATION,)
    report_columns = ("repo", "details")

    def __init__(self, config: DecontaminationConfig):
        self.config = config
        self.benchmarks: tuple[Benchmark, ...] = (load_benchmarks(config) if config.enabled
                                                  else ())
        self.matcher: Matcher | None = None
        if config.enabled and not self.benchmarks:
            print("decontam: no benchmark configured ([decontamination] benchmarks): the stage "
                  "excludes nothing", file=sys.stderr)

    @property
    def enabled(self) -> bool:
        return bool(self.benchmarks)

    def fingerprint(self) -> dict[str, Any]:
        """Each benchmark's source, sha256, tasks and patterns."""
        return {benchmark.name: benchmark.describe() for benchmark in self.benchmarks}

    def setup(self, gpus: tuple[str, ...] = ()) -> None:
        if self.matcher is None:
            self.matcher = Matcher(pattern for benchmark in self.benchmarks
                                   for pattern in benchmark.patterns)

    def details(self, content: str | None) -> dict[str, Any] | None:
        """None for a text without a pattern (after ``setup``); else the exclusion's details:
        the benchmark, task and field of the match that ends first, and every benchmark
        matched."""
        found = self.matcher.find(content) if content else []
        if not found:
            return None
        return {"benchmark": found[0].benchmark, "task_id": found[0].task_id,
                "field": found[0].field, "benchmarks": sorted({p.benchmark for p in found})}

    def _marked(self, records: list[dict], found: list[dict[str, Any] | None]) -> list[dict]:
        return [record if details is None else
                exclude(record, Reason.DECONTAMINATION, self.name, **details)
                for record, details in zip(records, found)]

    def process(self, records: list[dict]) -> list[dict]:
        return self._marked(records, [self.details(record["content"]) for record in records])

    def process_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """A batch without a match passes as it is; the others with their matches marked."""
        for batch in batches:
            found = [self.details(content) for content in batch.column("content").to_pylist()]
            yield to_batch(self._marked(batch.to_pylist(), found)) if any(found) else batch

    def report(self, excluded: Iterable[dict]) -> dict[str, Any]:
        """Per configured benchmark: the files that matched it and their repositories."""
        repositories: dict[str, collections.Counter] = {
            benchmark.name: collections.Counter() for benchmark in self.benchmarks}
        for record in excluded:
            for benchmark in json.loads(record["details"])["benchmarks"]:
                repositories.setdefault(benchmark, collections.Counter())[record["repo"]] += 1
        return {name: {"files": sum(repos.values()), "repositories": dict(sorted(repos.items()))}
                for name, repos in sorted(repositories.items())}

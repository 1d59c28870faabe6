"""The stage contract: what every step of the build declares and does.

A stage declares what it needs from the engine (NeMo Curator's shape): its config sections,
how its input is partitioned (:class:`Partitioning`), the resources a task asks for
(:class:`Resources`), the reasons it can exclude a record for, and the code its output depends
on (its code version). It does its work as a pure function over kept records (``process``),
over Arrow batches
(``process_batches``, for stages that work on columns), or, for a step over the whole dataset,
over every kept record at once (``process_dataset``; on Spark such a step has an engine-native
implementation in ``jobs/``). The engines (:mod:`pipeline.runner` in one process,
``jobs/build.py`` on Spark) run the stages of :mod:`pipeline.plan` in order; the plan's release
steps (:class:`ReleaseStep`: the membership index, the near-copy signatures) then write files
beside the release's shards.

Stages never drop a record: an excluded record leaves a stage marked with its reason
(:func:`pipeline.reasons.exclude`), so ``kept + excluded = in`` holds for each of them.
Only records that are still kept (``reason`` null) enter a stage.
"""
from __future__ import annotations

import abc
import collections
import dataclasses
import enum
import hashlib
import importlib.util
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Self

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.config import BuildConfig
from pipeline.reasons import Reason, exclude
from pipeline.schema import to_batch


class Partitioning(str, enum.Enum):
    """How a stage's input reaches its tasks."""

    SOURCE = "source"  # the input manifest's repositories, one task each: a reader
    AS_IS = "as_is"  # kept records in the batches they come in
    BY_KEY = "by_key"  # every record of one ``key`` value in one task, sorted by (key, id)
    WHOLE_DATASET = "whole_dataset"  # every kept record at once (connected components, ...)


@dataclasses.dataclass(frozen=True)
class Resources:
    """What one task of a stage asks of a worker: CPU cores, GPUs (a share: 0.25 lets four
    tasks use one GPU) and records per call of ``process``."""

    cpus: int = 1
    gpus: float = 0.0
    batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.cpus < 1 or self.gpus < 0 or self.batch_size < 1:
            raise ValueError(f"bad resources {self}: cpus and batch_size >= 1, gpus >= 0")


class Configured:
    """Built from sections of the build config: a stage or a release step."""

    config_sections: ClassVar[tuple[str, ...]] = ()  # the BuildConfig fields it reads

    @classmethod
    def from_config(cls, config: BuildConfig) -> Self:
        """Built from its config sections (in the order of ``config_sections``)."""
        return cls(*(getattr(config, section) for section in cls.config_sections))


class Stage(Configured, abc.ABC):
    """A step of the build. Subclasses set the class attributes and implement the method
    their partitioning calls: ``process`` (or ``process_batches``) for SOURCE-less stages,
    ``read`` for a SOURCE, ``process_dataset`` for a WHOLE_DATASET step."""

    name: ClassVar[str]
    partitioning: ClassVar[Partitioning] = Partitioning.AS_IS
    key: ClassVar[str | None] = None  # the column of a BY_KEY stage
    reasons: ClassVar[tuple[Reason, ...]] = ()  # what it can exclude a record for
    # The code that decides the stage's output: modules or packages (every .py, .txt, .json
    # and .toml file under a package). Their digest is the stage's code version: a build
    # resumes a stage only when it, the config sections, the fingerprint and the upstream are
    # unchanged. Default: the module that defines the stage.
    code: ClassVar[tuple[str, ...]] = ()
    # The columns of its excluded records that ``report`` reads; none: no report.
    report_columns: ClassVar[tuple[str, ...]] = ()
    resources: Resources = Resources()

    @property
    def enabled(self) -> bool:
        """A disabled stage passes its input through unchanged (``[pii] enabled = false``)."""
        return True

    def fingerprint(self) -> dict[str, Any]:
        """What else the output depends on (model weights, a tool's version, the opt-out
        registry's state); keys the resume marker beside the config sections, and the release
        manifest records it (``fingerprints``). Default: nothing."""
        return {}

    def setup(self, gpus: tuple[str, ...] = ()) -> None:
        """Load heavy things once per task (an index, a model). ``gpus``: the addresses of
        the GPUs the engine gave this task (none on CPU). Default: nothing."""

    def process(self, records: list[dict]) -> list[dict]:
        """Return ``records`` in order, each either unchanged or marked excluded."""
        raise NotImplementedError(f"stage {self.name} does not process records one batch at "
                                  f"a time (partitioning: {self.partitioning.value})")

    def process_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Arrow in, Arrow out; by default ``process`` over chunks of ``batch_size`` records.
        A BY_KEY stage gets its batches sorted by (key, id), a key never split across tasks."""
        size = self.resources.batch_size
        for batch in batches:
            rows = batch.to_pylist()
            for start in range(0, len(rows), size):
                yield to_batch(self.process(rows[start:start + size]))

    def report(self, excluded: Iterable[dict]) -> dict[str, Any]:
        """What the release manifest records about the stage beside its counts (its entry
        in ``stages``), from the ``report_columns`` of the records it excluded, given in id
        order; a function of them only, so rebuilds give the same manifest."""
        raise NotImplementedError(f"stage {self.name} names no report_columns")

    def process_dataset(self, records: list[dict]) -> list[dict]:
        """A WHOLE_DATASET step over every kept record, in one process."""
        raise NotImplementedError(f"stage {self.name} is not a whole-dataset step")

    def code_version(self) -> str:
        """sha256 over the source files of ``code`` (relative paths and bytes)."""
        return source_digest(self.code or (type(self).__module__,))

    def describe(self) -> dict[str, Any]:
        """What ``curate stages`` prints about the stage."""
        return {"stage": self.name, "config": list(self.config_sections),
                "partitioning": self.partitioning.value + (f" ({self.key})" if self.key else ""),
                "cpus": self.resources.cpus, "gpus": self.resources.gpus,
                "batch_size": self.resources.batch_size, "enabled": self.enabled,
                "reasons": [reason.value for reason in self.reasons]}


class ReleaseStep(Configured, abc.ABC):
    """Files written beside a release's shards, such as an index over them: by the build once
    the shards are written, and again for every version ``curate optout apply`` publishes, so
    they always describe the version they lie in. A function of the shards and the config
    only, so a rebuild gives the same bytes."""

    name: ClassVar[str]  # also its key in the release manifest

    @abc.abstractmethod
    def write(self, release_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        """Write the step's files under ``release_dir`` from the kept shards that
        ``manifest["shards"]`` lists; returns what the manifest records under ``name``."""


class SourceStage(Stage):
    """The first stage: turns the input manifest's entries into records."""

    partitioning = Partitioning.SOURCE

    @abc.abstractmethod
    def read(self, entries: Iterable[dict]) -> Iterator[pa.RecordBatch]:
        """Records of the repositories ``entries`` (manifest lines as dicts), as batches."""


class RecordFilter(abc.ABC):
    """One quality rule: which records it looks at, what it measures, and its reason."""

    reason: Reason

    def applies_to(self, record: dict) -> bool:
        """Whether the rule looks at this record at all (default: every record)."""
        return True

    @abc.abstractmethod
    def violation(self, record: dict) -> dict | None:
        """None to keep; else the details (measured value, threshold) of the exclusion."""


class FilterStage(Stage):
    """Applies filters in order; the first one a record violates excludes it.

    A record that arrives already excluded leaves unchanged: its first reason stands.
    """

    def __init__(self, filters: list[RecordFilter]):
        self.filters = filters

    def process(self, records: list[dict]) -> list[dict]:
        out = []
        for record in records:
            if record.get("reason") is not None:
                out.append(record)
                continue
            for rule in self.filters:
                if rule.applies_to(record):
                    details = rule.violation(record)
                    if details is not None:
                        record = exclude(record, rule.reason, self.name, **details)
                        break
            out.append(record)
        return out


@dataclasses.dataclass
class StageCounters:
    """Counters a stage reports: records in, kept, excluded per reason, seconds, and the GPU
    addresses its tasks held (tasks per address)."""

    name: str
    records_in: int = 0
    kept: int = 0
    excluded: dict[str, int] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    gpu_tasks: dict[str, int] = dataclasses.field(default_factory=dict)

    def add_batch(self, batch: pa.RecordBatch) -> None:
        """Count one output batch of the stage."""
        reasons = batch.column(batch.schema.get_field_index("reason"))
        self.records_in += batch.num_rows
        self.kept += reasons.null_count  # a kept record has no reason
        if reasons.null_count < batch.num_rows:
            for item in pc.value_counts(reasons.drop_null()).to_pylist():
                self.excluded[item["values"]] = self.excluded.get(item["values"], 0) + item["counts"]

    def merge(self, other: StageCounters) -> None:
        self.records_in += other.records_in
        self.kept += other.kept
        for counts, more in ((self.excluded, other.excluded), (self.gpu_tasks, other.gpu_tasks)):
            for key, value in more.items():
                counts[key] = counts.get(key, 0) + value

    def to_dict(self) -> dict:
        out = {"stage": self.name, "in": self.records_in, "kept": self.kept,
               "excluded": dict(sorted(self.excluded.items())), "seconds": round(self.seconds, 3)}
        if self.gpu_tasks:
            out["gpu_tasks"] = dict(sorted(self.gpu_tasks.items()))
        return out

    @classmethod
    def from_dict(cls, data: dict) -> StageCounters:
        return cls(data["stage"], data["in"], data["kept"], dict(data["excluded"]),
                   data.get("seconds", 0.0), dict(data.get("gpu_tasks", {})))


def count_records(name: str, records: Iterable[dict], seconds: float = 0.0) -> StageCounters:
    """Counters of a stage from its output records."""
    reasons: collections.Counter[str] = collections.Counter()
    total = 0
    for record in records:
        total += 1
        if record["reason"] is not None:
            reasons[record["reason"]] += 1
    return StageCounters(name, total, total - sum(reasons.values()), dict(reasons), seconds)


_SOURCE_SUFFIXES = (".py", ".txt", ".json", ".toml")


def source_digest(modules: Iterable[str]) -> str:
    """sha256 over the files of ``modules`` (a module's file; a package's source and data
    files of the kinds in _SOURCE_SUFFIXES, caches left out), in a fixed order."""
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no module {name!r} to take a code version from")
        origin = Path(spec.origin)
        files = ([origin] if not spec.submodule_search_locations else sorted(
            path for path in origin.parent.rglob("*")
            if path.suffix in _SOURCE_SUFFIXES and "__pycache__" not in path.parts))
        for path in files:
            digest.update(f"{name}:{path.relative_to(origin.parent)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()

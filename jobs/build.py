"""The build job: manifest of repositories in, a release of Parquet shards out.

A generic executor of the build plan (:mod:`pipeline.plan`): each stage runs as its
partitioning asks (:class:`pipeline.stage.Partitioning`): the SOURCE stage one task per
repository, AS_IS stages over the kept records as they come, BY_KEY stages after a hash
repartition on their key (sorted by key and id within), WHOLE_DATASET steps through their
Spark-native implementation (:data:`WHOLE_DATASET_STEPS`). A stage that asks for GPUs runs
under a stage-level resource profile on a cluster; the others ask for none.

Each stage is persisted under ``OUT/work/NN-name/`` with a marker written last. The marker keys
on the stage's own config sections, its code version and fingerprint (model weights, ScanCode's
version, the opt-out registry's state; the manifest records each), the schema version and the
key of the stage before it (the input manifest's sha256 for the first): a rerun resumes every
stage whose key is unchanged, so a new ``[pii]`` reruns PII and the release only, a new
``[filters]`` the quality stage onwards. The release (shards,
``excluded/``, the plan's release steps' files (``membership/``, ``signatures/``, ``report.html``,
``README.md``), ``manifest.json``, ``CURRENT``) and the private ``OUT/private/authors/`` are written
on every run.

Runs as ``curate build`` or ``spark-submit jobs/build.py --repos M --out DIR``.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
from pyspark import AccumulatorParam, TaskContext
from pyspark.resource import ResourceProfileBuilder, TaskResourceRequests
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.near_dedup import near_dedup
from jobs.spark import get_spark, spark_ddl
from pipeline.config import BuildConfig, config_hash, config_to_dict, stable_hash
from pipeline.ingest.manifest import read_manifest
from pipeline.plan import BUILD_PLAN, release_steps_of, stages_of
from pipeline.schema import RECORD_SCHEMA, SCHEMA_VERSION, STAGE_SCHEMA
from pipeline.shards import (KEPT_ORDER, ShardInfo, switch_current, write_excluded_shards,
                             write_kept_shards, write_manifest, write_private_authors)
from pipeline.stage import Partitioning, SourceStage, Stage, StageCounters

MARKER = "_STAGE.json"
PROGRESS_SECONDS = 1.0  # how often a terminal sees a stage's progress

# The Spark-native implementation of each WHOLE_DATASET stage of the plan: kept records in,
# the same records kept or marked out.
WHOLE_DATASET_STEPS: dict[str, Callable[[DataFrame, Stage], DataFrame]] = {
    "near_dedup": lambda frame, stage: near_dedup(frame, stage.config, scope_column=stage.scope),
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- task functions (run on the workers) --------------------------------------------

class _CountersParam(AccumulatorParam):
    """Spark accumulator of :class:`StageCounters`, added up as tasks finish."""

    def zero(self, value: StageCounters) -> StageCounters:
        return StageCounters(value.name)

    def addInPlace(self, value1: StageCounters, value2: StageCounters) -> StageCounters:
        value1.merge(value2)
        return value1


def _task_gpus() -> tuple[str, ...]:
    """The GPU addresses Spark gave this task (none without a GPU resource profile)."""
    context = TaskContext.get()
    resource = context.resources().get("gpu") if context is not None else None
    return tuple(resource.addresses) if resource is not None else ()


def _counted(batches: Iterable[pa.RecordBatch], accumulator, name: str,
             gpus: tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    """``batches`` unchanged, counted into ``accumulator`` once the task's output is done."""
    counters = StageCounters(name, gpu_tasks={address: 1 for address in gpus})
    for batch in batches:
        counters.add_batch(batch)
        yield batch
    accumulator.add(counters)


def _stage_task(stage: Stage, accumulator) -> Callable:
    """A stage over one task's batches: the reader over manifest lines for a SOURCE stage,
    ``process_batches`` for the others, a pass-through when disabled or done by Spark."""
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        gpus = _task_gpus()
        if isinstance(stage, SourceStage):
            stage.setup(gpus)
            output = stage.read(json.loads(line) for batch in batches
                                for line in batch.column("entry").to_pylist())
        elif stage.enabled and stage.partitioning is not Partitioning.WHOLE_DATASET:
            stage.setup(gpus)
            output = stage.process_batches(batches)
        else:
            output = batches
        yield from _counted(output, accumulator, stage.name, gpus)
    return run


def _write_release_task(release_dir: str, config: BuildConfig, writer: Callable) -> Callable:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = (row for batch in batches for row in batch.to_pylist())
        infos = writer(rows, Path(release_dir), config.shards)
        yield pa.RecordBatch.from_pylist([dataclasses.asdict(i) for i in infos],
                                         schema=_SHARD_INFO_SCHEMA)
    return run


_SHARD_INFO_SCHEMA = pa.schema([("path", pa.string()), ("rows", pa.int64()),
                                ("bytes", pa.int64()), ("sha256", pa.string())])


class _Progress:
    """Tasks and records done of a running stage, on the terminal (quiet when stderr is not
    one): read from Spark's status tracker and the stage's accumulator."""

    def __init__(self, spark: SparkSession, group: str, label: str, accumulator) -> None:
        self.tracker = spark.sparkContext.statusTracker()
        self.group, self.label, self.accumulator = group, label, accumulator
        self.started = time.perf_counter()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        if self.thread.is_alive():
            self.thread.join()
            print("\r\033[K", end="", file=sys.stderr, flush=True)

    def _loop(self) -> None:
        while not self.done.wait(PROGRESS_SECONDS):
            finished = total = 0
            for job_id in self.tracker.getJobIdsForGroup(self.group):
                job = self.tracker.getJobInfo(job_id)
                for stage_id in job.stageIds if job else ():
                    info = self.tracker.getStageInfo(stage_id)
                    if info is not None:
                        finished += info.numCompletedTasks
                        total += info.numTasks
            records = self.accumulator.value.records_in
            seconds = time.perf_counter() - self.started
            print(f"\r\033[K{self.label}: {finished}/{total} tasks, {records:,} records, "
                  f"{records / seconds:,.0f} records/s", end="", file=sys.stderr, flush=True)


# --- the driver ---------------------------------------------------------------------

@dataclasses.dataclass
class BuildResult:
    release_dir: Path
    manifest: dict
    counters: list[StageCounters]
    resumed: list[str]


class Build:
    """One build of a manifest into ``out_dir`` on a Spark session, following ``plan``."""

    def __init__(self, spark: SparkSession, manifest_path: Path, out_dir: Path,
                 config: BuildConfig, plan: tuple[type[Stage], ...] = BUILD_PLAN):
        self.spark = spark
        self.entries = read_manifest(manifest_path)
        self.out_dir = out_dir
        self.work_dir = out_dir / "work"
        self.config = config
        self.stages = stages_of(config, plan)
        self.release_steps = release_steps_of(config)
        missing = [s.name for s in self.stages if s.partitioning is Partitioning.WHOLE_DATASET
                   and s.name not in WHOLE_DATASET_STEPS]
        if missing:
            raise ValueError(f"no Spark implementation of the whole-dataset stages {missing}")
        self.config_hash = config_hash(config)
        self.input_hash = hashlib.sha256(Path(manifest_path).read_bytes()).hexdigest()
        self.schema_ddl = spark_ddl(STAGE_SCHEMA)
        self.local = spark.sparkContext.master.startswith("local")
        self.steps = len(self.stages) + 1  # the stages and the release
        self.counters: list[StageCounters] = []
        self.resumed: list[str] = []
        self.fingerprints: dict[str, dict] = {}  # each stage's, for the manifest

    # persisted stages

    def _stage_dir(self, index: int) -> Path:
        return self.work_dir / f"{index + 1:02d}-{self.stages[index].name}"

    def _marker(self, index: int, upstream: str) -> dict:
        """What the stage's output depends on; its hash is the stage's key."""
        stage = self.stages[index]
        sections = config_to_dict(self.config)
        return {"stage": stage.name, "code": stage.code_version(), "schema_version": SCHEMA_VERSION,
                "config": {section: sections[section] for section in stage.config_sections},
                "fingerprint": stage.fingerprint(), "upstream": upstream}

    def _done_counters(self, index: int, key: str) -> StageCounters | None:
        """The counters a finished run of the stage recorded, when its key is ``key``."""
        marker = self._stage_dir(index) / MARKER
        if not marker.exists():
            return None
        recorded = json.loads(marker.read_text())
        if recorded.get("key") != key:
            return None
        return StageCounters.from_dict(recorded["counters"])

    def _read_stage(self, index: int) -> DataFrame:
        return self.spark.read.schema(self.schema_ddl).parquet(str(self._stage_dir(index)))

    def _kept_input(self, index: int) -> DataFrame:
        return self._read_stage(index - 1).where(F.col("reason").isNull())

    def _profile(self, stage: Stage):
        """A task resource profile for a stage that asks for more than one CPU or any GPU, on
        a cluster (local mode runs every task in one JVM and has no resource profiles)."""
        wanted = stage.resources
        if self.local or (wanted.cpus == 1 and wanted.gpus == 0):
            return None
        requests = TaskResourceRequests().cpus(wanted.cpus)
        if wanted.gpus:
            requests = requests.resource("gpu", wanted.gpus)
        return ResourceProfileBuilder().require(requests).build

    def _frame(self, index: int, accumulator) -> DataFrame:
        """The stage's output, as its partitioning asks."""
        stage = self.stages[index]
        task = _stage_task(stage, accumulator)
        if stage.partitioning is Partitioning.SOURCE:
            lines = [json.dumps(dataclasses.asdict(e), sort_keys=True) for e in self.entries]
            rdd = self.spark.sparkContext.parallelize([(line,) for line in lines],
                                                      numSlices=max(1, len(lines)))
            frame = self.spark.createDataFrame(rdd, "entry string")
        else:
            frame = self._kept_input(index)
            if stage.enabled and stage.partitioning is Partitioning.WHOLE_DATASET:
                frame = WHOLE_DATASET_STEPS[stage.name](frame, stage)
            elif stage.enabled and stage.partitioning is Partitioning.BY_KEY:
                partitions = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
                frame = (frame.repartition(partitions, stage.key)
                         .sortWithinPartitions(stage.key, "id"))
        return frame.mapInArrow(task, self.schema_ddl, profile=self._profile(stage))

    def _run_stage(self, index: int, upstream: str) -> str:
        """Run or resume stage ``index``; returns its key."""
        stage = self.stages[index]
        marker = self._marker(index, upstream)
        key = stable_hash(marker)
        if marker["fingerprint"]:
            self.fingerprints[stage.name] = marker["fingerprint"]
        target = self._stage_dir(index)
        label = f"[{index + 1}/{self.steps}] {stage.name}"
        started = time.perf_counter()
        counters = self._done_counters(index, key)
        if counters is not None:
            self.resumed.append(stage.name)
            _log(f"{label}: resumed from {target}")
        else:
            _log(f"{label} ...")
            shutil.rmtree(target, ignore_errors=True)
            accumulator = self.spark.sparkContext.accumulator(StageCounters(stage.name),
                                                              _CountersParam())
            group = f"stack-curate-{stage.name}"
            self.spark.sparkContext.setJobGroup(group, label)
            with _Progress(self.spark, group, label, accumulator):
                self._frame(index, accumulator).write.mode("overwrite").parquet(str(target))
            counters = accumulator.value
            counters.seconds = time.perf_counter() - started
            (target / MARKER).write_text(json.dumps(
                {**marker, "key": key, "counters": counters.to_dict()}, sort_keys=True, indent=1))
        self.counters.append(counters)
        _log(f"{label}: {counters.records_in} in, {counters.kept} kept, "
             f"{counters.records_in - counters.kept} excluded, {counters.seconds:.1f} s")
        return key

    def _excluded_all(self) -> DataFrame:
        frames = [self._read_stage(i).where(F.col("reason").isNotNull())
                  for i in range(len(self.stages))]
        excluded = functools.reduce(DataFrame.unionByName, frames)
        if self.config.shards.keep_excluded_content:
            return excluded
        return excluded.withColumn("content", F.lit(None).cast("string"))

    # release

    def _write_release(self) -> tuple[Path, dict]:
        started = time.perf_counter()
        _log(f"[{self.steps}/{self.steps}] release ...")
        version = self.config.release_version
        release_dir = self.out_dir / "releases" / version
        pending = self.out_dir / "releases" / f".{version}.pending"
        shutil.rmtree(pending, ignore_errors=True)
        pending.mkdir(parents=True)
        kept = self._read_stage(len(self.stages) - 1).where(F.col("reason").isNull())
        partitions = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        write_kept = _write_release_task(str(pending), self.config, write_kept_shards)
        kept_infos = (kept.repartition(partitions, "kind", "language")
                      .sortWithinPartitions(*KEPT_ORDER)
                      .mapInArrow(write_kept, spark_ddl(_SHARD_INFO_SCHEMA)).collect())
        excluded = self._excluded_all()
        write_excluded = _write_release_task(str(pending), self.config, write_excluded_shards)
        excluded_infos = (excluded.repartition(1).sortWithinPartitions("id")
                          .mapInArrow(write_excluded, spark_ddl(_SHARD_INFO_SCHEMA)).collect())
        manifest = self._manifest(kept, excluded, kept_infos, excluded_infos)
        for step in self.release_steps:  # files beside the shards, from the shards
            manifest[step.name] = step.write(pending, manifest)
        write_manifest(pending, manifest)
        (self._read_stage(0).where(F.col("authors").isNotNull())
         .select("id", "kind", "repo", "authors").repartition(1).sortWithinPartitions("id")
         .mapInArrow(_write_release_task(str(self.out_dir), self.config, write_private_authors),
                     spark_ddl(_SHARD_INFO_SCHEMA)).collect())
        shutil.rmtree(release_dir, ignore_errors=True)
        pending.rename(release_dir)
        switch_current(self.out_dir, version)
        self.counters.append(StageCounters("release", manifest["counts"]["kept"],
                                           manifest["counts"]["kept"], {},
                                           time.perf_counter() - started))
        return release_dir, manifest

    def _report(self, index: int) -> dict:
        """``{"report": ...}`` of stage ``index`` when it reports on the records it excluded
        (read from its persisted output, so a resumed stage reports too), else {}."""
        stage = self.stages[index]
        if not stage.report_columns or not stage.enabled:
            return {}
        rows = (self._read_stage(index).where(F.col("reason").isNotNull()).orderBy("id")
                .select(*stage.report_columns).collect())
        return {"report": stage.report(row.asDict() for row in rows)}

    def _manifest(self, kept: DataFrame, excluded: DataFrame, kept_infos: list,
                  excluded_infos: list) -> dict:
        def counts(frame: DataFrame, column: str) -> dict:
            rows = frame.groupBy(column).count().collect()
            return {str(row[column]): row["count"] for row in sorted(
                rows, key=lambda r: str(r[column]))}

        def shard_list(infos: list) -> list[dict]:
            return sorted((ShardInfo(**row.asDict()).__dict__ for row in infos),
                          key=lambda info: info["path"])

        n_kept = sum(row["rows"] for row in kept_infos)
        n_excluded = sum(row["rows"] for row in excluded_infos)
        ingested = self.counters[0].records_in
        if n_kept + n_excluded != ingested:
            raise RuntimeError(f"accounting broken: kept {n_kept} + excluded {n_excluded} "
                               f"!= ingested {ingested}")
        kept_by_kind, excluded_by_kind = counts(kept, "kind"), counts(excluded, "kind")
        for kind, count in counts(self._read_stage(0), "kind").items():
            if kept_by_kind.get(kind, 0) + excluded_by_kind.get(kind, 0) != count:
                raise RuntimeError(f"accounting broken for kind {kind}: kept "
                                   f"{kept_by_kind.get(kind, 0)} + excluded "
                                   f"{excluded_by_kind.get(kind, 0)} != ingested {count}")
        return {
            "schema_version": SCHEMA_VERSION,
            "release": self.config.release_version,
            "config_hash": self.config_hash,
            "config": config_to_dict(self.config),
            "input_manifest_sha256": self.input_hash,
            "repositories": len(self.entries),
            "counts": {
                "ingested": ingested,
                "kept": n_kept,
                "excluded": n_excluded,
                "kept_by_kind": kept_by_kind,
                "excluded_by_kind": excluded_by_kind,
                "kept_by_language": counts(kept, "language"),
                "kept_by_license": counts(kept, "license"),
                "kept_by_license_class": counts(kept, "license_class"),
                "excluded_by_reason": counts(excluded, "reason"),
                "excluded_by_stage": counts(excluded, "stage"),
                "pii_spans_by_label": counts(
                    kept.select(F.explode("pii_spans").alias("span")).select("span.label"),
                    "label"),
            },
            "fingerprints": self.fingerprints,
            "stages": [{**{k: v for k, v in c.to_dict().items()
                           if k not in ("seconds", "gpu_tasks")}, **self._report(index)}
                       for index, c in enumerate(self.counters)],
            "shards": shard_list(kept_infos),
            "excluded_shards": shard_list(excluded_infos),
            "columns": RECORD_SCHEMA.names,
        }

    def run(self) -> BuildResult:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        key = self.input_hash
        for index in range(len(self.stages)):
            key = self._run_stage(index, key)
        release_dir, manifest = self._write_release()
        report = {"counters": [c.to_dict() for c in self.counters], "resumed": self.resumed}
        (self.work_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        return BuildResult(release_dir, manifest, self.counters, self.resumed)


def summary_table(result: BuildResult) -> str:
    """Counts per stage and reason, time per stage, and where the shards are."""
    lines = [f"{'stage':<12} {'in':>9} {'kept':>9} {'excluded':>9} {'seconds':>8}  reasons"]
    for c in result.counters:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(c.excluded.items()))
        resumed = " (resumed)" if c.name in result.resumed else ""
        lines.append(f"{c.name:<12} {c.records_in:>9} {c.kept:>9} "
                     f"{c.records_in - c.kept:>9} {c.seconds:>8.1f}  {reasons}{resumed}")
    counts = result.manifest["counts"]
    lines.append(f"ingested {counts['ingested']} = kept {counts['kept']} + excluded "
                 f"{counts['excluded']}")
    for kind in sorted(counts["kept_by_kind"].keys() | counts["excluded_by_kind"].keys()):
        kept = counts["kept_by_kind"].get(kind, 0)
        excluded = counts["excluded_by_kind"].get(kind, 0)
        lines.append(f"  {kind}: ingested {kept + excluded} = kept {kept} + excluded {excluded}")
    lines.append("kept by language: " + ", ".join(
        f"{k}={v}" for k, v in sorted(counts["kept_by_language"].items(),
                                      key=lambda kv: -kv[1])[:12]))
    lines.append(f"release: {result.release_dir}  ({len(result.manifest['shards'])} shards)")
    return "\n".join(lines)


def run_build(manifest_path: Path, out_dir: Path, config: BuildConfig,
              master: str = "local[*]", spark: SparkSession | None = None,
              plan: tuple[type[Stage], ...] = BUILD_PLAN) -> BuildResult:
    """Build a release from a manifest following ``plan`` (creates a Spark session unless
    given one)."""
    session = spark or get_spark(master)
    return Build(session, Path(manifest_path), Path(out_dir), config, plan).run()


if __name__ == "__main__":  # spark-submit jobs/build.py --repos M --out DIR
    from jobs.cli import main

    sys.exit(main(["build", *sys.argv[1:]]))

"""The build job: manifest of repositories in, a release of Parquet shards out.

Stages (each persisted under ``OUT/work/NN-name/`` with a marker written last, so a rerun
after a crash resumes after the last finished stage):

1. ``ingest``      one Spark task per repository: read the source, decode, detect
                   languages, resolve licences per directory (ScanCode, once per worker).
2. ``licenses``    licence policy: keep the configured classes (permissive by default).
3. ``quality``     StarCoderData's quality filters, vendored and generated files.
4. ``exact_dedup`` one copy per content hash, chosen by the keep rule.
5. ``near_dedup``  MinHash LSH candidates, verified clusters (``jobs/near_dedup.py``).
6. ``pii``         PII detected (Presidio recognizers + the NER model, loaded once per worker)
                   and redacted; spans kept in ``pii_spans`` (``pii/stage.py``).
7. ``release``     deterministic shards, ``excluded/``, ``manifest.json``, ``CURRENT``.

Runs as ``curate build`` or ``spark-submit jobs/build.py --repos M --out DIR``.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from licenses.detect import get_detector
from licenses.files import is_license_file
from licenses.policy import LicensePolicyStage
from licenses.resolve import assign_licenses
from pipeline.config import BuildConfig, config_hash, config_to_dict
from pipeline.dedup import exact_dedup_batches
from pipeline.filters import QualityStage
from pipeline.ingest import ingest_repository
from pipeline.ingest.manifest import RepoEntry, read_manifest
from pipeline.schema import RECORD_SCHEMA, SCHEMA_VERSION, STAGE_SCHEMA, to_batch
from pipeline.shards import (ShardInfo, switch_current, write_excluded_shards,
                             write_kept_shards, write_manifest)
from pipeline.stage import Stage, StageCounters
from pii.stage import PiiStage
from jobs.near_dedup import near_dedup
from jobs.spark import get_spark, spark_ddl

STAGE_NAMES = ("ingest", "licenses", "quality", "exact_dedup", "near_dedup", "pii")
_STEPS = len(STAGE_NAMES) + 1  # the stages and the release
MARKER = "_STAGE.json"
_BATCH_ROWS = 2000


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- pure task functions (run on the workers) ---------------------------------------

def _strip_excluded_content(batch: pa.RecordBatch, keep: bool) -> pa.RecordBatch:
    """``batch`` with the content of excluded records nulled (vectorised), unless kept."""
    if keep:
        return batch
    index = batch.schema.get_field_index("content")
    content = pc.if_else(pc.is_null(batch.column("reason")), batch.column(index),
                         pa.scalar(None, pa.string()))
    return batch.set_column(index, batch.schema.field(index), content)


def ingest_entries(entries: Iterable[RepoEntry], config: BuildConfig
                   ) -> Iterator[pa.RecordBatch]:
    """Ingest repositories and resolve their licences; records in Arrow batches."""
    detector = get_detector()
    for entry in entries:
        with tempfile.TemporaryDirectory(prefix="curate-ingest-") as scratch:
            ingested = ingest_repository(entry, config.ingest, Path(scratch), is_license_file)
        records = assign_licenses(ingested.records, ingested.license_files, entry.license,
                                  detector, config.licenses)
        for start in range(0, len(records), _BATCH_ROWS):
            yield _strip_excluded_content(to_batch(records[start:start + _BATCH_ROWS]),
                                          config.shards.keep_excluded_content)


def _ingest_task(config: BuildConfig) -> Callable:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        entries = (RepoEntry(**json.loads(line)) for batch in batches
                   for line in batch.column("entry").to_pylist())
        yield from ingest_entries(entries, config)
    return run


def _stage_task(stage: Stage, keep_content: bool) -> Callable:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in stage.process_batches(batches):
            yield _strip_excluded_content(batch, keep_content)
    return run


def _write_release_task(release_dir: str, config: BuildConfig, excluded: bool) -> Callable:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = (row for batch in batches for row in batch.to_pylist())
        writer = write_excluded_shards if excluded else write_kept_shards
        infos = writer(rows, Path(release_dir), config.shards)
        yield pa.RecordBatch.from_pylist([dataclasses.asdict(i) for i in infos],
                                         schema=_SHARD_INFO_SCHEMA)
    return run


_SHARD_INFO_SCHEMA = pa.schema([("path", pa.string()), ("rows", pa.int64()),
                                ("bytes", pa.int64()), ("sha256", pa.string())])


# --- the driver ---------------------------------------------------------------------

@dataclasses.dataclass
class BuildResult:
    release_dir: Path
    manifest: dict
    counters: list[StageCounters]
    resumed: list[str]


class Build:
    """One build of a manifest into ``out_dir`` on a Spark session."""

    def __init__(self, spark: SparkSession, manifest_path: Path, out_dir: Path,
                 config: BuildConfig):
        self.spark = spark
        self.entries = read_manifest(manifest_path)
        self.out_dir = out_dir
        self.work_dir = out_dir / "work"
        self.config = config
        self.config_hash = config_hash(config)
        self.input_hash = hashlib.sha256(Path(manifest_path).read_bytes()).hexdigest()
        self.schema_ddl = spark_ddl(STAGE_SCHEMA)
        self.counters: list[StageCounters] = []
        self.resumed: list[str] = []

    # persisted stages

    def _stage_dir(self, index: int) -> Path:
        return self.work_dir / f"{index + 1:02d}-{STAGE_NAMES[index]}"

    def _marker_for(self, index: int) -> dict:
        return {"stage": STAGE_NAMES[index], "config_hash": self.config_hash,
                "input_hash": self.input_hash, "schema_version": SCHEMA_VERSION}

    def _is_done(self, index: int) -> bool:
        marker = self._stage_dir(index) / MARKER
        if not marker.exists():
            return False
        recorded = json.loads(marker.read_text())
        return {k: recorded.get(k) for k in self._marker_for(index)} == self._marker_for(index)

    def _read_stage(self, index: int) -> DataFrame:
        return self.spark.read.schema(self.schema_ddl).parquet(str(self._stage_dir(index)))

    def _kept_input(self, index: int) -> DataFrame:
        return self._read_stage(index - 1).where(F.col("reason").isNull())

    def _run_stage(self, index: int, compute: Callable[[], DataFrame]) -> None:
        name = STAGE_NAMES[index]
        target = self._stage_dir(index)
        started = time.perf_counter()
        if self._is_done(index) and len(self.resumed) == index:  # all before it resumed too
            self.resumed.append(name)
            _log(f"[{index + 1}/{_STEPS}] {name}: resumed from {target}")
        else:
            _log(f"[{index + 1}/{_STEPS}] {name} ...")
            shutil.rmtree(target, ignore_errors=True)
            compute().write.mode("overwrite").parquet(str(target))
            (target / MARKER).write_text(json.dumps(self._marker_for(index), sort_keys=True))
        counters = self._count(index, time.perf_counter() - started)
        self.counters.append(counters)
        _log(f"[{index + 1}/{_STEPS}] {name}: {counters.records_in} in, {counters.kept} kept, "
             f"{counters.records_in - counters.kept} excluded, {counters.seconds:.1f} s")

    def _count(self, index: int, seconds: float) -> StageCounters:
        rows = (self._read_stage(index).where(F.col("stage").isNull()
                                              | (F.col("stage") == STAGE_NAMES[index]))
                .groupBy("reason").count().collect())
        excluded = {row["reason"]: row["count"] for row in rows if row["reason"] is not None}
        total = sum(row["count"] for row in rows)
        return StageCounters(STAGE_NAMES[index], total, total - sum(excluded.values()),
                             excluded, seconds)

    def _ingest(self) -> DataFrame:
        lines = [json.dumps(dataclasses.asdict(e), sort_keys=True) for e in self.entries]
        rdd = self.spark.sparkContext.parallelize([(line,) for line in lines],
                                                  numSlices=max(1, len(lines)))
        entries = self.spark.createDataFrame(rdd, "entry string")
        return entries.mapInArrow(_ingest_task(self.config), self.schema_ddl)

    def _map_stage(self, index: int, stage: Stage) -> DataFrame:
        keep = self.config.shards.keep_excluded_content
        return self._kept_input(index).mapInArrow(_stage_task(stage, keep), self.schema_ddl)

    def _exact_dedup(self) -> DataFrame:
        partitions = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        grouped = (self._kept_input(3).repartition(partitions, "content_hash")
                   .sortWithinPartitions("content_hash", "id"))
        return grouped.mapInArrow(exact_dedup_batches, self.schema_ddl)

    def _pii(self) -> DataFrame:
        if not self.config.pii.enabled:
            return self._kept_input(5)
        return self._map_stage(5, PiiStage(self.config.pii))

    def _excluded_all(self) -> DataFrame:
        frames = [self._read_stage(i).where(F.col("reason").isNotNull())
                  for i in range(len(STAGE_NAMES))]
        return functools.reduce(DataFrame.unionByName, frames)

    # release

    def _write_release(self) -> tuple[Path, dict]:
        started = time.perf_counter()
        _log(f"[{_STEPS}/{_STEPS}] release ...")
        version = self.config.release_version
        release_dir = self.out_dir / "releases" / version
        pending = self.out_dir / "releases" / f".{version}.pending"
        shutil.rmtree(pending, ignore_errors=True)
        pending.mkdir(parents=True)
        kept = self._read_stage(len(STAGE_NAMES) - 1).where(F.col("reason").isNull())
        partitions = int(self.spark.conf.get("spark.sql.shuffle.partitions"))
        kept_infos = (kept.repartition(partitions, "kind", "language")
                      .sortWithinPartitions("kind", "language", "id")
                      .mapInArrow(_write_release_task(str(pending), self.config, False),
                                  spark_ddl(_SHARD_INFO_SCHEMA)).collect())
        excluded = self._excluded_all()
        excluded_infos = (excluded.repartition(1).sortWithinPartitions("id")
                          .mapInArrow(_write_release_task(str(pending), self.config, True),
                                      spark_ddl(_SHARD_INFO_SCHEMA)).collect())
        manifest = self._manifest(kept, excluded, kept_infos, excluded_infos)
        write_manifest(pending, manifest)
        shutil.rmtree(release_dir, ignore_errors=True)
        pending.rename(release_dir)
        switch_current(self.out_dir, version)
        self.counters.append(StageCounters("release", manifest["counts"]["kept"],
                                           manifest["counts"]["kept"], {},
                                           time.perf_counter() - started))
        return release_dir, manifest

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
                "kept_by_language": counts(kept, "language"),
                "kept_by_license": counts(kept, "license"),
                "kept_by_license_class": counts(kept, "license_class"),
                "excluded_by_reason": counts(excluded, "reason"),
                "excluded_by_stage": counts(excluded, "stage"),
                "pii_spans_by_label": counts(
                    kept.select(F.explode("pii_spans").alias("span")).select("span.label"),
                    "label"),
            },
            "stages": [{k: v for k, v in c.to_dict().items() if k != "seconds"}
                       for c in self.counters],
            "shards": shard_list(kept_infos),
            "excluded_shards": shard_list(excluded_infos),
            "columns": RECORD_SCHEMA.names,
        }

    def run(self) -> BuildResult:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._run_stage(0, self._ingest)
        self._run_stage(1, lambda: self._map_stage(1, LicensePolicyStage(self.config.licenses)))
        self._run_stage(2, lambda: self._map_stage(2, QualityStage(self.config.filters)))
        self._run_stage(3, self._exact_dedup)
        self._run_stage(4, lambda: near_dedup(self._kept_input(4), self.config.near_dedup))
        self._run_stage(5, self._pii)
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
    lines.append("kept by language: " + ", ".join(
        f"{k}={v}" for k, v in sorted(counts["kept_by_language"].items(),
                                      key=lambda kv: -kv[1])[:12]))
    lines.append(f"release: {result.release_dir}  ({len(result.manifest['shards'])} shards)")
    return "\n".join(lines)


def run_build(manifest_path: Path, out_dir: Path, config: BuildConfig,
              master: str = "local[*]", spark: SparkSession | None = None) -> BuildResult:
    """Build a release from a manifest (creates a Spark session unless given one)."""
    session = spark or get_spark(master)
    return Build(session, Path(manifest_path), Path(out_dir), config).run()


if __name__ == "__main__":  # spark-submit jobs/build.py --repos M --out DIR
    from jobs.cli import main

    sys.exit(main(["build", *sys.argv[1:]]))

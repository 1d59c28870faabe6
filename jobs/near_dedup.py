"""Near-deduplication on Spark: MinHash bands, candidate groups, verified clusters.

1. Signatures and band hashes per record (``mapInArrow`` over the pure functions of
   ``pipeline.dedup``); short documents get none and are never clustered.
2. Records sharing a (band, band hash) bucket are joined to the bucket's smallest id: star
   edges, so a bucket of k records gives k - 1 edges, never k^2.
3. Connected components of those edges with large-star / small-star (Kiveris et al. 2014,
   "Connected Components in MapReduce and Beyond"), checkpointed every round.
4. Each component is a candidate group; ``cluster_group`` removes a record only for a kept
   record that is similar enough to it (exact Jaccard by default), so nothing chains.

Which record stays follows the keep rule and does not depend on partitions or input order.
"""
from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

from jobs.spark import spark_type
from pipeline.config import NearDedupConfig
from pipeline.dedup import cluster_group, minhash_signatures
from pipeline.dedup.near import band_keys
from pipeline.schema import EXCLUSION_FIELDS

STAGE = "near_dedup"
_BAND_SCHEMA = "id string, scope string, band int, bucket bigint"
_BATCH_ROWS = 2000


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


_BAND_ARROW_SCHEMA = pa.schema([("id", pa.string()), ("scope", pa.string()),
                                ("band", pa.int32()), ("bucket", pa.int64())])


def _band_task(config: NearDedupConfig, text_column: str, id_column: str,
               scope_column: str | None) -> Callable:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            texts = [text or "" for text in batch.column(text_column).to_pylist()]
            long_enough, buckets = band_keys(texts, config)  # short texts: no shingle, none
            if not len(long_enough):
                continue
            buckets = buckets.view(np.int64)
            rows = pa.array(np.repeat(long_enough, config.bands))
            ids = batch.column(id_column).take(rows)
            scopes = (batch.column(scope_column).take(rows).cast(pa.string()) if scope_column
                      else pa.nulls(len(rows), pa.string()))
            bands = np.tile(np.arange(config.bands, dtype=np.int32), len(long_enough))
            yield pa.RecordBatch.from_arrays([ids.cast(pa.string()), scopes, pa.array(bands),
                                              pa.array(buckets.reshape(-1))],
                                             schema=_BAND_ARROW_SCHEMA)
    return run


def candidate_edges(bands: DataFrame) -> DataFrame:
    """Star edges (src, dst): every record to the smallest id of each bucket it is in (a
    bucket: a scope, a band and its hash)."""
    bucket = Window.partitionBy("scope", "band", "bucket")
    return (bands.withColumn("root", F.min("id").over(bucket))
            .where(F.col("id") != F.col("root"))
            .select(F.col("id").alias("src"), F.col("root").alias("dst")).distinct())


def _large_star(edges: DataFrame) -> DataFrame:
    both = edges.unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    least = both.groupBy("src").agg(F.min("dst").alias("m"))
    least = least.select("src", F.least("m", "src").alias("m"))
    return (both.join(least, "src").where(F.col("dst") > F.col("src"))
            .select(F.col("dst").alias("src"), F.col("m").alias("dst")).distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    ordered = edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst"))
    least = ordered.groupBy("src").agg(F.min("dst").alias("m"))
    linked = (ordered.join(least, "src").where(F.col("dst") != F.col("m"))
              .select(F.col("dst").alias("src"), F.col("m").alias("dst")))
    return linked.unionByName(least.select("src", F.col("m").alias("dst"))).distinct()


def _is_star_forest(edges: DataFrame) -> bool:
    """Whether every edge points to a root and every node has one root: components found."""
    sources = edges.select(F.col("src").alias("dst")).distinct()
    if edges.join(sources, "dst").limit(1).count():
        return False
    return edges.groupBy("src").agg(F.countDistinct("dst").alias("roots")) \
        .where(F.col("roots") > 1).limit(1).count() == 0


def connected_components(edges: DataFrame, max_rounds: int = 100) -> DataFrame:
    """(id, component) for every id on an edge; component = the smallest id of its component.

    Alternates large-star and small-star until the edges form stars around the smallest id
    of each component; each round is checkpointed so the plan stays short.
    """
    current = edges.localCheckpoint()
    for round_number in range(1, max_rounds + 1):
        current = _small_star(_large_star(current)).localCheckpoint()
        if _is_star_forest(current):
            _log(f"  connected components: {round_number} rounds")
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
    roots = current.select(F.col("dst").alias("id"), F.col("dst").alias("component")).distinct()
    return current.select(F.col("src").alias("id"), F.col("dst").alias("component")) \
        .unionByName(roots).distinct()


def _cluster_task(config: NearDedupConfig, schema: pa.Schema, text_column: str,
                  id_column: str) -> Callable:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        rows = (row for batch in batches for row in batch.to_pylist())
        out: list[dict] = []
        for _, group in itertools.groupby(rows, key=lambda row: row["_component"]):
            members = [_as_record(row, text_column, id_column) for row in group]
            signatures = None if config.verify_jaccard else minhash_signatures(
                [m["content"] or "" for m in members], num_perm=config.num_perm,
                ngram=config.ngram, seed=config.seed, tokenizer=config.tokenizer)
            for record in cluster_group(members, config.threshold, config.ngram,
                                        config.verify_jaccard, signatures, stage=STAGE,
                                        tokenizer=config.tokenizer):
                out.append(_from_record(record, text_column, id_column))
            if len(out) >= _BATCH_ROWS:
                yield pa.RecordBatch.from_pylist(out, schema=schema)
                out = []
        if out:
            yield pa.RecordBatch.from_pylist(out, schema=schema)
    return run


def _as_record(row: dict, text_column: str, id_column: str) -> dict:
    """A row as ``cluster_group`` reads it: text in ``content``, id in ``id``; columns of
    those names that are not the text and id columns are set aside, not overwritten."""
    record = {k: v for k, v in row.items() if k != "_component"}
    record["_aside"] = {k: record[k] for k in ("content", "id")
                        if k in record and k not in (text_column, id_column)}
    record["content"], record["id"] = row[text_column], row[id_column]
    record.setdefault("repo", "")
    record.setdefault("path", "")
    return record


def _from_record(record: dict, text_column: str, id_column: str) -> dict:
    aside = record.pop("_aside")
    record[text_column], record[id_column] = record.pop("content"), record.pop("id")
    record.update(aside)
    return record


def with_exclusion_columns(frame: DataFrame) -> DataFrame:
    """``frame`` with the exclusion columns (:data:`pipeline.schema.EXCLUSION_FIELDS`) it lacks,
    null."""
    for field in EXCLUSION_FIELDS:
        if field.name not in frame.columns:
            frame = frame.withColumn(field.name, F.lit(None).cast(spark_type(field.type)))
    return frame


def near_dedup(frame: DataFrame, config: NearDedupConfig, text_column: str = "content",
               id_column: str = "id", scope_column: str | None = None) -> DataFrame:
    """``frame`` with every record kept or marked ``near_duplicate`` (same columns, plus the
    exclusion columns when missing); with ``scope_column``, only records of one value of it
    are compared. Records already excluded pass through."""
    frame = with_exclusion_columns(frame)
    if not config.enabled:
        return frame
    pending = frame.where(F.col("reason").isNull())
    columns = [id_column, text_column] + ([scope_column] if scope_column else [])
    bands = pending.select(*columns).mapInArrow(
        _band_task(config, text_column, id_column, scope_column), _BAND_SCHEMA)
    components = connected_components(candidate_edges(bands))
    grouped = (pending.join(components.withColumnRenamed("id", id_column)
                            .withColumnRenamed("component", "_component"), id_column, "left"))
    singles = grouped.where(F.col("_component").isNull()).drop("_component")
    candidates = grouped.where(F.col("_component").isNotNull())
    partitions = int(frame.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    arrow_schema = _arrow_schema(frame)
    clustered = (candidates.repartition(partitions, "_component")
                 .sortWithinPartitions("_component", id_column)
                 .mapInArrow(_cluster_task(config, arrow_schema, text_column, id_column),
                             frame.schema))
    return frame.where(F.col("reason").isNotNull()).unionByName(singles).unionByName(clustered)


def _arrow_schema(frame: DataFrame) -> pa.Schema:
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(frame.schema, timezone="UTC")  # the session's time zone (jobs.spark)


def derive_ids(frame: DataFrame, text_column: str, id_column: str) -> DataFrame:
    """Give a data set without ids content-derived ones (sha256 of the text)."""
    return frame.withColumn(id_column, F.sha2(F.col(text_column), 256))


# Id column types that the near dedup can group and compare: strings as they are; integers and
# binary through a string key (decimal digits; hex), mapped back for duplicate_of and cluster_id.
_ID_TYPES = frozenset({"string", "tinyint", "smallint", "int", "bigint", "binary"})
_ID_KEY = "_near_dedup_id"


def _check_input(input_path: str) -> None:
    """A local input path must exist and hold Parquet (a URI with a scheme is Spark's to read)."""
    if "://" in input_path:
        return
    path = Path(input_path)
    if not path.exists():
        raise FileNotFoundError(f"input {input_path} does not exist")
    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise ValueError(f"input {input_path} holds no Parquet files (*.parquet)")


def _string_key(frame: DataFrame, id_column: str) -> tuple[DataFrame, str]:
    """``frame`` with a string key for ``id_column`` (itself when it is a string column)."""
    kind = frame.schema[id_column].dataType.simpleString()
    if kind not in _ID_TYPES:
        raise ValueError(f"id column {id_column!r} has type {kind}; near dedup takes string, "
                         "integer or binary ids")
    if kind == "string":
        return frame, id_column
    key = F.hex(F.col(id_column)) if kind == "binary" else F.col(id_column).cast("string")
    return frame.withColumn(_ID_KEY, key), _ID_KEY


def _ids_back(frame: DataFrame, id_column: str, key: str) -> DataFrame:
    """duplicate_of and cluster_id in the id column's type, the string key dropped."""
    if key == id_column:
        return frame
    kind = frame.schema[id_column].dataType
    for name in ("duplicate_of", "cluster_id"):
        back = (F.unhex(F.col(name)) if kind.simpleString() == "binary"
                else F.col(name).cast(kind))
        frame = frame.withColumn(name, back)
    return frame.drop(key)


def run_dedup(spark: SparkSession, input_path: str, output_path: str, config: NearDedupConfig,
              text_column: str = "content", id_column: str | None = "id") -> dict:
    """``curate dedup``: near-dedup any Parquet data set; kept rows to ``output/data``,
    removed ones to ``output/excluded``. Returns counts."""
    _check_input(input_path)
    frame = spark.read.parquet(input_path)
    if text_column not in frame.columns:
        raise ValueError(f"{input_path} has no column {text_column!r} "
                         f"(columns: {', '.join(frame.columns)})")
    if frame.schema[text_column].dataType.simpleString() != "string":
        raise ValueError(f"text column {text_column!r} has type "
                         f"{frame.schema[text_column].dataType.simpleString()}, not string")
    if id_column is None or id_column not in frame.columns:
        id_column = id_column or "id"
        frame = derive_ids(frame, text_column, id_column)
    keyed, key = _string_key(frame, id_column)
    repeated = [row[id_column] for row in frame.groupBy(id_column).count()
                .where(F.col("count") > 1).orderBy(id_column).limit(3).collect()]
    if repeated:
        raise ValueError(f"ids in {id_column!r} must be unique, but {', '.join(map(str, repeated))} "
                         "repeat (ids derived from the text repeat for identical texts: "
                         "remove exact duplicates first, or give an id column)")
    deduped = near_dedup(keyed, config, text_column, key)
    result = _ids_back(deduped, id_column, key).localCheckpoint()
    kept = result.where(F.col("reason").isNull()).drop(*(f.name for f in EXCLUSION_FIELDS))
    excluded = result.where(F.col("reason").isNotNull())
    kept.sortWithinPartitions(id_column).write.mode("overwrite").parquet(f"{output_path}/data")
    excluded.write.mode("overwrite").parquet(f"{output_path}/excluded")
    counts = {"input": frame.count(), "kept": kept.count(), "near_duplicate": excluded.count()}
    return counts


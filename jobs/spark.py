"""The Spark edge: session set-up and the mapping between our Arrow schema and Spark's."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow as pa
from pyspark.sql import SparkSession

LOG_CONFIG = Path(__file__).with_name("log4j2.properties")

_SPARK_TYPES = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.float64(): "double",
    pa.timestamp("us", tz="UTC"): "timestamp",
}


def spark_type(arrow_type: pa.DataType) -> str:
    """Spark DDL type (``bigint``, ``array<string>``, ...) of an Arrow type of our schema."""
    if pa.types.is_list(arrow_type):
        return f"array<{spark_type(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct<" + ", ".join(f"`{f.name}`: {spark_type(f.type)}"
                                     for f in arrow_type) + ">"
    return _SPARK_TYPES[arrow_type]


def spark_ddl(schema: pa.Schema) -> str:
    """Spark DDL string (``id string, size bigint, ...``) for an Arrow schema."""
    return ", ".join(f"`{field.name}` {spark_type(field.type)}" for field in schema)


def get_spark(master: str = "local[*]", app_name: str = "stack-curate",
              shuffle_partitions: int | None = None, driver_memory: str = "4g"
              ) -> SparkSession:
    """A Spark session with quiet logs, UTC time and this interpreter on the workers.

    Workers run the same Python as the driver (``PYSPARK_PYTHON``), which must have
    stack-curate installed: with ``make`` that is the project's ``.venv``. In ``local``
    mode the driver JVM does all the work: 4 GB (Spark's default is 1 GB) keeps a million
    documents' 25 million LSH band rows out of memory trouble on a 24 GB machine.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    java_options = f"-Dlog4j.configurationFile={LOG_CONFIG}"
    partitions = shuffle_partitions or max(2, 2 * (os.cpu_count() or 1))
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.driver.extraJavaOptions", java_options)
        .config("spark.executor.extraJavaOptions", java_options)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "false")  # fixed partitioning: reproducible
        .config("spark.executorEnv.PYSPARK_PYTHON", sys.executable)
        .config("spark.pyspark.python", sys.executable)
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark

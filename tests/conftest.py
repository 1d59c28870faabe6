"""Shared fixtures: one local Spark session per test run."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from jobs.spark import get_spark

    session = get_spark("local[2]", app_name="stack-curate-tests", shuffle_partitions=4)
    yield session
    session.stop()

"""Shared fixtures: one local Spark session per test run, and a data root of its own."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def data_root(tmp_path_factory):
    """$STACK_CURATE_HOME in a temporary directory: builds and ``curate optout`` never read
    or write the opt-out registry of the person running the tests."""
    home = tmp_path_factory.mktemp("stack-curate-home")
    previous = os.environ.get("STACK_CURATE_HOME")
    os.environ["STACK_CURATE_HOME"] = str(home)
    yield home
    if previous is None:
        del os.environ["STACK_CURATE_HOME"]
    else:
        os.environ["STACK_CURATE_HOME"] = previous


@pytest.fixture(scope="session")
def spark():
    from jobs.spark import get_spark

    session = get_spark("local[2]", app_name="stack-curate-tests", shuffle_partitions=4)
    yield session
    session.stop()

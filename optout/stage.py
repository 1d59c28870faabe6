"""The build's opt-out stage: records of opted-out users, organisations and repositories out.

It runs right after ingest, before the licence stage and both dedups, so an opted-out file is
never the copy a duplicate cluster keeps. The registry is read once, when the stage is built
from the config (on the driver); its state travels with the stage to the workers, and its
hash is the stage's fingerprint: a changed registry reruns this stage and all after it, and the
release manifest records which requests the build applied.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa

from optout.enforce import OptOuts, opt_out
from pipeline.config import OptOutConfig
from pipeline.reasons import Reason
from pipeline.stage import Stage


class OptOutStage(Stage):
    """Excludes the records that a verified opt-out request covers (reason ``opt_out``)."""

    name = "optout"
    config_sections = ("optout",)
    code = ("optout.stage", "optout.enforce")
    reasons = (Reason.OPT_OUT,)

    def __init__(self, config: OptOutConfig):
        self.config = config
        self.optouts = OptOuts.from_registry(Path(config.home) if config.home else None)

    def fingerprint(self) -> dict[str, Any]:
        """The requests applied and the registry's state hash."""
        return self.optouts.describe()

    def process(self, records: list[dict]) -> list[dict]:
        out = []
        for record in records:
            request_id = self.optouts.request_for(record["repo"], record.get("authors"))
            out.append(record if request_id is None else opt_out(record, request_id, self.name))
        return out

    def process_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Batches no request covers pass as they are; the others record by record."""
        for batch in batches:
            if self.optouts.covers_any(batch.column("repo").to_pylist(),
                                       batch.column("authors").to_pylist()):
                yield from super().process_batches([batch])
            else:
                yield batch

"""The build's PII stage: detect, redact, and keep the spans on the record."""
from __future__ import annotations

from pii.detector import load_detector
from pii.redact import redact_keeping_syntax
from pipeline.config import PiiConfig
from pipeline.schema import content_hash
from pipeline.stage import Resources, Stage


def _wants_gpu(device: str) -> bool:
    if device == "cpu":
        return False
    import torch

    return torch.cuda.is_available()


class PiiStage(Stage):
    """Replaces PII in ``content`` with placeholders and records ``pii_spans``.

    It excludes nothing: every record leaves it kept, redacted or untouched, so the
    accounting of the build is unchanged. ``content_hash`` follows the redacted content.
    """

    name = "pii"

    def __init__(self, config: PiiConfig):
        self.config = config
        self.resources = Resources(device="gpu" if _wants_gpu(config.device) else "cpu",
                                   batch_size=config.batch_size)
        self.detector = None

    def setup(self) -> None:
        self.detector = load_detector(self.config.model, self.config.device,
                                      self.config.cpu_threads, self.config.cpu_int8,
                                      self.config.select_lines)

    def process(self, records: list[dict]) -> list[dict]:
        if self.detector is None:
            self.setup()
        scanned = [r for r in records if r.get("reason") is None and r.get("content") is not None]
        found = self.detector.detect([r["content"] for r in scanned],
                                     [r.get("language") for r in scanned])
        for record, spans in zip(scanned, found):
            record["content"], moved, dropped = redact_keeping_syntax(
                record["content"], spans, record.get("language"))
            self.detector.counters["dropped_breaking_syntax"] += dropped
            record["content_hash"] = content_hash(record["content"])
            record["pii_spans"] = [span.to_dict() for span in moved]
        return records

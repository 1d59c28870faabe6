"""The build's PII stage: detect, redact, and keep the spans on the record."""
from __future__ import annotations

import hashlib
from typing import Any

from pii.detector import load_detector, resolve_model_dir
from pii.redact import redact_keeping_syntax
from pipeline.config import PiiConfig
from pipeline.schema import content_hash
from pipeline.stage import Resources, Stage


def _task_device(device: str, gpus: tuple[str, ...]) -> str:
    """The device of a task: the GPU it was given (``cuda:N``) when the config allows CUDA and
    torch sees one, else the configured device."""
    if not gpus or device == "cpu":
        return device
    import torch

    return f"cuda:{gpus[0]}" if torch.cuda.is_available() else device


class PiiStage(Stage):
    """Replaces PII in ``content`` with placeholders and records ``pii_spans``.

    It excludes nothing: every record leaves it kept, redacted or untouched, so the
    accounting of the build is unchanged. ``content_hash`` follows the redacted content.
    """

    name = "pii"
    config_sections = ("pii",)
    code = ("pii", "pipeline.schema")

    def __init__(self, config: PiiConfig):
        self.config = config
        self.resources = Resources(gpus=config.task_gpus, batch_size=config.batch_size)
        self.detector = None

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def fingerprint(self) -> dict[str, Any]:
        """The model's weights (their sha256): new weights rerun the stage."""
        model_dir = resolve_model_dir(self.config.model) if self.enabled else None
        if model_dir is None:
            return {}
        digest = hashlib.sha256()
        for path in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")):
            digest.update(path.read_bytes())
        return {"model_weights_sha256": digest.hexdigest()}

    def setup(self, gpus: tuple[str, ...] = ()) -> None:
        self.detector = load_detector(self.config.model, _task_device(self.config.device, gpus),
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

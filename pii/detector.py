"""The PII detector the build and the CLI use: Presidio's recognizers plus the NER model.

:func:`load_detector` builds it once per process (a Spark Python worker is reused across tasks,
so the model loads once per worker, as NeMo Curator's stages do).
"""
from __future__ import annotations

import functools
from pathlib import Path

# The model this project trained and ships (pii/model/default/README.md says how).
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "model" / "default"
NO_MODEL = "none"


def resolve_model_dir(model: str | Path | None) -> Path | None:
    """``"default"``/None -> the shipped model, ``"none"`` -> no model, else the directory."""
    if model is None or str(model) == "default":
        return DEFAULT_MODEL_DIR
    if str(model) == NO_MODEL:
        return None
    path = Path(model)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a model directory (no config.json)")
    return path


def quiet_transformers() -> None:
    """No progress bars or load reports from transformers (on the command line, in workers)."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


@functools.lru_cache(maxsize=4)
def load_detector(model: str | None = "default", device: str = "auto", cpu_threads: int = 0,
                  int8: bool | None = None, select_lines: bool = True):
    """A :class:`pii.engine.PiiDetector` with the NER model of ``model`` (see
    :func:`resolve_model_dir`) on ``device``; ``cpu_threads`` > 0 sets torch's CPU threads;
    ``int8`` quantises the model on the CPU (None or True: yes; a GPU ignores it);
    ``select_lines=False`` lets the model read every line, not the cascade's selection."""
    from pii.engine import PiiDetector

    model_dir = resolve_model_dir(model)
    if model_dir is None:
        return PiiDetector(select_lines=select_lines)
    import torch

    from pii.model.inference import NerModel
    from pii.model.recognizer import NerRecognizer
    from pii.model.runtime import resolve_device

    if cpu_threads > 0:
        torch.set_num_threads(cpu_threads)
    quiet_transformers()
    int8 = resolve_device(device).type == "cpu" and int8 is not False
    return PiiDetector(ner=NerRecognizer(NerModel.load(model_dir, device=device, int8=int8)),
                       select_lines=select_lines)

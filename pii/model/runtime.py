"""Where the encoder runs: device choice, half-precision type, CPU thread limits."""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """``auto`` is CUDA when a GPU is visible, else CPU; asking for CUDA without one is an error.
    ``cuda:N`` names one GPU (the one a Spark task was given)."""
    kind, _, index = device.partition(":")
    if kind not in DEVICES or (index and (kind != "cuda" or not index.isdigit())):
        raise ValueError(f"unknown device {device!r}: use one of {', '.join(DEVICES)} or cuda:N")
    if kind == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} was asked for but torch sees no CUDA GPU")
    return torch.device(device)


def half_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast type on ``device``: bf16 where the GPU has it, else fp16; None on CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op CPU threads (None: leave torch's setting)."""
    if threads is None:
        yield
        return
    if threads <= 0:
        raise ValueError(f"threads must be positive, got {threads}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


SAVE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def save_dtype(name: str) -> torch.dtype:
    """The torch dtype to store weights in, by name."""
    if name not in SAVE_DTYPES:
        raise ValueError(f"unknown save dtype {name!r}: use one of {', '.join(SAVE_DTYPES)}")
    return SAVE_DTYPES[name]


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its Linear layers in int8 (dynamic quantisation: int8 weights, activations
    quantised per batch), for CPU inference. torch 2.13 still ships this API and warns that it
    moves to torchao; the warning is silenced here, the result is checked by the PII benchmark
    (F1 of int8 against fp32 on the validation split, pii/model/default/README.md)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

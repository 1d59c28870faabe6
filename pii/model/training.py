"""The optimisation loop shared by MLM pretraining and token-classification fine-tuning.

AdamW with linear warmup then linear decay to zero, gradient clipping at norm 1.0 and weight decay
0.01 off biases and LayerNorm weights (BERT, Devlin et al. 2019), Adam betas (0.9, 0.98) and eps
1e-6 (RoBERTa, Liu et al. 2019, Table 9). On CUDA the forward pass runs under bf16 autocast where
the GPU has bf16 (fp16 would need loss scaling; without bf16 training stays in fp32).
"""
from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from pii.model.runtime import save_dtype

ADAM_BETAS = (0.9, 0.98)  # RoBERTa (Liu et al. 2019, Table 9)
ADAM_EPS = 1e-6  # RoBERTa (Liu et al. 2019, Table 9)
GRAD_CLIP = 1.0  # BERT's optimiser clips the global gradient norm at 1.0 (Devlin et al. 2019 code)
LOG_FILE = "train_log.json"


@dataclasses.dataclass(frozen=True)
class Hyperparameters:
    """What pretraining and fine-tuning both take; each sets its own peak ``lr``."""

    lr: float  # peak learning rate
    steps: int | None = None  # None: the task's own length (one pass, or its epochs)
    # BERT's fine-tuning batch range {16, 32} (Devlin et al. 2019, §A.3); fits a CPU
    batch_size: int = 32
    # RoBERTa fine-tuning warms up over the first 6% of steps (Liu et al. 2019, Table 10)
    warmup_ratio: float = 0.06
    # BERT and RoBERTa (Devlin et al. 2019, §A.2; Liu et al. 2019, Table 9)
    weight_decay: float = 0.01
    seed: int = 0
    threads: int | None = None  # None: torch's default
    device: str = "auto"
    log_every: int = 10  # a loss point every 10 steps: 100 points over 1,000 steps
    save_dtype: str = "float32"  # "float16" halves the shipped file

    def __post_init__(self) -> None:
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")
        if self.log_every <= 0:
            raise ValueError(f"log_every must be positive, got {self.log_every}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")

    def logged(self, steps: int) -> dict:
        """The ``args`` of ``train_log.json``: these, with the steps run (seed and device are
        logged beside them)."""
        return {name: value for name, value in dataclasses.asdict(self).items()
                if name not in ("seed", "device")} | {"steps": steps}


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (weights, dropout) so a run repeats exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS)


def _warmup_then_decay(steps: int, warmup: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))
    return factor


def model_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The loss the model computes itself from a batch with ``labels``."""
    return model(**batch).loss


def train_steps(model: torch.nn.Module, batches: Iterator[dict[str, torch.Tensor]],
                hyper: Hyperparameters, *, steps: int, device: torch.device,
                loss_of: Callable[[torch.nn.Module, dict], torch.Tensor] = model_loss,
                ) -> tuple[list[dict], dict]:
    """Run ``steps`` optimiser steps on ``batches`` (each with ``labels``), minimising ``loss_of``.

    ``steps`` and ``device`` are the run's, resolved from ``hyper``. Returns the log (mean loss and
    learning rate every ``hyper.log_every`` steps and at the last step) and the run's totals
    (seconds, non-padding tokens, tokens/s).
    """
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    model.to(device).train()
    optimizer = _optimizer(model, hyper.lr, hyper.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_then_decay(steps, max(1, round(steps * hyper.warmup_ratio))))
    use_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    log: list[dict] = []
    interval_loss, interval_steps, tokens = 0.0, 0, 0
    started = time.perf_counter()
    for step in range(1, steps + 1):
        batch = {name: tensor.to(device, non_blocking=True) for name, tensor in next(batches).items()}
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_bf16):
            loss = loss_of(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        rate = schedule.get_last_lr()[0]
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        interval_loss += loss.item()
        interval_steps += 1
        tokens += int(batch["attention_mask"].sum())
        if step % hyper.log_every == 0 or step == steps:
            log.append({"step": step, "loss": round(interval_loss / interval_steps, 6),
                        "lr": float(f"{rate:.6g}")})
            interval_loss, interval_steps = 0.0, 0
    seconds = time.perf_counter() - started
    model.eval()
    return log, {"seconds": round(seconds, 3), "tokens": tokens,
                 "tokens_per_s": round(tokens / seconds, 1)}


def save_checkpoint(model, tokenizer, out_dir: str | Path, dtype: str, log: dict) -> Path:
    """Write the model (safetensors, weights in ``dtype``), its tokenizer and ``train_log.json``.

    The model itself is moved to the CPU in ``dtype`` (no second copy of the weights is made).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.to("cpu", dtype=save_dtype(dtype)).save_pretrained(out)
    tokenizer.save_pretrained(out)
    log = {**log, "weights_bytes": (out / "model.safetensors").stat().st_size}
    (out / LOG_FILE).write_text(json.dumps(log, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def parameter_count(model: torch.nn.Module) -> int:
    """Number of parameters (``parameters()`` yields tied embeddings once)."""
    return sum(p.numel() for p in model.parameters())

"""``curate train``: the training loop over a release (StarCoder's recipe, scaled down).

AdamW with linear warm-up and cosine decay (StarCoder §5.2), gradient clipping and accumulation,
bf16 autocast and ``torch.compile`` on CUDA only, DDP when launched by ``torchrun``
(``WORLD_SIZE`` > 1; rank 0 evaluates and writes). Checkpoints (``OUT/checkpoints/step-N``:
safetensors weights and the tokenizer through ``save_pretrained``, so transformers' Auto classes
load them, plus optimizer, scheduler, RNG states and each rank's data position) every
``checkpoint_every`` steps and at the end; ``--resume`` continues from ``checkpoints/LATEST``
exactly as if never stopped. ``OUT/metrics.jsonl`` holds a line per step and per evaluation
(held-out loss per language), ``OUT/loss.png`` the curves.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, TextIO

import torch

from pipeline.shards import resolve_release
from training.config import TrainConfig, config_dict
from training.data import PackedStream, heldout_records, heldout_tokens
from training.model import EOS_ID, build_model, parameter_count
from training.tokenizer import (FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, load_tokenizer,
                                train_release_tokenizer)

CHECKPOINTS = "checkpoints"
LATEST = "LATEST"
KEEP_CHECKPOINTS = 2  # older ones are removed: a base checkpoint is ~4 GB with its optimizer
SAMPLE_TOKENS = 48    # new tokens of the closing completion and infill samples


@dataclasses.dataclass(frozen=True)
class Runtime:
    """Where this process trains: its device and data-parallel rank."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def start_runtime(device: str = "auto") -> Runtime:
    """The device (``auto``: CUDA when present), and torch.distributed set up when launched by
    torchrun with ``WORLD_SIZE`` > 1 (NCCL on CUDA, gloo on CPU)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Runtime(torch.device(device))
    torch.distributed.init_process_group("nccl" if device == "cuda" else "gloo")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local_rank)
    return Runtime(torch.device(device, local_rank) if device == "cuda" else torch.device(device),
                   torch.distributed.get_rank(), world_size)


def _barrier(runtime: Runtime) -> None:
    if runtime.world_size > 1:
        torch.distributed.barrier()


def lr_factor(step: int, config: TrainConfig) -> float:
    """The learning rate at ``step`` over ``config.lr``: linear warm-up, then cosine decay to
    ``min_lr`` at the last step (StarCoder §5.2)."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    floor = config.min_lr / config.lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model: torch.nn.Module, config: TrainConfig
                   ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW, weight decay on matrices only (not biases, norms), and its schedule."""
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    others = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": matrices, "weight_decay": config.weight_decay},
         {"params": others, "weight_decay": 0.0}],
        lr=config.lr, betas=config.betas, eps=config.eps)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, config))


def train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               scheduler: torch.optim.lr_scheduler.LambdaLR,
               next_batch: Callable[[], torch.Tensor], config: TrainConfig,
               runtime: Runtime) -> tuple[float, float]:
    """One optimizer step over ``grad_accum`` micro-batches: (mean loss, gradient norm)."""
    total = 0.0
    for micro in range(config.grad_accum):
        batch = next_batch().to(runtime.device, non_blocking=True)
        last = micro == config.grad_accum - 1
        sync = (contextlib.nullcontext() if last or runtime.world_size == 1
                else model.no_sync())
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if runtime.cuda
                    else contextlib.nullcontext())
        with sync, autocast:
            loss = model(input_ids=batch, labels=batch).loss / config.grad_accum
        with sync:
            loss.backward()
        total += loss.item()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return total, float(norm)


@torch.no_grad()
def heldout_loss(model: torch.nn.Module, tokens: dict[str, list[int]], seq_len: int,
                 runtime: Runtime) -> dict[str, float]:
    """Mean next-token loss per language over its held-out tokens, in sequences of
    ``seq_len`` (the last one shorter), weighted by predicted tokens."""
    model.eval()
    losses = {}
    for language, ids in tokens.items():
        total, count = 0.0, 0
        for start in range(0, len(ids), seq_len):
            chunk = torch.tensor([ids[start:start + seq_len]], device=runtime.device)
            if chunk.shape[1] < 2:
                continue
            autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if runtime.cuda
                        else contextlib.nullcontext())
            with autocast:
                loss = model(input_ids=chunk, labels=chunk).loss
            total += loss.item() * (chunk.shape[1] - 1)
            count += chunk.shape[1] - 1
        if count:
            losses[language] = total / count
    model.train()
    return losses


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint ``OUT/checkpoints/LATEST`` names, if any."""
    pointer = Path(out) / CHECKPOINTS / LATEST
    if not pointer.is_file():
        return None
    return Path(out) / CHECKPOINTS / pointer.read_text(encoding="utf-8").strip()


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def save_checkpoint(out: Path, step: int, model, optimizer, scheduler, data: PackedStream,
                    config: TrainConfig, runtime: Runtime, tokens: int) -> Path:
    """Write ``checkpoints/step-N`` (each rank its data position), then point LATEST at it."""
    directory = Path(out) / CHECKPOINTS / f"step-{step:07d}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"data-rank{runtime.rank}.json").write_text(
        json.dumps(data.state_dict()), encoding="utf-8")
    if runtime.main:
        model.save_pretrained(str(directory))
        for path in (Path(out) / "tokenizer").iterdir():
            shutil.copy(path, directory / path.name)
        torch.save({"step": step, "tokens": tokens, "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "rng": _rng_state()},
                   directory / "trainer.pt")
        (directory / "train_config.json").write_text(
            json.dumps(config_dict(config), indent=2), encoding="utf-8")
    _barrier(runtime)
    if runtime.main:
        pending = directory.parent / (LATEST + ".tmp")
        pending.write_text(directory.name + "\n", encoding="utf-8")
        os.replace(pending, directory.parent / LATEST)
        for old in sorted(directory.parent.glob("step-*"))[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old)
    return directory


def _load_trainer_state(directory: Path, optimizer, scheduler, data: PackedStream,
                        runtime: Runtime) -> tuple[int, int]:
    """Restore optimizer, scheduler, RNG and this rank's data position: (step, tokens)."""
    state = torch.load(directory / "trainer.pt", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    data.load_state_dict(json.loads(
        (directory / f"data-rank{runtime.rank}.json").read_text(encoding="utf-8")))
    return state["step"], state["tokens"]


def _keep_metrics_until(path: Path, step: int) -> None:
    """Drop metric lines past ``step`` (written after the checkpoint a resume starts from)."""
    if path.is_file():
        lines = [line for line in path.read_text(encoding="utf-8").splitlines()
                 if json.loads(line)["step"] <= step]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def plot_losses(metrics: Path, png: Path) -> Path:
    """Training loss and held-out loss per language against the step (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines()]
    figure, axes = plt.subplots(figsize=(8, 5))
    train = [row for row in rows if "loss" in row]
    axes.plot([r["step"] for r in train], [r["loss"] for r in train], label="train", alpha=0.6)
    evals = [row for row in rows if "heldout" in row]
    for language in sorted({name for row in evals for name in row["heldout"]}):
        points = [(r["step"], r["heldout"][language]) for r in evals if language in r["heldout"]]
        axes.plot(*zip(*points), marker="o", label=f"held-out {language}")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats/token)")
    axes.legend()
    figure.savefig(png, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return png


def samples(model, tokenizer, release: Path, config: TrainConfig, runtime: Runtime
            ) -> dict[str, str]:
    """A greedy completion of the first held-out document's opening, and an infill of its
    middle (PSM: ``<fim_prefix>prefix<fim_suffix>suffix<fim_middle>``)."""
    text = next((r["content"] for _, r in heldout_records(release, config.data.heldout_fraction)
                 if r["content"]), "def main():\n")
    cut = max(1, len(text) // 3)
    room = config.model.n_positions - SAMPLE_TOKENS  # prompt tokens that fit the context
    prefix, suffix = tokenizer.encode(text[:cut]).ids, tokenizer.encode(text[2 * cut:]).ids
    prompts = {"completion": prefix[-room:],
               "infill": [tokenizer.token_to_id(FIM_PREFIX), *prefix[-(room // 2 - 2):],
                          tokenizer.token_to_id(FIM_SUFFIX), *suffix[:room // 2 - 1],
                          tokenizer.token_to_id(FIM_MIDDLE)]}
    model.eval()
    results = {}
    for name, ids in prompts.items():
        prompt = torch.tensor([ids], device=runtime.device)
        output = model.generate(prompt, attention_mask=torch.ones_like(prompt),
                                max_new_tokens=SAMPLE_TOKENS, do_sample=False,
                                pad_token_id=EOS_ID)
        results[name] = tokenizer.decode(output[0, len(ids):].tolist(),
                                         skip_special_tokens=False)
    model.train()
    return results


def train(release: Path, out: Path, config: TrainConfig, device: str = "auto",
          resume: bool = False, stop_at: int | None = None, log: TextIO | None = None) -> dict:
    """Train on ``release`` into ``out``; ``stop_at`` ends the run early at that step (the
    schedule still spans ``config.steps``), as a preempted job would; progress goes to ``log``
    (stderr by default). Returns a summary."""
    from transformers import GPTBigCodeForCausalLM
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # save_pretrained's bar would break the log
    log = log or sys.stderr

    release, out = resolve_release(release), Path(out)
    runtime = start_runtime(device)
    out.mkdir(parents=True, exist_ok=True)
    if runtime.main and not (out / "tokenizer" / "tokenizer.json").is_file():
        train_release_tokenizer(release, out / "tokenizer", config.vocab_size)
    _barrier(runtime)
    tokenizer = load_tokenizer(out / "tokenizer")
    checkpoint = latest_checkpoint(out) if resume else None
    if resume and checkpoint is None:
        print(f"curate train: no checkpoint in {out / CHECKPOINTS}, starting afresh", file=log)
    torch.manual_seed(config.seed)
    model = (GPTBigCodeForCausalLM.from_pretrained(str(checkpoint)) if checkpoint
             else build_model(config.model, tokenizer.get_vocab_size()))
    raw = model.to(runtime.device)
    optimizer, scheduler = make_optimizer(raw, config)
    data = PackedStream(release, tokenizer, config.data, config.seed, runtime.rank,
                        runtime.world_size)
    step, tokens = (_load_trainer_state(checkpoint, optimizer, scheduler, data, runtime)
                    if checkpoint else (0, 0))
    if runtime.cuda:
        model = torch.compile(model)
    if runtime.world_size > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[runtime.device.index] if runtime.cuda else None)
    metrics = out / "metrics.jsonl"
    if runtime.main:
        if checkpoint:
            _keep_metrics_until(metrics, step)
        else:
            metrics.unlink(missing_ok=True)
    eval_tokens = heldout_tokens(release, tokenizer, config.data.heldout_fraction,
                                 config.eval_sequences * config.data.seq_len)
    tokens_per_step = (config.batch_size * config.data.seq_len * config.grad_accum
                       * runtime.world_size)
    end = min(config.steps, stop_at) if stop_at is not None else config.steps
    if runtime.main:
        print(f"curate train: {parameter_count(raw) / 1e6:.2f}M parameters, "
              f"{runtime.device} x{runtime.world_size}, steps {step}..{end} of {config.steps}, "
              f"{tokens_per_step} tokens a step", file=log)
    started, first_tokens = time.perf_counter(), tokens
    window_start, window_step = started, step
    heldout: dict[str, float] = {}

    def evaluate(sink: TextIO) -> dict[str, float]:
        losses = heldout_loss(raw, eval_tokens, config.data.seq_len, runtime)
        sink.write(json.dumps({"step": step, "heldout": losses}) + "\n")
        print(f"step {step} held-out loss " + ", ".join(
            f"{name} {value:.4f}" for name, value in losses.items()), file=log, flush=True)
        return losses

    with open(metrics, "a", encoding="utf-8") if runtime.main else contextlib.nullcontext() as sink:
        if runtime.main and step == 0:
            evaluate(sink)  # the untrained model's: where the curves start
        while step < end:
            loss, norm = train_step(model, optimizer, scheduler,
                                    lambda: data.next_batch(config.batch_size), config, runtime)
            step += 1
            tokens += tokens_per_step
            if runtime.main:
                lr = scheduler.get_last_lr()[0]
                sink.write(json.dumps({"step": step, "loss": loss, "grad_norm": norm, "lr": lr,
                                       "tokens": tokens}) + "\n")
                if step % config.log_every == 0 or step == end:
                    now = time.perf_counter()
                    rate = (step - window_step) * tokens_per_step / (now - window_start)
                    print(f"step {step}/{end} loss {loss:.4f} lr {lr:.2e} {rate:,.0f} tokens/s "
                          f"ETA {_duration((end - step) * tokens_per_step / rate)}",
                          file=log, flush=True)
                    window_start, window_step = now, step
                if step % config.eval_every == 0 or step == end:
                    heldout = evaluate(sink)
                sink.flush()
            if step % config.checkpoint_every == 0 or step == end:
                save_checkpoint(out, step, raw, optimizer, scheduler, data, config, runtime,
                                tokens)
    elapsed = time.perf_counter() - started
    summary = {"step": step, "tokens": tokens, "seconds": elapsed,
               "tokens_per_s": (tokens - first_tokens) / elapsed if elapsed else 0.0,
               "heldout": heldout, "checkpoint": str(latest_checkpoint(out))}
    if runtime.main and step == config.steps:
        summary["plot"] = str(plot_losses(metrics, out / "loss.png"))
        summary["samples"] = samples(raw, tokenizer, release, config, runtime)
    if runtime.world_size > 1:
        torch.distributed.destroy_process_group()
    return summary

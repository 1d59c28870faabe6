"""Benchmark of the training data path (issue 13): does reading a release cost throughput?

In one process, on one release, for ``--repeats`` rounds (medians reported), the same model (a
preset, ``small`` by default: GPTBigCode, seeded, the same initial weights) takes the same
optimizer steps (:func:`training.loop.train_step`) fed two ways, the two models' steps
interleaved one by one so the machine's noise falls on both alike:

- ``in-memory``: batches of random token ids made beforehand, cycled (no data path at all);
- ``data path``: :class:`training.data.PackedStream` on the release (pyarrow row groups,
  shuffle buffer, language mix, metadata, FIM, tokenization, packing), as ``curate train``;

then ``curate train`` itself (:func:`training.loop.train`, its summary's tokens/s, which also
counts its closing held-out evaluation and checkpoint), and the data path alone (no model),
whose time per token over a step's is its cost where loading is not overlapped with compute
(as here: one process, no loader workers).

The release: ``--release`` (a build's output or one version), else a synthetic one written with
the project's shard writer from the Python, C and header files of this interpreter's standard
library and installed packages (real code, sorted, the first ``--files``).

Run: ``.venv/bin/python bench/train_bench.py [--release out/demo] [--config small]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import platform
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch

from pipeline.config import ShardConfig
from pipeline.schema import content_hash, new_record, record_id
from pipeline.shards import resolve_release, switch_current, write_kept_shards, write_manifest
from training.config import load_train_config
from training.data import PackedStream
from training.loop import Runtime, make_optimizer, train, train_step
from training.model import build_model
from training.tokenizer import load_tokenizer, train_release_tokenizer

LANGUAGES = {".py": "python", ".c": "c", ".h": "c"}


def synthetic_release(out: Path, files: int) -> Path:
    """A release of the first ``files`` source files under the interpreter's library."""
    root = Path(sysconfig.get_paths()["purelib"]).parent
    rows = []
    for path in sorted(root.rglob("*")):
        if len(rows) == files:
            break
        if path.suffix not in LANGUAGES or not path.is_file() or path.stat().st_size > 200_000:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        relative = str(path.relative_to(root))
        repo = "python/" + relative.split("/")[0]
        rows.append(new_record(
            id=record_id("file", repo, relative, content_hash(text)), kind="file", repo=repo,
            path=relative, language=LANGUAGES[path.suffix], extension=path.suffix[1:],
            content=text, content_hash=content_hash(text), size=len(text.encode()), stars=0,
            forks=0))
    rows.sort(key=lambda row: (row["kind"], row["language"], row["id"]))
    release = out / "releases" / "v1.0.0"
    infos = write_kept_shards(iter(rows), release, ShardConfig(target_shard_bytes=8_000_000))
    write_manifest(release, {"shards": [info.path for info in infos]})
    switch_current(out, "v1.0.0")
    return out


def side_by_side(config, vocab_size: int, feeds: dict, steps: int
                 ) -> tuple[dict[str, float], float]:
    """Tokens/s of each of two feeds: one fresh seeded model per feed, their optimizer steps
    interleaved one by one (after one warm-up step each), so noise falls on both alike; and the
    median over steps of the paired step-time ratio, second feed over first (robust to a noisy
    machine: a burst of load lands on one pair)."""
    runtime = Runtime(torch.device("cpu"))
    trainers = {}
    for name in feeds:
        torch.manual_seed(config.seed)
        model = build_model(config.model, vocab_size)
        trainers[name] = (model, *make_optimizer(model, config))
    seconds: dict[str, list[float]] = {name: [] for name in feeds}
    for step in range(steps + 1):
        for name, next_batch in feeds.items():
            started = time.perf_counter()
            train_step(*trainers[name], next_batch, config, runtime)
            if step:
                seconds[name].append(time.perf_counter() - started)
    tokens = steps * config.batch_size * config.grad_accum * config.data.seq_len
    first, second = seconds.values()
    return ({name: tokens / sum(times) for name, times in seconds.items()},
            statistics.median(b / a for a, b in zip(first, second)))


def loading_rate(release: Path, tokenizer, config, tokens: int) -> float:
    """Tokens/s of the data path alone, over ``tokens`` tokens after its buffers are filled."""
    stream = PackedStream(release, tokenizer, config.data, config.seed)
    stream.next_batch(config.batch_size)
    batches = max(1, tokens // (config.batch_size * config.data.seq_len))
    started = time.perf_counter()
    for _ in range(batches):
        stream.next_batch(config.batch_size)
    return batches * config.batch_size * config.data.seq_len / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--release", type=Path, help="a release (default: synthetic)")
    parser.add_argument("--files", type=int, default=3000, help="files of the synthetic release")
    parser.add_argument("--config", default="small", help="training preset or file")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loading-tokens", type=int, default=2_000_000,
                        help="tokens the data path alone produces per round")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="train-bench-"))
    release = resolve_release(args.release or synthetic_release(work / "release", args.files))
    base = load_train_config(args.config)
    config = dataclasses.replace(base, steps=args.steps + 1, eval_every=10**9,
                                 checkpoint_every=10**9, log_every=10**9)
    started = time.perf_counter()
    train_release_tokenizer(release, work / "tokenizer", config.vocab_size)
    tokenizer_seconds = time.perf_counter() - started
    tokenizer = load_tokenizer(work / "tokenizer")
    vocab = tokenizer.get_vocab_size()
    shape = (config.batch_size, config.data.seq_len)
    generator = torch.Generator().manual_seed(0)
    memory = [torch.randint(vocab, shape, generator=generator) for _ in range(16)]

    batches = itertools.cycle(memory)
    results: dict[str, list[float]] = {}
    ratios: list[float] = []
    for _ in range(args.repeats):
        stream = PackedStream(release, tokenizer, config.data, config.seed)
        rates, paired = side_by_side(config, vocab, {
            "in-memory": lambda: next(batches),
            "data path": lambda: stream.next_batch(config.batch_size)}, args.steps)
        ratios.append(paired)
        out = Path(tempfile.mkdtemp(dir=work))
        shutil.copytree(work / "tokenizer", out / "tokenizer")
        with open(os.devnull, "w") as quiet:
            rates["curate train"] = train(release, out, config, device="cpu",
                                          log=quiet)["tokens_per_s"]
        rates["data path alone (no model)"] = loading_rate(release, tokenizer, config,
                                                           args.loading_tokens)
        for name, rate in rates.items():
            results.setdefault(name, []).append(rate)
    median = {name: statistics.median(values) for name, values in results.items()}

    shards = sorted(release.glob("data/*/*/*.parquet"))
    print(f"# curate train throughput, {time.strftime('%Y-%m-%d')}\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), Python {platform.python_version()}; release "
          f"{release} ({len(shards)} shards, {sum(p.stat().st_size for p in shards) / 1e6:.1f} "
          f"MB); config {args.config}: {config.model}, batch {shape}, {args.steps} timed steps, "
          f"{args.repeats} rounds; tokenizer trained in {tokenizer_seconds:.1f} s "
          f"({vocab} tokens)\n")
    print("| fed by | tokens/s (median) | runs | vs in-memory |\n|---|---:|---|---:|")
    for name, values in results.items():
        print(f"| {name} | {median[name]:,.0f} | {', '.join(f'{v:,.0f}' for v in values)} | "
              f"{median[name] / median['in-memory']:.3f} |")
    step_share = median["in-memory"] / median["data path alone (no model)"]
    print(f"\nData path cost, side by side: {1 - median['data path'] / median['in-memory']:.1%} "
          f"of in-memory throughput by medians of rounds; {statistics.median(ratios) - 1:.1%} "
          f"by the median paired step-time ratio (rounds: "
          f"{', '.join(f'{r - 1:.1%}' for r in ratios)}). The data path alone takes "
          f"{step_share:.2%} of a step's time per token.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

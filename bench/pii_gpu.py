"""NER inference throughput (MB/s) on a GPU; Markdown on stdout.

Measures :meth:`pii.model.inference.NerModel.predict` (the build's model path: all windows of
a chunk of texts, length-sorted, bf16 autocast, pinned memory) for

- the shipped default model (``pii/model/default``), and
- a StarEncoder-size encoder (``base``: 12 layers, 768 hidden, 12 heads) built from the default
  model's tokenizer with random weights: throughput does not depend on the weights' values
  (the vocabulary is the default tokenizer's 8,192 instead of StarEncoder's 49,152: only the
  embedding lookup and nothing of the encoder's cost changes).

at several window batch sizes, after a warm-up, with ``torch.cuda.synchronize`` around the timed
region. Texts: ``--texts`` (JSONL with ``text``, e.g. out/pii-synth/test.jsonl) or, by default,
this repository's own source and text files, repeated to ``--megabytes``.
Target (issue 4): >= 10 MB/s on one H100 with the StarEncoder-size model; StarPII took 800
A100-hours for 800 GB (~0.28 MB/s per GPU).

Run on the device machine: ``.venv/bin/python bench/pii_gpu.py`` (``--device cpu`` runs the same
measurement on CPU for comparison).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForTokenClassification

from pii.detector import DEFAULT_MODEL_DIR, quiet_transformers
from pii.model.inference import NerModel
from pii.model.sizes import SIZES, bert_config

REPO = Path(__file__).resolve().parents[1]
_SOURCE_SUFFIXES = (".py", ".md", ".toml", ".txt", ".json")


def load_texts(path: Path | None, megabytes: float) -> list[str]:
    if path is not None:
        return [json.loads(line)["text"] for line in path.open(encoding="utf-8") if line.strip()]
    files = sorted(p for p in REPO.rglob("*") if p.suffix in _SOURCE_SUFFIXES and p.is_file()
                   and not {".venv", "out", "default"} & set(p.parts)
                   and p.stat().st_size < 10**6)
    base = [p.read_text(encoding="utf-8", errors="replace") for p in files]
    texts, size = [], 0
    while size < megabytes * 1e6:
        text = base[len(texts) % len(base)]
        texts.append(text)
        size += len(text.encode())
    return texts


def base_size_model_dir(scratch: Path) -> Path:
    """A StarEncoder-shape token classifier with the default tokenizer, random weights."""
    tokenizer = AutoTokenizer.from_pretrained(DEFAULT_MODEL_DIR, local_files_only=True)
    default_config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    config = bert_config(SIZES["base"], len(tokenizer), tokenizer.pad_token_id,
                         id2label={int(k): v for k, v in default_config["id2label"].items()},
                         label2id=default_config["label2id"])
    torch.manual_seed(0)
    BertForTokenClassification(config).save_pretrained(scratch)
    tokenizer.save_pretrained(scratch)
    return scratch


def measure(model: NerModel, texts: list[str], batch_size: int) -> dict:
    model.predict(texts[:64], batch_size=batch_size)  # warm-up: kernels, allocator
    if model.device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    model.predict(texts, batch_size=batch_size)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    megabytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    peak = torch.cuda.max_memory_allocated() / 2**30 if model.device.type == "cuda" else 0.0
    return {"batch_size": batch_size, "seconds": seconds, "mb_per_s": megabytes / seconds,
            "peak_gib": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=Path)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--batch-sizes", default="16,64,256")
    parser.add_argument("--models", default="default,base")
    args = parser.parse_args()

    quiet_transformers()
    texts = load_texts(args.texts, args.megabytes)
    megabytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    device_name = (torch.cuda.get_device_name(0) if args.device == "cuda"
                   else f"CPU, {torch.get_num_threads()} threads")
    print(f"## NER throughput on {device_name} ({megabytes:.1f} MB, {len(texts)} texts, "
          f"torch {torch.__version__})\n")
    print("| model | windows/batch | seconds | MB/s | peak GPU GiB |\n|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        dirs = {"default": DEFAULT_MODEL_DIR, "base": None}
        for name in args.models.split(","):
            model_dir = dirs[name] or base_size_model_dir(Path(scratch))
            model = NerModel.from_dir(model_dir, device=args.device)
            for batch_size in (int(b) for b in args.batch_sizes.split(",")):
                row = measure(model, texts, batch_size)
                print(f"| {name} | {batch_size} | {row['seconds']:.1f} | {row['mb_per_s']:.2f} | "
                      f"{row['peak_gib']:.1f} |", flush=True)
            del model
            if args.device == "cuda":
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())

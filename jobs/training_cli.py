"""``curate tokenizer train`` and ``curate train``: thin wrappers over ``training/``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _tokenizer_train(args: argparse.Namespace) -> int:
    from training.tokenizer import train_release_tokenizer

    out = train_release_tokenizer(args.release, args.out, args.vocab_size)
    print(f"tokenizer -> {out}", file=sys.stderr)
    return 0


def _train(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from training.config import load_train_config
    from training.loop import train

    config = load_train_config(args.config)
    if args.max_steps is not None:
        config = dataclasses.replace(config, steps=args.max_steps)
    summary = train(args.release, args.out, config, args.device, args.resume)
    for name, text in summary.pop("samples", {}).items():
        print(f"--- {name} sample ---\n{text}")
    print(json.dumps(summary, indent=2))
    return 0


def add_training_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``tokenizer`` and ``train`` on the ``curate`` parser."""
    from training.config import PRESETS
    from training.tokenizer import VOCAB_SIZE

    tokenizer = commands.add_parser("tokenizer", help="the training stage's tokenizer")
    tokenizer_commands = tokenizer.add_subparsers(dest="tokenizer_command", required=True)
    train = tokenizer_commands.add_parser(
        "train", help="train StarCoder's byte-level BPE (with its special tokens) on a release")
    train.add_argument("--release", required=True, type=Path,
                       help="a build's output directory (its CURRENT version) or one version's")
    train.add_argument("--out", required=True, type=Path, help="output directory")
    train.add_argument("--vocab-size", type=int, default=VOCAB_SIZE,
                       help=f"vocabulary size (default {VOCAB_SIZE}, StarCoder's)")
    train.set_defaults(run=_tokenizer_train)

    trainer = commands.add_parser(
        "train", help="train a StarCoder-architecture model (GPTBigCode) on a release")
    trainer.add_argument("--release", required=True, type=Path,
                         help="a build's output directory (its CURRENT version) or one version's")
    trainer.add_argument("--out", required=True, type=Path,
                         help="output directory: tokenizer/, checkpoints/, metrics.jsonl, "
                         "loss.png")
    trainer.add_argument("--config", default="tiny",
                         help=f"a preset ({', '.join(PRESETS)}) or a TOML/JSON file "
                         "(default tiny)")
    trainer.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                         help="auto: CUDA when present (default)")
    trainer.add_argument("--resume", action="store_true",
                         help="continue from OUT/checkpoints/LATEST, exactly")
    trainer.add_argument("--max-steps", type=int,
                         help="optimizer steps, overriding the config's (the schedule spans them)")
    trainer.set_defaults(run=_train)

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


def add_training_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``tokenizer`` and ``train`` on the ``curate`` parser."""
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

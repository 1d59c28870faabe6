"""``curate pii ...``: scan, redact, evaluate, audit, and make the model (synth, pretrain, train)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Iterator

from pii.entities import Span
from pii.labelled import language_of, read_jsonl, read_labelled

_CHUNK_DOCS = 512  # documents read, detected and written at a time: bounded memory


def _chunks(items: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _detector(args: argparse.Namespace):
    from pii.detector import load_detector

    return load_detector(args.model, args.device)


def _span_json(span: Span) -> dict:
    return span.to_dict()


def _scan_or_redact(args: argparse.Namespace, redacting: bool) -> int:
    from pii.redact import redact_keeping_syntax

    detector = _detector(args)
    documents = 0
    with open(args.output, "w", encoding="utf-8") as out:
        for chunk in _chunks(read_jsonl(args.input, ("id", "text")), _CHUNK_DOCS):
            languages = [language_of(d) for d in chunk]
            found = detector.detect([d["text"] for d in chunk], languages)
            for item, spans, language in zip(chunk, found, languages):
                if redacting:
                    text, spans, _ = redact_keeping_syntax(item["text"], spans, language)
                    line = {"id": item["id"], "text": text,
                            "spans": [_span_json(s) for s in spans]}
                else:
                    line = {"id": item["id"], "spans": [_span_json(s) for s in spans]}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            documents += len(chunk)
    print(f"{documents} documents -> {args.output}", file=sys.stderr)
    return 0


def evaluate_file(gold_path: Path, detector) -> tuple[dict, dict, float, float]:
    """Tallies of ``detector`` on a gold file, the recall on its held-out families' spans
    (empty when it marks none), its megabytes and seconds of detection."""
    from pii.evaluate import evaluate, held_out_recall

    docs = read_labelled(gold_path)
    texts = [doc.text for doc in docs]
    started = time.perf_counter()
    predicted = detector.detect(texts, [doc.language for doc in docs])
    seconds = time.perf_counter() - started
    megabytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) / 1e6
    held_out = (held_out_recall([list(doc.held_out) for doc in docs], predicted)
                if any(doc.held_out for doc in docs) else {})
    return evaluate([list(doc.spans) for doc in docs], predicted), held_out, megabytes, seconds


def _tally_dicts(tallies: dict) -> dict:
    return {mode: {label: t.to_dict() for label, t in by_label.items()}
            for mode, by_label in tallies.items()}


def _eval(args: argparse.Namespace) -> int:
    from pii.evaluate import recall_table, report_table

    tallies, held_out, megabytes, seconds = evaluate_file(args.gold, _detector(args))
    if args.json:
        print(json.dumps(_tally_dicts(tallies) | {"held_out_recall": _tally_dicts(held_out),
                                              "megabytes": megabytes, "seconds": seconds},
                         indent=2))
    else:
        print(report_table(tallies, f"{args.gold} (model: {args.model})"))
        if held_out:
            print()
            print(recall_table(held_out, "held-out templates (never trained on): recall"))
        print(f"\n{megabytes:.2f} MB in {seconds:.1f} s: {megabytes / seconds:.3f} MB/s")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from pii.audit import audit_release, write_reports

    release = args.release.resolve()
    out = args.out or release.parent / f"{release.name}.pii-audit"
    report = audit_release(release)
    markdown, page = write_reports(report, out)
    residual = ", ".join(f"{k}={v}" for k, v in sorted(report.residual.items()))
    print(f"{report.files} files, {report.megabytes:.2f} MB; residual: {residual or 'none'}")
    print(f"reports: {markdown} {page}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from pii.synth import build_dataset

    stats = build_dataset(args.shards, args.out, n_train=args.train, n_test=args.test,
                          seed=args.seed, n_validation=args.validation)
    print(json.dumps(stats, indent=2, sort_keys=True))
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from pii.detector import quiet_transformers
    from pii.model.pretrain import pretrain

    quiet_transformers()
    pretrain(args.shards, args.out, size=args.size, steps=args.steps, seq_len=args.seq_len,
             batch_size=args.batch_size, seed=args.seed, threads=args.threads,
             device=args.device)
    print(f"pretrained encoder -> {args.out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from pii.detector import quiet_transformers
    from pii.model.finetune import finetune

    quiet_transformers()
    finetune(args.train, args.out, init_dir=args.init, size=args.size, epochs=args.epochs,
             lr=args.lr, batch_size=args.batch_size, seed=args.seed, threads=args.threads,
             device=args.device, save_dtype=args.save_dtype)
    print(f"token classifier -> {args.out}")
    return 0


def _model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="default",
                        help="model directory (any local Hugging Face token-classification "
                             "checkpoint), 'default' (the shipped model) or 'none' (patterns only)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))


def add_pii_commands(commands: argparse._SubParsersAction) -> None:
    """The ``pii`` command group of ``curate``."""
    pii = commands.add_parser("pii", help="find, redact and audit PII; train the PII model")
    sub = pii.add_subparsers(dest="pii_command", required=True)

    for name, redacting in (("scan", False), ("redact", True)):
        command = sub.add_parser(name, help=("detect PII" if not redacting else
                                             "detect and redact PII")
                                + " in JSONL {id, text[, language or path]}")
        command.add_argument("--input", required=True, type=Path)
        command.add_argument("--output", required=True, type=Path)
        _model_arguments(command)
        command.set_defaults(run=lambda a, r=redacting: _scan_or_redact(a, r))

    evaluation = sub.add_parser("eval", help="P/R/F1 per entity against a gold JSONL")
    evaluation.add_argument("--gold", required=True, type=Path)
    evaluation.add_argument("--json", action="store_true")
    _model_arguments(evaluation)
    evaluation.set_defaults(run=_eval)

    audit = sub.add_parser("audit", help="residual PII in a release, HTML + Markdown report")
    audit.add_argument("release", type=Path, help="release directory (with data/)")
    audit.add_argument("--out", type=Path, help="report directory (default RELEASE.pii-audit)")
    audit.set_defaults(run=_audit)

    synth = sub.add_parser("synth", help="labelled PII data in real code contexts")
    synth.add_argument("--shards", required=True, type=Path, help="a release's data/ directory")
    synth.add_argument("--out", required=True, type=Path)
    synth.add_argument("--train", type=int, default=20000, help="training documents")
    synth.add_argument("--test", type=int, default=3000, help="held-out test documents")
    synth.add_argument("--validation", type=int, default=3000,
                       help="validation documents (training templates, own seed) for tuning")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(run=_synth)

    # Defaults: the recipe of the shipped model (pii/model/default/README.md).
    pretrain = sub.add_parser("pretrain", help="tokenizer + masked-LM encoder on shards")
    pretrain.add_argument("--shards", required=True, type=Path)
    pretrain.add_argument("--out", required=True, type=Path)
    pretrain.add_argument("--size", default="mini", help="tiny, mini, small, base or LxH")
    pretrain.add_argument("--steps", type=int, default=1000)
    pretrain.add_argument("--seq-len", type=int, default=256)
    pretrain.add_argument("--batch-size", type=int, default=32)
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--threads", type=int, default=2,
                          help="CPU threads (results are identical for equal threads and device)")
    pretrain.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    pretrain.set_defaults(run=_pretrain)

    train = sub.add_parser("train", help="fine-tune the encoder for PII token classification")
    train.add_argument("--train", required=True, type=Path, help="labelled JSONL")
    train.add_argument("--init", type=Path, help="pretrained encoder directory")
    train.add_argument("--out", required=True, type=Path)
    train.add_argument("--size", help="without --init: tiny, mini, small, base or LxH")
    train.add_argument("--epochs", type=int, default=3)
    train.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    train.add_argument("--save-dtype", default="float16", choices=("float32", "float16"))
    train.set_defaults(run=_train)

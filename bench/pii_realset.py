"""PII recall on real code: the Author/Maintainer names and e-mails of each demo sdist's
PKG-INFO, found again in the package's own files (issue 8, item 3; :mod:`pii.realset`).

The set (with the values: personal data) and the figures go to ``--out`` (default
``out/realset``, git-ignored); stdout gets a Markdown report with counts only, never values.
Recall only: the files hold other PII that nobody labelled. Needs the cached demo sdists
(``make demo`` or ``make out/pii-synth/test.jsonl`` downloads them).

``--split dev|blind`` keeps half of the packages, fixed by the sha256 of each package's name
(:func:`pii.realset.package_split`): rules are tuned on ``dev`` and ``blind`` is measured once,
at the end; ``all`` (the default) keeps every package.

Run: ``.venv/bin/python bench/pii_realset.py [--model default|none|DIR] [--threads N]
[--split dev|blind|all]``.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

from jobs.demo import DEMO_PACKAGES, SDIST_DIR_NAME, cached_sdist, default_cache_dir
from pii.detector import load_detector
from pii.realset import SPLITS, in_split, read_package, score_occurrences, summarise
from pipeline.config import PiiConfig

# Files per detector call, as the build's PII stage.
BATCH_SIZE = PiiConfig.batch_size


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _table(title: str, rows: dict[str, dict]) -> list[str]:
    lines = [f"| {title} | occurrences | found | found in part | recall | recall, any label |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, t in rows.items():
        lines.append(f"| {key} | {t['occurrences']} | {t['found']} | {t['found_in_part']} | "
                     f"{_pct(t['recall'])} | {_pct(t['recall_any'])} |")
    return lines


def report(figures: dict) -> str:
    """The Markdown report: counts and ratios only."""
    s, meta = figures["summary"], figures["run"]
    lines = [f"## PII recall on real code ({meta['date']}, {meta['machine']}, "
             f"{meta['cores']} cores, model {meta['model']}, {meta['threads']} threads, "
             f"split {meta['split']})", "",
             f"{meta['packages']} sdists ({meta['packages_with_values']} with values), "
             f"{meta['kept_files']} kept text files, {meta['files']} of them with an occurrence "
             f"({meta['megabytes']:.2f} MB); detector {meta['detect_seconds']:.1f} s, "
             f"{meta['mb_per_s']:.3f} MB/s; whole run {meta['total_seconds']:.1f} s.", "",
             f"Values: {meta['values']}; skipped: {meta['skipped_values']}. Files left out as "
             f"the build leaves them: {meta['skipped_files']}.", "",
             "| entity | packages | occurrences | recall (all) | recall (per package) | "
             "recall any label (all / per package) |", "|---|---:|---:|---:|---:|---:|"]
    for label, t in s.items():
        lines.append(f"| {label} | {t['packages']} | {t['occurrences']} | {_pct(t['recall'])} | "
                     f"{_pct(t['macro_recall'])} | {_pct(t['recall_any'])} / "
                     f"{_pct(t['macro_recall_any'])} |")
    for label, t in s.items():
        lines += ["", f"### {label}", ""] + _table("file kind", t["by_kind"])
        lines += [""] + _table("language", t["by_language"])
        lines += [""] + _table("package", t["by_package"])
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help='"default", "none" or a directory')
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="torch CPU threads")
    parser.add_argument("--split", choices=SPLITS, default="all",
                        help="packages by the sha256 of their name: dev (even first byte), "
                             "blind (odd) or all")
    parser.add_argument("--out", type=Path, default=Path("out/realset"))
    parser.add_argument("--cache", type=Path, default=default_cache_dir(),
                        help="the demo cache (its sdists/ folder)")
    args = parser.parse_args()

    started = time.perf_counter()
    files, packages, values = [], {}, collections.Counter()
    skipped_values, skipped_files, kept_files = collections.Counter(), collections.Counter(), 0
    for package in DEMO_PACKAGES:
        if not in_split(package.name, args.split):
            continue
        sdist = cached_sdist(args.cache / SDIST_DIR_NAME, package)
        if sdist is None:
            print(f"{package.name}: no cached sdist under {args.cache}; run `make demo` first",
                  file=sys.stderr)
            return 2
        read = read_package(sdist, package.repo)
        packages[package.repo] = read
        values.update(value.label for value in read.values)
        skipped_values.update(read.skipped_values)
        skipped_files.update(read.skipped_files)
        kept_files += read.kept_files
        files += [{"package": package.repo, **item} for item in read.files]

    detector = load_detector(args.model, "cpu", args.threads)
    texts = [item["text"] for item in files]
    detect_started = time.perf_counter()
    spans = []
    for at in range(0, len(texts), BATCH_SIZE):
        spans += detector.detect(texts[at:at + BATCH_SIZE],
                                 [item["language"] for item in files[at:at + BATCH_SIZE]])
    detect_seconds = time.perf_counter() - detect_started

    hits = []
    for item, found in zip(files, spans):
        for occurrence, (same, any_label, touched) in zip(
                item["occurrences"], score_occurrences(item["occurrences"], found)):
            hits.append({"package": item["package"], "kind": item["kind"],
                         "language": item["language"], "label": occurrence.label,
                         "found": same, "covered_any": any_label, "touched": touched})
    megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts) / 1e6
    figures = {
        "run": {"date": str(datetime.date.today()), "machine": platform.machine(),
                "cores": os.cpu_count(), "model": args.model, "threads": args.threads,
                "split": args.split, "packages": len(packages),
                "packages_with_values": sum(bool(p.values) for p in packages.values()),
                "values": dict(values), "skipped_values": dict(skipped_values),
                "skipped_files": dict(skipped_files), "kept_files": kept_files,
                "files": len(files), "megabytes": megabytes, "detect_seconds": detect_seconds,
                "mb_per_s": megabytes / detect_seconds if detect_seconds else None,
                "total_seconds": time.perf_counter() - started},
        "summary": summarise(hits),
    }

    args.out.mkdir(parents=True, exist_ok=True)
    suffix = Path(args.model).name + ("" if args.split == "all" else f"-{args.split}")
    set_name = "set.jsonl" if args.split == "all" else f"set-{args.split}.jsonl"
    with open(args.out / set_name, "w", encoding="utf-8") as set_file, \
            open(args.out / f"spans-{suffix}.jsonl", "w", encoding="utf-8") as spans_file:
        for item, found in zip(files, spans):
            where = {"package": item["package"], "path": item["path"]}
            set_file.write(json.dumps({
                **where, "language": item["language"], "kind": item["kind"],
                "occurrences": [{"label": o.label, "start": o.start, "end": o.end,
                                 "value": o.value} for o in item["occurrences"]]},
                ensure_ascii=False) + "\n")
            spans_file.write(json.dumps({**where, "spans": [s.to_dict() for s in found]}) + "\n")
    (args.out / f"figures-{suffix}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

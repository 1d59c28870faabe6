"""Benchmark of the build on the demo corpus (real PyPI sdists).

Reports, as Markdown on stdout:
1. the build plan in one process on one core (``pipeline/runner.py``, the stages the Spark job
   runs): files/s and MB/s into each stage;
2. the licence detection with and without its cache (every licence file of the corpus);
3. the licence decision of each package root against the package's own metadata licence:
   accuracy, copyleft called permissive, permissive called non-permissive, each mismatch;
4. the whole Spark build on ``local[*]``: seconds, files/s and MB/s per stage.

Run: ``make bench`` or ``.venv/bin/python bench/build_bench.py [--skip-spark]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as ds

from jobs.demo import demo_labels, prepare_demo_corpus
from licenses.detect import LicenseDetector
from licenses.files import is_license_file
from licenses.policy import classify
from licenses.resolve import resolve_directory
from pipeline.config import BuildConfig
from pipeline.ingest import RepoEntry, ingest_repository, read_manifest
from pipeline.plan import stages_of
from pipeline.runner import run_plan


def _rate(files: int, size: int, seconds: float) -> str:
    seconds = max(seconds, 1e-9)
    return f"{files / seconds:,.0f} | {size / seconds / 1e6:,.2f}"


def _size(records: list[dict]) -> int:
    return sum(r["size"] or 0 for r in records)


def in_process(manifest: Path, config: BuildConfig) -> list[tuple[str, int, int, float]]:
    """The build plan in one process (pipeline/runner.py), stage by stage: (stage, records
    in, bytes in, seconds); the reader's bytes are those of the files it read."""
    rows = []

    def measure(stage, given, output, counters) -> None:
        rows.append((stage.name, counters.records_in, _size(output if given is None else given),
                     counters.seconds))

    run_plan(stages_of(config), [dataclasses.asdict(e) for e in read_manifest(manifest)],
             measure)
    return rows


def ingest_licence_files(manifest: Path, config: BuildConfig):
    """Each repository's licence files (what the licence sections below measure)."""
    ingested = []
    for entry in read_manifest(manifest):
        if not isinstance(entry, RepoEntry):  # an issues input has no licence files
            continue
        with tempfile.TemporaryDirectory() as scratch:
            ingested.append((entry, ingest_repository(entry, config.ingest, Path(scratch),
                                                      is_license_file)))
    return ingested


def licence_cache(ingested, config: BuildConfig) -> list[str]:
    """Detection over every licence file, cache off vs cache on (cold, then warm)."""
    texts = [text for _, repo in ingested for _, text in sorted(repo.license_files.items())]
    lines = []
    uncached = LicenseDetector(use_cache=False)
    per_file = []
    started = time.perf_counter()
    for text in texts:
        one = time.perf_counter()
        uncached.detect(text)
        per_file.append(time.perf_counter() - one)
    off = time.perf_counter() - started
    cached = LicenseDetector(use_cache=True)
    started = time.perf_counter()
    for text in texts:
        cached.detect(text)
    cold = time.perf_counter() - started
    info = cached.cache_info()
    started = time.perf_counter()
    for text in texts:
        cached.detect(text)
    warm = time.perf_counter() - started
    quantiles = statistics.quantiles(per_file, n=20)
    lines.append(f"{len(texts)} licence files; {info['entries']} distinct after normalisation "
                 f"(copyright lines stripped): {info['hits']} cache hits in the first pass.")
    lines.append("")
    lines.append("| detection | seconds | files/s |")
    lines.append("|---|---|---|")
    for label, seconds in (("cache off", off), ("cache on, cold (empty at start)", cold),
                           ("cache on, warm (second pass)", warm)):
        lines.append(f"| {label} | {seconds:.2f} | {len(texts) / max(seconds, 1e-9):,.1f} |")
    lines.append("")
    lines.append(f"Per file without cache: median {statistics.median(per_file) * 1000:.0f} ms, "
                 f"p95 {quantiles[18] * 1000:.0f} ms, worst {max(per_file) * 1000:.0f} ms.")
    return lines


def licence_agreement(ingested, detector: LicenseDetector, config: BuildConfig) -> list[str]:
    """The root decision of each package against its metadata licence."""
    labels = demo_labels()
    rows, mismatches = [], []
    copyleft_as_permissive = permissive_as_not = agree = labelled = 0
    for entry, repo in ingested:
        label = labels.get(entry.name)
        root_files = {p: t for p, t in repo.license_files.items() if "/" not in p}
        decision = resolve_directory(root_files, detector, config.licenses)
        if label is None:
            rows.append((entry.name, "(ambiguous)", decision.expression, decision.license_class,
                         "not scored"))
            continue
        labelled += 1
        expected = classify(label) == "permissive"
        got = decision.license_class == "permissive"
        verdict = "agree" if expected == got else "MISMATCH"
        agree += expected == got
        copyleft_as_permissive += got and not expected
        permissive_as_not += expected and not got
        rows.append((entry.name, label, decision.expression, decision.license_class, verdict))
        if expected != got:
            mismatches.append(f"- {entry.name}: label {label}, decided {decision.expression} "
                              f"({decision.license_class}) from {', '.join(decision.files) or '-'}")
    lines = [
        f"Packages with an unambiguous label: {labelled}; agreement on permissive-or-not: "
        f"{agree}/{labelled} = {agree / max(labelled, 1):.1%}; copyleft called permissive: "
        f"{copyleft_as_permissive}; permissive called non-permissive: {permissive_as_not}.",
        "",
        "| package | metadata label | decided | class | |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in rows]
    lines += ["", "Mismatches:" if mismatches else "Mismatches: none."] + mismatches
    return lines


def spark_build(manifest: Path, config: BuildConfig) -> list[str]:
    """The whole build on local[*]; per-stage seconds and throughput from its work dirs."""
    from jobs.build import run_build

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = run_build(manifest, Path(out), config)
        total = time.perf_counter() - started
        work = sorted(p for p in (Path(out) / "work").iterdir() if p.is_dir())
        # bytes into each stage: all ingested files, then what the stage before kept
        sizes, previous_kept = {}, 0
        for directory, name in zip(work, [c.name for c in result.counters]):
            table = ds.dataset(directory, format="parquet").to_table(columns=["size", "reason"])
            rows = table.to_pylist()
            sizes[name] = sum(r["size"] or 0 for r in rows) if name == "ingest" else previous_kept
            previous_kept = sum(r["size"] or 0 for r in rows if r["reason"] is None)
        sizes["release"] = previous_kept
    lines = ["| stage | records in | kept | seconds | files/s | MB/s |", "|---|---|---|---|---|---|"]
    for c in result.counters:
        size = sizes.get(c.name, 0)
        lines.append(f"| {c.name} | {c.records_in} | {c.kept} | {c.seconds:.1f} | "
                     f"{_rate(c.records_in, size, c.seconds)} |")
    ingested = result.counters[0]
    lines.append(f"| **whole build** (session start included) | {ingested.records_in} | "
                 f"{result.manifest['counts']['kept']} | {total:.1f} | "
                 f"{_rate(ingested.records_in, sizes.get('ingest', 0), total)} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="demo corpus cache directory")
    parser.add_argument("--skip-spark", action="store_true", help="in-process parts only")
    args = parser.parse_args()
    manifest = prepare_demo_corpus(args.cache)
    config = BuildConfig()
    print(f"# Build benchmark ({time.strftime('%Y-%m-%d')}, {platform.machine()}, "
          f"Python {platform.python_version()}, {len(read_manifest(manifest))} demo packages)\n")
    started = time.perf_counter()
    detector = LicenseDetector()
    print(f"ScanCode index load: {time.perf_counter() - started:.1f} s\n")

    rows = in_process(manifest, config)
    ingested = ingest_licence_files(manifest, config)
    print("## The build plan in one process (one core, pipeline/runner.py)\n")
    print("| stage | files | MB | seconds | files/s | MB/s |\n|---|---|---|---|---|---|")
    for name, files, size, seconds in rows:
        print(f"| {name} | {files} | {size / 1e6:.1f} | {seconds:.2f} | "
              f"{_rate(files, size, seconds)} |")
    print("\n## Licence detection cache\n")
    print("\n".join(licence_cache(ingested, config)))
    print("\n## Licence decisions against the packages' metadata\n")
    print("\n".join(licence_agreement(ingested, detector, config)))
    if not args.skip_spark:
        print("\n## The Spark build (local[*])\n")
        print("\n".join(spark_build(manifest, config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

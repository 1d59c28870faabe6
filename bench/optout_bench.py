"""Benchmark of opt-out on a published release and of the membership index (issue 11).

On a synthetic release of at least ``--gigabytes`` of zstd shards (seeded, written with the
project's shard writer), with ``--optout-share`` of its repositories opted out by verified
requests, it measures and prints as Markdown:

1. the membership index built with the release: MB/s of content (and of shards), the filter's
   size against the release's and its measured false-positive rate;
2. ``curate optout apply``: seconds per step, shards rewritten vs carried over;
3. lookups per second in the filter, and ``curate membership check`` of a 10 kB snippet:
   in-process and as a command; ``curate membership user`` from the index vs a scan of the
   shards' ``repo`` column.

The synthetic code is lines drawn from a seeded pool of template lines (identifiers, numbers,
calls). It compresses about 2.2x under zstd, real code about 3x (the demo release), so the
filter's share of the shards is larger on real code; its share of the content is the same.

Run: ``.venv/bin/python bench/optout_bench.py [--out out/optout-bench] [--gigabytes 1]``.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from optout.apply import plan_apply, publish
from optout.membership import MembershipIndex, ReleaseMembership, ngram_hashes, random_probes
from optout.registry import Registry, new_request
from pipeline.config import BuildConfig, config_hash, config_to_dict
from pipeline.schema import RECORD_SCHEMA, SCHEMA_VERSION, content_hash, new_record, record_id
from pipeline.shards import ShardInfo, group_dir, switch_current, write_group, write_manifest

VERSION = "v1.0.0"
LANGUAGES = ("python", "go", "javascript")  # one shard series each
TEMPLATES = (
    "def {a}_{b}({c}, {d}={n}):", "    {a} = {b}.{c}({d}, {n})", "    if {a} > {n}:",
    "        return {a} + {b} * {n}", "    for {a} in range({n}):",
    "        {a}.append({b}[{n}])", "class {A}{B}({C}):", '    """{a} the {b} of {c}."""',
    "import {a}.{b}", "from {a} import {b}, {c}", "    # {a} {b} {c} {n}", "",
    "    {a}_{b} = {{'{c}': {n}, '{d}': {a}}}", "    raise {A}Error(f'{b} {{{c}}}')",
)
SYLLABLES = ("ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "va", "ze", "bo", "cu", "di",
             "fa", "ge", "hi", "jo", "ku", "la", "me")


def line_pool(rng: np.random.Generator, size: int) -> list[str]:
    """``size`` code-like lines from the templates, identifiers of 2-3 syllables."""
    words = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("", *SYLLABLES[:6])]
    picks = rng.integers(0, len(words), size=(size, 4))
    numbers = rng.integers(0, 1000, size=size)
    kinds = rng.integers(0, len(TEMPLATES), size=size)
    return [TEMPLATES[kind].format(
        a=words[p[0]], b=words[p[1]], c=words[p[2]], d=words[p[3]], n=number,
        A=words[p[0]].title(), B=words[p[1]].title(), C=words[p[2]].title())
        for kind, p, number in zip(kinds, picks, numbers)]


@dataclasses.dataclass(frozen=True)
class Synthetic:
    """What the generator made: the release directory, its repositories and records."""

    release: Path
    repos: list[str]
    records: int
    content_bytes: int


def _records(rng: np.random.Generator, pool: list[str], repos: list[str], language: str,
             target_bytes: int, made: collections.Counter) -> Iterator[dict]:
    """Records of ``language`` until ``target_bytes`` of content: files of 20-300 pool lines
    in random repositories; ``made`` counts records and content bytes."""
    while made[language] < target_bytes:
        lines = rng.integers(0, len(pool), size=int(rng.integers(20, 300)))
        content = "\n".join(pool[i] for i in lines) + "\n"
        repo = repos[int(rng.integers(0, len(repos)))]
        path = f"src/m{made['records']}.{language[:2]}"
        blob = content_hash(content)
        made[language] += len(content)
        made["records"] += 1
        yield new_record(id=record_id("file", repo, path, blob), kind="file", repo=repo,
                         path=path, blob_sha=blob[:40], language=language,
                         extension=language[:2], size=len(content), encoding="utf-8",
                         content=content, content_hash=blob, license="MIT",
                         license_class="permissive", stars=0, forks=0, pii_spans=[])


def synthetic_release(out: Path, gigabytes: float, seed: int,
                      config: BuildConfig) -> tuple[Synthetic, dict]:
    """A release of at least ``gigabytes`` of shards under ``out`` (made afresh), without its
    membership index, and its manifest. Content is written in rounds (shards
    ``part-rN-*.parquet``) until the shards are large enough, each round's size estimated from
    the compression ratio seen so far. Shards are not sorted by id: nothing here needs it."""
    shutil.rmtree(out, ignore_errors=True)
    release = out / "releases" / VERSION
    rng = np.random.default_rng(seed)
    pool = line_pool(rng, 40_000)
    repos = [f"owner{i // 4}/repo{i}" for i in range(20_000)]
    infos: list[ShardInfo] = []
    made: collections.Counter = collections.Counter()
    ratio = 3.0  # content bytes per shard byte, until measured
    for round_number in range(100):
        wanted = gigabytes * 1e9 - sum(info.bytes for info in infos)
        if wanted <= 0:
            break
        for language in LANGUAGES:
            target = made[language] + int(wanted * ratio / len(LANGUAGES)) + 1
            infos += write_group(_records(rng, pool, repos, language, target, made), release,
                                 group_dir("file", language), RECORD_SCHEMA, config.shards,
                                 prefix=f"part-r{round_number}")
        ratio = sum(made[language] for language in LANGUAGES) / sum(i.bytes for i in infos)
    total = made["records"]
    kept_by_language = {language: sum(i.rows for i in infos
                                      if i.path.startswith(group_dir("file", language) + "/"))
                        for language in LANGUAGES}
    manifest = {
        "schema_version": SCHEMA_VERSION, "release": VERSION, "config_hash": config_hash(config),
        "config": config_to_dict(config), "repositories": len(repos),
        "counts": {"ingested": total, "kept": total, "excluded": 0,
                   "kept_by_kind": {"file": total}, "excluded_by_kind": {},
                   "kept_by_language": kept_by_language, "kept_by_license": {"MIT": total},
                   "kept_by_license_class": {"permissive": total},
                   "excluded_by_reason": {}, "excluded_by_stage": {}, "pii_spans_by_label": {}},
        "fingerprints": {}, "stages": [],
        "shards": sorted((dataclasses.asdict(info) for info in infos), key=lambda i: i["path"]),
        "excluded_shards": [], "columns": RECORD_SCHEMA.names,
    }
    content_bytes = sum(made[language] for language in LANGUAGES)
    return Synthetic(release, repos, total, content_bytes), manifest


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/optout-bench"))
    parser.add_argument("--gigabytes", type=float, default=1.0,
                        help="shard bytes of the release, at least (default 1)")
    parser.add_argument("--optout-share", type=float, default=0.01,
                        help="share of repositories opted out (default 0.01)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = BuildConfig()
    started = time.perf_counter()
    synthetic, manifest = synthetic_release(args.out, args.gigabytes, args.seed, config)
    generated = time.perf_counter() - started
    shard_bytes = sum(shard["bytes"] for shard in manifest["shards"])

    started = time.perf_counter()
    manifest["membership"] = MembershipIndex(config.membership).write(synthetic.release,
                                                                      manifest)
    indexed = time.perf_counter() - started
    write_manifest(synthetic.release, manifest)
    switch_current(args.out, VERSION)
    index = manifest["membership"]

    home = args.out / "home"
    opted = np.random.default_rng(args.seed + 1).choice(
        len(synthetic.repos), size=max(1, round(len(synthetic.repos) * args.optout_share)),
        replace=False)
    with Registry.open(home) as registry:
        for position in sorted(opted):
            request = registry.add(new_request("repo", synthetic.repos[position])).request
            registry.verify(request.id, by="bench")
    started = time.perf_counter()
    plan = plan_apply(args.out, home)
    planned = time.perf_counter() - started
    steps: dict[str, float] = {}
    last = time.perf_counter()

    def timed(step: str) -> None:
        nonlocal last
        now = time.perf_counter()
        steps[step], last = now - last, now

    publish(plan, after_step=timed)
    applied = planned + sum(steps.values())
    new_release = args.out / "releases" / plan.version

    membership = ReleaseMembership(new_release)
    probes = ngram_hashes(random_probes(1_000_000, 50, seed=7))
    started = time.perf_counter()
    membership.bloom.contains(probes)
    lookups = len(probes) / (time.perf_counter() - started)
    strings = random_probes(200_000, 50, seed=8)
    started = time.perf_counter()
    membership.bloom.contains(ngram_hashes(strings))
    hashed_lookups = len(strings) / (time.perf_counter() - started)

    first = pq.read_table(new_release / plan.manifest["shards"][0]["path"], columns=["content"])
    snippet = "".join(first.column("content").to_pylist()[:40])[1234:1234 + 10_000]
    (args.out / "snippet.txt").write_text(snippet, encoding="utf-8")
    started = time.perf_counter()
    result = ReleaseMembership(new_release).check(snippet)
    in_process = time.perf_counter() - started
    command = [sys.executable, "-m", "jobs.cli", "membership", "check",
               str(args.out / "snippet.txt"), "--release", str(args.out)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    as_command = time.perf_counter() - started

    owner = synthetic.repos[0].split("/")[0]
    started = time.perf_counter()
    from_index = membership.repositories(owner)
    user_index = time.perf_counter() - started
    started = time.perf_counter()
    scanned = collections.Counter()
    for shard in plan.manifest["shards"]:
        repos = pq.read_table(new_release / shard["path"], columns=["repo"]).column("repo")
        mine = pc.starts_with(pc.utf8_lower(repos), owner + "/")
        scanned.update(repos.filter(mine).to_pylist())
    user_scan = time.perf_counter() - started
    assert sorted(scanned.items()) == from_index

    new_manifest = json.loads((new_release / "manifest.json").read_text())
    carried = len(plan.manifest["shards"]) - len(plan.rewrite)
    print(f"## Opt-out and membership bench (`bench/optout_bench.py`, seed {args.seed})\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}.\n")
    print("| release | value |\n|---|---|")
    print(f"| shards (zstd) | {_mb(shard_bytes)} MB in {len(manifest['shards'])} shards |")
    print(f"| content | {_mb(synthetic.content_bytes)} MB, {synthetic.records:,} files, "
          f"{len(synthetic.repos):,} repositories ({synthetic.content_bytes / shard_bytes:.2f}x "
          "compression) |")
    print(f"| generated in | {generated:,.0f} s |")
    print("\n| membership index (with the release) | value |\n|---|---|")
    print(f"| build | {indexed:,.1f} s: {synthetic.content_bytes / indexed / 1e6:,.1f} MB/s of "
          f"content, {shard_bytes / indexed / 1e6:,.1f} MB/s of shards |")
    print(f"| n-grams inserted | {index['count']:,} (k = {index['k']}, m = {index['m']:,} bits) |")
    print(f"| filter size | {_mb(index['filter_bytes'])} MB: "
          f"{index['fraction_of_shard_bytes']:.1%} of the shards, "
          f"{index['fraction_of_content_bytes']:.1%} of the content |")
    print(f"| false-positive rate | configured {index['fpr']:g}, measured "
          f"{index['measured_fpr']:.5f} on {index['fpr_probes']:,} random strings |")
    print(f"\n| `curate optout apply` ({len(opted)} of {len(synthetic.repos):,} repositories "
          "opted out) | value |\n|---|---|")
    print(f"| records removed | {plan.removed:,} |")
    print(f"| shards | {len(plan.rewrite)} rewritten, {carried} carried over |")
    print(f"| seconds | {applied:,.1f} in all: plan {planned:,.1f}, "
          + ", ".join(f"{step} {seconds:,.1f}" for step, seconds in steps.items()) + " |")
    print(f"| new filter | {_mb(new_manifest['membership']['filter_bytes'])} MB, measured "
          f"rate {new_manifest['membership']['measured_fpr']:.5f} |")
    print("\n| queries | value |\n|---|---|")
    print(f"| filter lookups | {lookups:,.0f}/s of hashed n-grams; {hashed_lookups:,.0f}/s "
          "with hashing |")
    print(f"| `membership check`, 10 kB snippet | {in_process * 1e3:,.0f} ms in process "
          f"(open the filter + look up {result.checked:,} n-grams: {result.verdict}), "
          f"{as_command:,.2f} s as a command |")
    print(f"| `membership user` | {user_index * 1e3:,.1f} ms from membership/repos.parquet, "
          f"{user_scan:,.2f} s scanning the shards' repo column |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

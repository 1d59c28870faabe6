"""Benchmark of opt-out on a published release and of the membership index (issue 11).

On a synthetic release of at least ``--gigabytes`` of zstd shards (seeded, written with the
project's shard writer), with ``--optout-share`` of its repositories opted out by verified
requests, it measures and prints as Markdown:

1. the release steps written with the release: the membership index (MB/s of content and of
   shards, the filter's size against the release's, its measured false-positive rate) and the
   near-copy signatures (MB/s, bytes a record, share of the shards);
2. ``curate optout apply`` twice: ``--few`` repositories opted out, then ``--optout-share`` of
   them ``--with-copies``: records removed, shards rewritten vs carried over, seconds per step;
3. lookups per second in the filter, and ``curate membership check`` of a 10 kB snippet:
   in-process and as a command; ``curate membership user`` from the index vs a scan of the
   shards' ``repo`` column.

Records are in the releases' order (by repository within a language: ``--order repo``) or
scattered over the shards as the former order by id left them (``--order id``), to compare the
shards an apply rewrites.

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

from optout.apply import ApplyPlan, plan_apply, publish
from optout.membership import ReleaseMembership, ngram_hashes, random_probes
from optout.registry import Registry, new_request
from pipeline.config import BuildConfig, ShardConfig, config_hash, config_to_dict
from pipeline.plan import release_steps_of
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


def _file(rng: np.random.Generator, pool: list[str], repo: str, language: str,
          made: collections.Counter) -> dict:
    """A file of 20-300 pool lines in ``repo``; ``made`` counts records and content bytes."""
    lines = rng.integers(0, len(pool), size=int(rng.integers(20, 300)))
    content = "\n".join(pool[i] for i in lines) + "\n"
    path = f"src/m{made['records']}.{language[:2]}"
    blob = content_hash(content)
    made[language] += len(content)
    made["records"] += 1
    return new_record(id=record_id("file", repo, path, blob), kind="file", repo=repo, path=path,
                      blob_sha=blob[:40], language=language, extension=language[:2],
                      size=len(content), encoding="utf-8", content=content, content_hash=blob,
                      license="MIT", license_class="permissive", stars=0, forks=0,
                      pii_spans=[])


def _records(rng: np.random.Generator, pool: list[str], repos: list[str], language: str,
             target_bytes: int, made: collections.Counter, order: str) -> Iterator[dict]:
    """Records of ``language``, about ``target_bytes`` of content, in random repositories,
    in the release's order (``repo``: by repository, then id, as pipeline.shards.KEPT_ORDER)
    or scattered as a random id order leaves them (``id``)."""
    if order == "id":
        while made[language] < target_bytes:
            yield _file(rng, pool, repos[int(rng.integers(0, len(repos)))], language, made)
        return
    mean_file = (np.mean([len(line) + 1 for line in pool]) * 159.5)  # 20-300 lines
    per_repo = target_bytes / mean_file / len(repos)
    for repo in sorted(repos):
        files = [_file(rng, pool, repo, language, made)
                 for _ in range(int(rng.poisson(per_repo)))]
        yield from sorted(files, key=lambda record: record["id"])


def synthetic_release(out: Path, gigabytes: float, seed: int, config: BuildConfig,
                      order: str = "repo", repositories: int = 20_000
                      ) -> tuple[Synthetic, dict]:
    """A release of about ``gigabytes`` of shards under ``out`` (made afresh), without its
    release steps' files, and its manifest. The content written per language follows the
    compression ratio of a 3 MB pilot; records are in ``order`` (see :func:`_records`)."""
    shutil.rmtree(out, ignore_errors=True)
    release = out / "releases" / VERSION
    rng = np.random.default_rng(seed)
    pool = line_pool(rng, 40_000)
    repos = [f"owner{i // 4}/repo{i}" for i in range(repositories)]
    pilot: collections.Counter = collections.Counter()
    infos = write_group(_records(rng, pool, repos, "python", 3_000_000, pilot, "id"),
                        out / "pilot", "data", RECORD_SCHEMA, config.shards)
    ratio = pilot["python"] / sum(info.bytes for info in infos)
    shutil.rmtree(out / "pilot")
    infos = []
    made: collections.Counter = collections.Counter()
    for language in LANGUAGES:
        target = int(gigabytes * 1e9 * ratio * 1.05 / len(LANGUAGES))  # 5%: at least
        infos += write_group(_records(rng, pool, repos, language, target, made, order),
                             release, group_dir("file", language), RECORD_SCHEMA,
                             config.shards)
    total = made["records"]
    kept_by_language = {language: sum(i.rows for i in infos
                                      if i.path.startswith(group_dir("file", language) + "/"))
                        for language in LANGUAGES}
    manifest = {
        "schema_version": SCHEMA_VERSION, "release": VERSION, "config_hash": config_hash(config),
        "config": config_to_dict(config), "repositories": len(repos),
        "input_manifest_sha256": "none: a synthetic release",
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


@dataclasses.dataclass
class ApplyRound:
    """One ``curate optout apply`` of the bench: the repositories it opts out (positions in
    the synthetic list; those of earlier rounds are applied already) and what it measured."""

    label: str
    positions: np.ndarray
    with_copies: bool
    plan: ApplyPlan | None = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    def run(self, out: Path, home: Path, repos: list[str]) -> None:
        """Verify a request per repository, then plan and publish, timing each step."""
        with Registry.open(home) as registry:
            for position in sorted(self.positions):
                request = registry.add(new_request("repo", repos[position])).request
                registry.verify(request.id, by="bench")
        last = time.perf_counter()
        self.plan = plan_apply(out, home, self.with_copies)

        def timed(step: str) -> None:
            nonlocal last
            now = time.perf_counter()
            self.seconds[step], last = now - last, now

        timed("plan")
        publish(self.plan, after_step=timed)

    def row(self) -> str:
        plan = self.plan
        carried = len(plan.manifest["shards"]) - len(plan.rewrite)
        return (f"| {plan.version} | {self.label} | {plan.removed:,} ({len(plan.copies)} "
                f"near-copies) | {len(plan.rewrite)} / {carried} | "
                f"{sum(self.seconds.values()):,.1f}: "
                + ", ".join(f"{step} {seconds:,.1f}" for step, seconds in self.seconds.items())
                + " |")


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/optout-bench"))
    parser.add_argument("--gigabytes", type=float, default=1.0,
                        help="shard bytes of the release, at least (default 1)")
    parser.add_argument("--optout-share", type=float, default=0.01,
                        help="share of repositories opted out (default 0.01)")
    parser.add_argument("--few", type=int, default=3,
                        help="repositories opted out by the first apply, before the share "
                             "(default 3)")
    parser.add_argument("--order", choices=("repo", "id"), default="repo",
                        help="records by repository, as releases order them (default), or "
                             "scattered as the former id order left them")
    parser.add_argument("--shard-mb", type=float, default=ShardConfig.target_shard_bytes / 1e6,
                        help="target content per shard, MB (default: [shards]'s)")
    parser.add_argument("--repositories", type=int, default=20_000,
                        help="repositories the files are spread over (default 20,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = BuildConfig(shards=ShardConfig(target_shard_bytes=int(args.shard_mb * 1e6)))
    started = time.perf_counter()
    synthetic, manifest = synthetic_release(args.out, args.gigabytes, args.seed, config,
                                            args.order, args.repositories)
    generated = time.perf_counter() - started
    shard_bytes = sum(shard["bytes"] for shard in manifest["shards"])

    step_seconds: dict[str, float] = {}
    for step in release_steps_of(config):
        started = time.perf_counter()
        manifest[step.name] = step.write(synthetic.release, manifest)
        step_seconds[step.name] = time.perf_counter() - started
    indexed = step_seconds["membership"]
    write_manifest(synthetic.release, manifest)
    switch_current(args.out, VERSION)
    index, signatures = manifest["membership"], manifest["signatures"]

    home = args.out / "home"
    shuffled = np.random.default_rng(args.seed + 1).permutation(len(synthetic.repos))
    share = max(1, round(len(synthetic.repos) * args.optout_share))
    rounds = [ApplyRound(f"{args.few} repositories", shuffled[:args.few], False),
              ApplyRound(f"{share} of {len(synthetic.repos):,} repositories (those and "
                         f"{share - args.few} more), --with-copies", shuffled[args.few:share],
                         True)]
    for apply_round in rounds:
        apply_round.run(args.out, home, synthetic.repos)
    plan = rounds[-1].plan
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
    print(f"## Opt-out and membership bench (`bench/optout_bench.py`, seed {args.seed})\n")
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}.\n")
    print("| release | value |\n|---|---|")
    print(f"| shards (zstd) | {_mb(shard_bytes)} MB in {len(manifest['shards'])} shards |")
    print(f"| content | {_mb(synthetic.content_bytes)} MB, {synthetic.records:,} files, "
          f"{len(synthetic.repos):,} repositories ({synthetic.content_bytes / shard_bytes:.2f}x "
          "compression) |")
    print(f"| generated in | {generated:,.0f} s ({args.order} order, shards of "
          f"{args.shard_mb:g} MB of content) |")
    print("\n| release steps (with the release) | value |\n|---|---|")
    print(f"| build | {indexed:,.1f} s: {synthetic.content_bytes / indexed / 1e6:,.1f} MB/s of "
          f"content, {shard_bytes / indexed / 1e6:,.1f} MB/s of shards |")
    print(f"| n-grams inserted | {index['count']:,} (k = {index['k']}, m = {index['m']:,} bits) |")
    print(f"| filter size | {_mb(index['filter_bytes'])} MB: "
          f"{index['fraction_of_shard_bytes']:.1%} of the shards, "
          f"{index['fraction_of_content_bytes']:.1%} of the content |")
    print(f"| false-positive rate | configured {index['fpr']:g}, measured "
          f"{index['measured_fpr']:.5f} on {index['fpr_probes']:,} random strings; after the "
          f"applies {_mb(new_manifest['membership']['filter_bytes'])} MB, "
          f"{new_manifest['membership']['measured_fpr']:.5f} |")
    print(f"| signatures | {step_seconds['signatures']:,.1f} s: "
          f"{synthetic.content_bytes / step_seconds['signatures'] / 1e6:,.1f} MB/s of content; "
          f"{_mb(signatures['bytes'])} MB, {signatures['bytes_per_record']:,.0f} bytes a "
          f"record, {signatures['fraction_of_shard_bytes']:.1%} of the shards |")
    print(f"\n| `curate optout apply` (records in {args.order} order) | opted out | records "
          "removed | shards rewritten / carried | seconds |\n|---|---|---|---|---|")
    for apply_round in rounds:
        print(apply_round.row())
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

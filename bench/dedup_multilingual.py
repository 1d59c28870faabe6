"""``curate dedup`` on a multilingual Parquet set with INTEGER ids, against exact Jaccard.

Issue 10: on real translation and locale files, BigCode's ASCII split (``[^A-Za-z_0-9]``)
makes files of different scripts that share their ASCII skeleton look identical. This bench
builds a set of real files that ship text in many scripts, with an ``id`` column of type
int64, runs the ``curate dedup`` command on it twice (the default Unicode tokenizer, and
``[near_dedup] tokenizer = "ascii"``), and scores each run against the exact Jaccard of the
same shingles (the all-pairs join of ``bench/dedup_quality.py``):

- pair recall: share of the pairs with exact Jaccard >= threshold of which at most one record
  survives;
- wrong removals: removed records whose exact Jaccard with their ``duplicate_of`` is below the
  threshold, on the run's own shingles and on Unicode shingles (what the text holds).

Sources (every text file of each, decoded as UTF-8, at most 1 MB, exact duplicates dropped,
the first copy in (source, path) order kept): the Django sdist (``conf/locale`` and the
``.po`` catalogues of its apps in about 100 languages), the npm packages moment, dayjs,
date-fns and ckeditor5 (locale and translation modules), docutils (``languages/``) and
Faker's providers (per-locale data) from the project's environment. Archives are read in
memory, never extracted. The ids are sparse int64 values (not row numbers).

Run: ``.venv/bin/python bench/dedup_multilingual.py [--out DIR]``; Markdown on stdout.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import platform
import subprocess
import tarfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dedup_quality import exact_pairs, score
from pipeline.config import NearDedupConfig
from pipeline.dedup.shingles import jaccard, shingle_set

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
MAX_BYTES = 1_000_000


def _site_packages() -> Path:
    import faker

    return Path(faker.__file__).resolve().parent.parent


# (source name, archive or directory, directory inside it to read or "")
SOURCES = (
    ("pypi/django", OUT / "dedup-multilingual" / "sdists", "django-"),
    ("npm/moment", OUT / "pii-eval8" / "src" / "npm-moment-2.31.0" / "package", ""),
    ("npm/dayjs", OUT / "license-agreement" / "npm", "dayjs-"),
    ("npm/date-fns", OUT / "license-agreement" / "npm", "date-fns-"),
    ("npm/ckeditor5", OUT / "license-agreement" / "npm", "ckeditor5-"),
    ("pypi/docutils", OUT / "pii-eval8" / "src" / "pypi-docutils-0.23.1" / "docutils-0.23.1", ""),
    ("pypi/faker (site-packages)", None, "faker"),
)


def _text(data: bytes) -> str | None:
    if len(data) > MAX_BYTES or b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _from_archive(path: Path):
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile() and member.size <= MAX_BYTES:
                data = archive.extractfile(member).read()
                yield member.name.split("/", 1)[-1], data


def _from_directory(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts \
                and path.stat().st_size <= MAX_BYTES:
            yield path.relative_to(root).as_posix(), path.read_bytes()


def _files(location: Path | None, prefix: str):
    if location is None:
        return _from_directory(_site_packages() / prefix)
    if prefix:  # an archive in a folder, by name prefix
        archives = sorted(p for p in location.iterdir() if p.name.startswith(prefix)
                          and p.name[len(prefix):][:1].isdigit())
        if not archives:
            raise SystemExit(f"no {prefix}* archive in {location} (run "
                             "bench/license_agreement.py first, or pip download / npm pack it)")
        return _from_archive(archives[-1])
    return _from_directory(location)


def build_set(target: Path) -> dict:
    """Write the Parquet set (id int64, content, source, path); its description."""
    rows, seen = [], set()
    per_source = collections.Counter()
    for name, location, prefix in SOURCES:
        for path, data in sorted(_files(location, prefix)):
            text = _text(data)
            if text is None:
                continue
            digest = hashlib.sha256(data).digest()
            if digest in seen:
                continue
            seen.add(digest)
            rows.append((name, path, text))
            per_source[name] += 1
    ids = [1_000_000_007 * (number + 1) + 17 for number in range(len(rows))]  # sparse int64
    table = pa.table({"id": pa.array(ids, pa.int64()),
                      "content": pa.array([r[2] for r in rows], pa.string()),
                      "source": pa.array([r[0] for r in rows], pa.string()),
                      "path": pa.array([r[1] for r in rows], pa.string())})
    target.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target / "part-0.parquet")
    return {"rows": len(rows), "per_source": per_source,
            "mb": sum(len(r[2].encode("utf-8")) for r in rows) / 1e6,
            "non_ascii": sum(not r[2].isascii() for r in rows)}


def run_dedup(data: Path, output: Path, tokenizer: str) -> float:
    config = output.with_suffix(".toml")
    config.write_text(f'[near_dedup]\ntokenizer = "{tokenizer}"\n', encoding="utf-8")
    started = time.time()
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "curate"), "dedup", "--input", str(data),
                           "--output", str(output), "--config", str(config)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"curate dedup ({tokenizer}) failed:\n{done.stderr[-3000:]}")
    print(f"<!-- curate dedup ({tokenizer}): {done.stdout.strip()} -->")
    return time.time() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT / "dedup-multilingual")
    args = parser.parse_args(argv)
    config = NearDedupConfig()
    data = args.out / "set"
    built = build_set(data)
    table = pq.read_table(data)
    ids = table.column("id").to_pylist()
    texts = table.column("content").to_pylist()
    paths = [f"{s}:{p}" for s, p in zip(table.column("source").to_pylist(),
                                         table.column("path").to_pylist())]
    position = {identifier: i for i, identifier in enumerate(ids)}

    shingles, truth = {}, {}
    for tokenizer in ("unicode", "ascii"):
        started = time.time()
        shingles[tokenizer] = [shingle_set(t, config.ngram, tokenizer) for t in texts]
        truth[tokenizer] = exact_pairs(shingles[tokenizer], config.threshold)
        print(f"<!-- ground truth {tokenizer}: {len(truth[tokenizer])} pairs, "
              f"{time.time() - started:.0f} s -->")

    runs = {}
    for tokenizer in ("unicode", "ascii"):
        output = args.out / f"run-{tokenizer}"
        seconds = run_dedup(data, output, tokenizer)
        excluded = pq.read_table(output / "excluded")
        kept = pq.read_table(output / "data")
        assert excluded.schema.field("id").type == pa.int64(), excluded.schema
        assert excluded.schema.field("duplicate_of").type == pa.int64(), excluded.schema
        assert kept.num_rows + excluded.num_rows == len(ids)
        removed = {position[d]: position[k] for d, k in zip(excluded.column("id").to_pylist(),
                                                            excluded.column("duplicate_of")
                                                            .to_pylist())}
        runs[tokenizer] = (removed, seconds, str(excluded.schema.field("cluster_id").type))

    short = {tok: sum(1 for s in shingles[tok] if not s) for tok in shingles}
    print(f"# Near-dedup on a multilingual, integer-id set ({time.strftime('%Y-%m-%d')}, "
          f"{platform.machine()}, Python {platform.python_version()})\n")
    print(f"Set: {built['rows']:,} distinct text files, {built['mb']:.1f} MB, "
          f"{built['non_ascii']:,} with non-ASCII characters; `id` int64 (sparse values); "
          + ", ".join(f"{name} {count:,}" for name, count in built["per_source"].items())
          + f". Short (< {config.ngram} tokens): Unicode {short['unicode']}, ASCII "
          f"{short['ascii']}.\n")
    print(f"Ground truth (exact Jaccard >= {config.threshold}, all-pairs join): Unicode shingles "
          f"{len(truth['unicode']):,} pairs, ASCII shingles {len(truth['ascii']):,} pairs.\n")
    print("| `curate dedup` tokenizer | removed | pair recall (own shingles) | wrong removals "
          "(own shingles) | pair recall (Unicode truth) | wrong removals (Unicode Jaccard) | "
          "removed non-ASCII files | seconds | duplicate_of / cluster_id type |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    wrong_lists = {}
    for tokenizer, (removed, seconds, cluster_type) in runs.items():
        recall, false, count = score(removed, truth[tokenizer], shingles[tokenizer],
                                     config.threshold)
        recall_u, false_u, _ = score(removed, truth["unicode"], shingles["unicode"],
                                     config.threshold)
        non_ascii = sum(1 for d in removed if not texts[d].isascii())
        print(f"| {tokenizer} | {count:,} | {recall:.4f} | {false} ({false / max(count, 1):.2%}) "
              f"| {recall_u:.4f} | {false_u} ({false_u / max(count, 1):.2%}) | {non_ascii:,} | "
              f"{seconds:.0f} | int64 / {cluster_type} |")
        wrong_lists[tokenizer] = sorted(
            ((jaccard(shingles["unicode"][d], shingles["unicode"][k]),
              jaccard(shingles[tokenizer][d], shingles[tokenizer][k]), d, k)
             for d, k in removed.items()
             if jaccard(shingles["unicode"][d], shingles["unicode"][k]) < config.threshold))
    print("\nPair recall per stratum of exact Jaccard (own shingles), beside the share the LSH "
          f"S-curve 1 - (1 - J^{config.rows})^{config.bands} predicts for those pairs (one pair "
          "alone; a candidate group also catches pairs through third records):\n")
    strata = ((0.7, 0.8), (0.8, 0.9), (0.9, 1.01))
    print("| tokenizer | " + " | ".join(f"[{low}, {min(high, 1.0)}{')' if high < 1 else ']'}"
                                        for low, high in strata) + " |")
    print("|---|" + "---|" * len(strata))
    for tokenizer, (removed, _, _) in runs.items():
        cells = []
        for low, high in strata:
            pairs = [(a, b, jaccard(shingles[tokenizer][a], shingles[tokenizer][b]))
                     for a, b in truth[tokenizer]]
            pairs = [(a, b, j) for a, b, j in pairs if low <= j < high]
            caught = sum(1 for a, b, _ in pairs if a in removed or b in removed)
            curve = sum(1 - (1 - j ** config.rows) ** config.bands for *_, j in pairs)
            cells.append(f"{caught}/{len(pairs)} = {caught / max(len(pairs), 1):.3f} "
                         f"(S-curve {curve / max(len(pairs), 1):.3f})")
        print(f"| {tokenizer} | " + " | ".join(cells) + " |")
    for tokenizer, wrong in wrong_lists.items():
        if not wrong:
            continue
        low = sum(1 for j, *_ in wrong if j < 0.5)
        print(f"\nWrong removals of the {tokenizer} run by Unicode Jaccard: {len(wrong)}, "
              f"{low} under 0.5; non-ASCII: "
              f"{sum(1 for *_, d, k in wrong if not texts[d].isascii())}. "
              "Lowest (Unicode Jaccard, own-shingle Jaccard, removed, kept):\n")
        for unicode_j, own_j, d, k in wrong[:12]:
            print(f"- {unicode_j:.3f} / {own_j:.3f}: `{paths[d]}` for `{paths[k]}`")
    missed = {tokenizer: [pair for pair in truth[tokenizer]
                          if pair[0] not in runs[tokenizer][0]
                          and pair[1] not in runs[tokenizer][0]]
              for tokenizer in runs}
    for tokenizer, pairs in missed.items():
        if pairs:
            print(f"\nMissed pairs of the {tokenizer} run ({len(pairs)}), first ones (Jaccard):\n")
            for a, b in sorted(pairs)[:8]:
                print(f"- {jaccard(shingles[tokenizer][a], shingles[tokenizer][b]):.3f}: "
                      f"`{paths[a]}` / `{paths[b]}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

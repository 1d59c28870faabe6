"""Throughput of the sources beside files, and our kept shares next to BigCode's published ones.

One section per source, each a function of the arguments that returns its figures (add a source
as one more function in :data:`SECTIONS`):

- ``commits``: the commits of a git repository (default: this one, read in place, its whole
  history), read as ``curate build`` reads them (:func:`pipeline.ingest.commits.commit_records`,
  the default :class:`~pipeline.config.CommitConfig`): commits/s and records/s (median of
  ``--repeats``), exclusions per reason, changed files per commit, and the share kept next to
  BigCode's, from the cell outputs of bigcode-dataset's
  ``preprocessing/filtering_git_commits.ipynb`` (:data:`BIGCODE_COMMITS`).
- ``notebooks``: the ``.ipynb`` files of the demo's cached sdists (``--cache``) and of any
  ``--notebooks`` paths, converted as ingest converts them
  (:func:`pipeline.ingest.notebooks.notebook_records`): notebooks/s, kept and excluded per
  kind. BigCode published no kept share for notebooks (StarCoder gives the sizes of both forms,
  not what its filters left out).
- ``issues``: GH Archive hourly files generated offline by :mod:`jobs.issues_sample` (the demo's
  generator) for ``--issue-repos`` repositories, read as ``curate build`` reads an issues line
  (:func:`pipeline.ingest.issues.issue_records`, the default IssuesConfig): events/s and
  conversations/s (median of ``--repeats``), exclusions per reason and the share kept, over
  the bench's files and over the demo's own issues input. The shares are those of the
  generator's mix, not of real GitHub data. BigCode published no share of issues kept: the
  StarCoder paper describes its issue filters step by step.

Prints one JSON object, section by section, with the machine it ran on.

Run: ``.venv/bin/python bench/sources_bench.py [--repo .] [--history 100000] [--repeats 3]
[--cache ~/.cache/stack-curate/demo] [--notebooks PATH ...] [--issue-repos 200]
[--sections commits,notebooks,issues]``.
"""
from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import platform
import statistics
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from jobs.demo import DEMO_ISSUE_REPOS, SDIST_DIR_NAME, default_cache_dir
from jobs.issues_sample import write_sample
from pipeline.config import IngestConfig
from pipeline.ingest.commits import changes, commit_records, history
from pipeline.ingest.issues import issue_records, language_identifier
from pipeline.ingest.manifest import IssuesEntry, RepoEntry
from pipeline.ingest.notebooks import notebook_records
from pipeline.ingest.readers import open_snapshot
from pipeline.ingest.readers.git import ObjectReader, parse_commit
from pipeline.reasons import Reason
from pipeline.schema import new_record

# bigcode-dataset preprocessing/filtering_git_commits.ipynb (commit c306a59), its cell outputs:
# the half of github-commits-diff it loaded, the rows left by `len(old_contents) < 100_000`,
# those `commit_filter` kept (the filters and rates of CommitConfig), and the final set after
# its opt-out (the notebook also dropped rows between the last two; the share below is the
# filter's alone).
BIGCODE_COMMITS = {"loaded": 28_835_840, "old_under_100k": 27_853_656,
                   "after_commit_filter": 12_249_044, "final": 7_674_345}
# Exclusions that come before BigCode's filters: BigCode's rows were already text files of The
# Stack's languages, so the comparable share is taken over the records past these.
_BEFORE_BIGCODE = {Reason.UNSAFE_PATH, Reason.SUBMODULE, Reason.SYMLINK, Reason.UNREADABLE,
                   Reason.UNSUPPORTED_LANGUAGE, Reason.BINARY, Reason.UNDECODABLE,
                   Reason.COMMIT_FILES_LIMIT, Reason.SOURCE_UNAVAILABLE}


def _machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "load_1min": round(os.getloadavg()[0], 2),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def _timed(run: Callable[[], list], repeats: int) -> tuple[list, float]:
    """The result of ``run`` and the median of ``repeats`` timings, in seconds, after one run
    left out of them (imports, git's and the page cache warm)."""
    result, seconds = run(), []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return result, statistics.median(seconds)


def _files_per_commit(git_dir: str, shas: list[str]) -> list[int]:
    reader = ObjectReader(git_dir)
    try:
        return [len(changes(git_dir, parse_commit(sha, reader.read(sha)[2]))) for sha in shas]
    finally:
        reader.close()


def _before_bigcode(record: dict) -> bool:
    """Whether ``record`` was left out before BigCode's filters would see it (a blob over
    max_file_bytes too: The Stack's files were under 1 MB)."""
    reason = record["reason"]
    if reason == Reason.TOO_LARGE.value:
        return "max_file_bytes" in json.loads(record["details"])
    return reason is not None and Reason(reason) in _BEFORE_BIGCODE


def commits_section(args: argparse.Namespace) -> dict:
    """commits/s on a real history, exclusions per reason, kept shares (ours and BigCode's)."""
    config = IngestConfig()
    entry = RepoEntry("bench/commits", str(args.repo), history=args.history)
    with tempfile.TemporaryDirectory() as scratch, \
            open_snapshot(entry.source, config, Path(scratch)) as snapshot:
        shas = history(snapshot.git_dir, args.history)
        records, seconds = _timed(lambda: list(commit_records(entry, snapshot, config, "ingest")),
                                  args.repeats)
        files = _files_per_commit(snapshot.git_dir, shas)
    reasons = collections.Counter(record["reason"] or "kept" for record in records)
    comparable = [record for record in records if not _before_bigcode(record)]
    under_100k = sum(record["reason"] != Reason.TOO_LARGE.value for record in comparable)
    ordered = sorted(files)
    return {
        "repository": str(args.repo), "commits": len(shas), "records": len(records),
        "seconds_median": round(seconds, 3), "repeats": args.repeats,
        "commits_per_s": round(len(shas) / seconds, 1),
        "records_per_s": round(len(records) / seconds, 1),
        "by_reason": dict(sorted(reasons.items())),
        "by_rule": dict(sorted(collections.Counter(
            f"{record['reason']}:{json.loads(record['details']).get('rule')}" for record in records
            if record["reason"] in (Reason.COMMIT_SUBSAMPLED.value, Reason.COMMIT_MESSAGE.value)
        ).items())),
        "files_per_commit": {"median": statistics.median(ordered) if ordered else 0,
                             "p99": ordered[int(0.99 * (len(ordered) - 1))] if ordered else 0,
                             "max": ordered[-1] if ordered else 0,
                             "over_max_files": sum(n > config.commits.max_files for n in files)},
        "ours": {"kept_of_all_records": round(reasons["kept"] / max(len(records), 1), 4),
                 "comparable_records": len(comparable),
                 "old_under_100k_share": round(under_100k / max(len(comparable), 1), 4),
                 "kept_of_old_under_100k": round(reasons["kept"] / max(under_100k, 1), 4)},
        "bigcode": {**BIGCODE_COMMITS,
                    "old_under_100k_share": round(BIGCODE_COMMITS["old_under_100k"]
                                                  / BIGCODE_COMMITS["loaded"], 4),
                    "kept_of_old_under_100k": round(BIGCODE_COMMITS["after_commit_filter"]
                                                    / BIGCODE_COMMITS["old_under_100k"], 4),
                    "final_of_loaded": round(BIGCODE_COMMITS["final"]
                                             / BIGCODE_COMMITS["loaded"], 4)},
    }


def _sdist_notebooks(sdist: Path) -> Iterator[tuple[str, bytes]]:
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as archive:
            for name in sorted(archive.namelist()):
                if name.endswith(".ipynb"):
                    yield f"{sdist.name}/{name}", archive.read(name)
        return
    with tarfile.open(sdist) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith(".ipynb"):
                yield f"{sdist.name}/{member.name}", archive.extractfile(member).read()


def notebooks_section(args: argparse.Namespace) -> dict:
    """notebooks/s on the notebooks the demo's sdists ship (and ``--notebooks``)."""
    sdist_dir = args.cache / SDIST_DIR_NAME
    sdists = sorted(sdist_dir.iterdir()) if sdist_dir.is_dir() else []
    notebooks = [found for sdist in sdists for found in _sdist_notebooks(sdist)]
    notebooks += [(str(path), path.read_bytes()) for path in args.notebooks]
    if not notebooks:
        return {"notebooks": 0, "note": f"no .ipynb in {sdist_dir} (nor --notebooks)"}
    config = IngestConfig()

    def convert() -> list[dict]:
        return [record for name, data in notebooks for record in notebook_records(
            data, lambda kind, name=name: new_record(kind=kind, path=name), config, "ingest")]

    rounds = max(args.repeats, 1)
    records, seconds = _timed(convert, rounds)
    kinds = collections.Counter((r["kind"], r["reason"] or "kept") for r in records)
    return {"sdists_scanned": len(sdists), "notebooks": [name for name, _ in notebooks],
            "bytes": sum(len(data) for _, data in notebooks),
            "seconds_median": round(seconds, 4), "repeats": rounds,
            "notebooks_per_s": round(len(notebooks) / seconds, 1),
            "by_kind_and_reason": {f"{k}:{r}": n for (k, r), n in sorted(kinds.items())},
            "bigcode": "none published"}


def _issue_counts(records: list[dict]) -> dict:
    conversations = [r for r in records if r["path"].startswith("issues/")]
    kept = sum(r["reason"] is None for r in conversations)
    return {"conversations": len(conversations), "kept": kept,
            "kept_share": round(kept / max(len(conversations), 1), 4),
            "by_reason": dict(sorted(collections.Counter(
                r["reason"] or "kept" for r in records).items()))}


def issues_section(args: argparse.Namespace) -> dict:
    """events/s on generated GH Archive hourly files, and the shares kept (see the docstring)."""
    config = IngestConfig().issues
    identify = language_identifier()
    with tempfile.TemporaryDirectory() as scratch:
        repos = [f"bench/repo-{i:04d}" for i in range(args.issue_repos)]
        paths = write_sample(Path(scratch) / "bench", repos)
        demo = write_sample(Path(scratch) / "demo", list(DEMO_ISSUE_REPOS))
        events = sum(1 for path in paths for _ in gzip.open(path))
        size = sum(path.stat().st_size for path in paths)
        entry = IssuesEntry("bench/issues", tuple(str(path) for path in paths))
        records, seconds = _timed(lambda: issue_records(entry, config, identify), args.repeats)
        counts = _issue_counts(records)
        demo_records = issue_records(IssuesEntry("demo/issues", tuple(map(str, demo))),
                                     config, identify)
    return {"repositories": len(repos), "events": events, "gzip_bytes": size,
            "seconds_median": round(seconds, 3), "repeats": args.repeats,
            "events_per_s": round(events / seconds, 1),
            "conversations_per_s": round(counts["conversations"] / seconds, 1),
            "ours": counts, "demo": _issue_counts(demo_records),
            "bigcode": "no share of issues kept published (the StarCoder paper describes the "
                       "filters step by step)"}


SECTIONS: dict[str, Callable[[argparse.Namespace], dict]] = {
    "commits": commits_section,
    "notebooks": notebooks_section,
    "issues": issues_section,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1],
                        help="git repository whose history is read (default: this one)")
    parser.add_argument("--history", type=int, default=100_000, help="commits back from HEAD")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=default_cache_dir(),
                        help="the demo cache whose sdists are searched for notebooks")
    parser.add_argument("--notebooks", type=Path, nargs="*", default=[],
                        help="more .ipynb files to convert")
    parser.add_argument("--issue-repos", type=int, default=200,
                        help="repositories of the generated issues sample (six issues each)")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    args = parser.parse_args(argv)
    out = {"machine": _machine()}
    for name in args.sections.split(","):
        out[name] = SECTIONS[name](args)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

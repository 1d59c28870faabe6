"""``curate optout ...``: record, review, list, import and export opt-out requests, and apply
the verified ones to a published release; ``curate membership ...``: is a login's code, or a
file, in a release?; ``curate search ...``: where a snippet comes from (optout/search.py)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from optout.apply import Patch, changelog, plan_apply, publish_patch
from optout.jsonl import export_item, parse_import
from optout.membership import MIN_FOUND, ReleaseMembership
from optout.registry import STATUSES, Registry, Request, new_request
from optout.targets import KINDS, normalise_login
from pipeline.shards import resolve_release

RELEASE_ENV = "STACK_CURATE_RELEASE"  # the release that membership commands read by default
RELEASE_DIR_HELP = "a build's output directory (its CURRENT release) or one version's directory"


def _describe(request: Request) -> str:
    return f"{request.kind} {request.target!r}"


def _add(args: argparse.Namespace) -> int:
    kind, target = next((kind, getattr(args, kind)) for kind in KINDS
                        if getattr(args, kind) is not None)
    request = new_request(kind, target, reason=args.reason, requested_by=args.requested_by)
    with Registry.open(args.home) as registry:
        result = registry.add(request)
    found = result.request
    if result.added:
        print(f"added request {found.id}: {_describe(found)} (pending)")
    else:
        print(f"request {found.id} already exists for {_describe(found)} ({found.status}): "
              "not added again")
    return 0


def _review(args: argparse.Namespace) -> int:
    with Registry.open(args.home) as registry:
        if args.optout_command == "verify":
            request = registry.verify(args.id, args.by)
        elif args.optout_command == "reject":
            request = registry.reject(args.id, args.by, args.reason)
        else:
            request = registry.withdraw(args.id, args.by, args.reason)
    print(f"request {request.id} ({_describe(request)}) {request.status} by {args.by}")
    return 0


def _list(args: argparse.Namespace) -> int:
    with Registry.open(args.home) as registry:
        requests = registry.requests(args.status)
    if args.json:
        print(json.dumps([request.to_dict() for request in requests], indent=2,
                         ensure_ascii=False))
        return 0
    print("id\tstatus\tkind\ttarget\tsource\tcreated_at\treviewed_by")
    for r in requests:
        print(f"{r.id}\t{r.status}\t{r.kind}\t{r.target}\t{r.source}\t{r.created_at}\t"
              f"{r.reviewed_by or '-'}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with Registry.open(args.home) as registry:
        request = registry.get(args.id)
        history = registry.history(args.id)
    print(f"request {request.id}: {_describe(request)}, {request.status}")
    print(f"  reason:       {request.reason or '-'}")
    print(f"  source:       {request.source}")
    print(f"  requested by: {request.requested_by or '-'}")
    print(f"  created at:   {request.created_at}")
    if request.reviewed_by:
        print(f"  reviewed by:  {request.reviewed_by} at {request.reviewed_at}")
    print("history:")
    for entry in history:
        change = (f"{entry.from_status} -> {entry.to_status}" if entry.from_status
                  else f"created {entry.to_status}")
        note = f": {entry.note}" if entry.note else ""
        print(f"  {entry.at}  {change} by {entry.actor}{note}")
    return 0


def _import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{args.file}: not UTF-8 ({error.reason} at byte {error.start}); "
                         "nothing imported") from error
    requests = parse_import(text, str(args.file))
    with Registry.open(args.home) as registry:
        results = registry.add_all(requests)
    added = sum(result.added for result in results)
    print(f"{args.file}: added {added} request(s); {len(results) - added} already "
          "registered (pending or verified), not added again")
    return 0


def _export(args: argparse.Namespace) -> int:
    with Registry.open(args.home) as registry:
        requests = registry.requests(args.status)
    for request in requests:
        print(json.dumps(export_item(request), ensure_ascii=False))
    return 0


def _apply(args: argparse.Namespace) -> int:
    plan = plan_apply(args.release, args.home, with_copies=args.with_copies)
    print(f"{plan.source}: {len(plan.optouts.requests())} verified request(s), registry state "
          f"{plan.optouts.state_hash[:12]}")
    for entry in changelog(plan)["requests"]:
        copies = (f"; {entry['copies']} near-copies in {len(entry['copy_repositories'])} other "
                  "repositories" if plan.with_copies else "")
        print(f"  request {entry['id']} ({entry['kind']} {entry['target']}): "
              f"{entry['records']} record(s) in {len(entry['repositories'])} repositories"
              f"{copies}")
    if not plan.removed:
        print(f"nothing to apply: no record of {plan.source.name} is covered by a verified "
              "request; no version published")
        return 0
    copies = f" ({len(plan.copies)} near-copies)" if plan.with_copies else ""
    return publish_or_preview(plan.patch(), f"{plan.removed} record(s) out{copies}",
                              args.dry_run)


def publish_or_preview(patch: Patch, removed: str, dry_run: bool) -> int:
    """Publish ``patch`` (or, ``dry_run``, only say what it would do) and print the summary:
    what goes (``removed``), shards rewritten and carried over; ``curate optout apply`` and
    ``curate decontaminate`` end here."""
    shards = len(patch.manifest["shards"])
    summary = (f"{removed}, {len(patch.rewrite)} of {shards} shards rewritten, "
               f"{shards - len(patch.rewrite)} carried over")
    if dry_run:
        print(f"dry run: {patch.version} would have {summary}; nothing written")
        return 0
    release = publish_patch(patch)
    print(f"published {patch.version}: {summary}; CURRENT is {patch.version}; "
          f"changes in {release / 'CHANGELOG.md'}")
    return 0


def add_optout_commands(commands: argparse._SubParsersAction) -> None:
    """The ``optout`` command group of ``curate``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", type=Path, metavar="DIR",
                        help="data root holding the registry (default: $STACK_CURATE_HOME, "
                             "else ~/.local/share/stack-curate)")
    optout = commands.add_parser(
        "optout", help="opt-out requests: record, verify, list, import, export, apply",
        description="Requests to leave GitHub users, organisations, repositories or the "
                    "commits of an e-mail address out of releases. Statuses: pending -> "
                    "verified, rejected or withdrawn; verified -> withdrawn. Builds enforce "
                    "verified requests only.")
    sub = optout.add_subparsers(dest="optout_command", required=True)

    add = sub.add_parser("add", parents=[common], help="record a pending request")
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", metavar="LOGIN", help="a GitHub user's login")
    target.add_argument("--org", metavar="ORG", help="a GitHub organisation")
    target.add_argument("--repo", metavar="OWNER/NAME", help="one repository")
    target.add_argument("--email", metavar="ADDRESS",
                        help="one e-mail address: the commits it authored (releases record "
                             "only its sha256)")
    add.add_argument("--reason", help="why, as the requester put it")
    add.add_argument("--requested-by", metavar="LOGIN", help="the requester's GitHub login")
    add.set_defaults(run=_add)

    verify = sub.add_parser("verify", parents=[common],
                            help="mark a pending request verified (enforced by builds)")
    verify.add_argument("id", type=int)
    verify.add_argument("--by", required=True, metavar="STAFF", help="who verified it")
    verify.set_defaults(run=_review)

    reject = sub.add_parser("reject", parents=[common], help="reject a pending request")
    reject.add_argument("id", type=int)
    reject.add_argument("--by", required=True, metavar="STAFF", help="who rejected it")
    reject.add_argument("--reason", required=True, help="why it was rejected")
    reject.set_defaults(run=_review)

    withdraw = sub.add_parser("withdraw", parents=[common],
                              help="withdraw a pending or verified request")
    withdraw.add_argument("id", type=int)
    withdraw.add_argument("--by", required=True, metavar="WHO", help="who withdrew it")
    withdraw.add_argument("--reason", help="a note for the history")
    withdraw.set_defaults(run=_review)

    listing = sub.add_parser("list", parents=[common], help="list requests by id")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--json", action="store_true", help="a JSON array of requests")
    listing.set_defaults(run=_list)

    show = sub.add_parser("show", parents=[common], help="one request with its history")
    show.add_argument("id", type=int)
    show.set_defaults(run=_show)

    importing = sub.add_parser(
        "import", parents=[common],
        help="add pending requests from JSONL, all or (on any malformed line) none",
        description='One request a line: {"issue": 12, "author": "login", "optout_repos": '
                    '["owner/name"], "optout_owners": ["login"]}, optionally "optout_orgs", '
                    '"optout_emails" and "reason". Each owner becomes a user request: '
                    'offline a user cannot be told from an organisation (list known '
                    'organisations under "optout_orgs"). The source is issue:N, or '
                    'import:FILE:LINE without an issue. A malformed line is reported with its '
                    'number and nothing of the file is applied.')
    importing.add_argument("file", type=Path)
    importing.set_defaults(run=_import)

    export = sub.add_parser("export", parents=[common],
                            help="requests as JSONL by id, in the import format")
    export.add_argument("--status", choices=STATUSES)
    export.set_defaults(run=_export)

    apply = sub.add_parser(
        "apply", parents=[common],
        help="publish the next patch version of a release without the verified requests' "
             "records",
        description="Publishes vX.Y.(Z+1) beside the current release: shards holding records "
                    "of verified requests rewritten without them, the others carried over "
                    "byte-identical, the removed records in excluded/ (reason opt_out), a new "
                    "manifest and CHANGELOG.md; then CURRENT switches to it. Applying again "
                    "changes nothing.")
    apply.add_argument("release", type=Path, metavar="RELEASE_DIR",
                       help="a build's output directory (its CURRENT release) or that release's "
                            "directory")
    apply.add_argument("--with-copies", action="store_true",
                       help="also remove near-copies (the build's near-dedup measure and "
                            "threshold) of the covered records found in other repositories, "
                            "from the release's signatures/")
    apply.add_argument("--dry-run", action="store_true",
                       help="report what would be removed; write nothing")
    apply.set_defaults(run=_apply)


def _release_argument(args: argparse.Namespace) -> Path:
    """``--release``, else ``$STACK_CURATE_RELEASE``, as given (not resolved)."""
    given = args.release or os.environ.get(RELEASE_ENV)
    if not given:
        raise ValueError(f"no release given: pass --release DIR (a build's output directory or "
                         f"one version's directory) or set ${RELEASE_ENV}")
    return Path(given)


def _release(args: argparse.Namespace) -> Path:
    """The release directory of ``--release``, else of ``$STACK_CURATE_RELEASE``."""
    return resolve_release(_release_argument(args))


def _membership_user(args: argparse.Namespace) -> int:
    owner = normalise_login(args.login)
    release = _release(args)
    repositories = ReleaseMembership(release).repositories(owner)
    if not repositories:
        print(f"{args.login}: no repository in {release.name}")
        return 0
    files = sum(count for _, count in repositories)
    print(f"{args.login} in {release.name}: {len(repositories)} repositories, {files} files")
    for repo, count in repositories:
        print(f"  {repo}\t{count}")
    return 0


def _query_text(source: str) -> tuple[str, str]:
    """The text of FILE, or of standard input for ``-``, and what to call it."""
    name = "standard input" if source == "-" else source
    if source == "-":
        data = sys.stdin.buffer.read()
    elif Path(source).is_file():
        data = Path(source).read_bytes()
    else:
        raise FileNotFoundError(f"no such file: {source}")
    try:
        return data.decode("utf-8"), name
    except UnicodeDecodeError as error:
        raise ValueError(f"{name} is not UTF-8 text ({error.reason} at byte {error.start}): "
                         "nothing checked") from error


def _membership_check(args: argparse.Namespace) -> int:
    release = _release(args)
    index = ReleaseMembership(release)
    text, name = _query_text(args.file)
    result = index.check_query(text, name)
    note = (f" (a text under {index.shortest_verdict_chars} characters may hold fewer than "
            f"{MIN_FOUND} of the release's n-grams)" if result.verdict == "too short to tell"
            else "")
    print(f"{name}: {result.verdict} ({release.name}){note}")
    print(f"  {result.checked} n-grams of {index.ngram_chars} characters checked (every "
          f"window); best alignment: {result.class_found} of {result.class_ngrams} found "
          f"({result.share:.1%})")
    return 0


def add_membership_commands(commands: argparse._SubParsersAction) -> None:
    """The ``membership`` command group of ``curate``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--release", type=Path, metavar="DIR",
                        help=f"{RELEASE_DIR_HELP} (default: ${RELEASE_ENV})")
    membership = commands.add_parser(
        "membership", help="is a GitHub login's code, or a file, in a release?",
        description="Answers from the membership index written with every release "
                    "(membership/: a Bloom filter of 50-character n-grams and a table of "
                    "repositories).")
    sub = membership.add_subparsers(dest="membership_command", required=True)

    user = sub.add_parser("user", parents=[common],
                          help="the repositories and file counts of a login in the release")
    user.add_argument("login", metavar="LOGIN",
                      help="a GitHub user or organisation: the repositories' owner, in any case")
    user.set_defaults(run=_membership_user)

    check = sub.add_parser(
        "check", parents=[common], help="whether and how much of a file or snippet is in the "
                                        "release",
        description="Looks up every 50-character window of the text in the release's Bloom "
                    "filter and reports the share found at the best alignment with the "
                    "release's stride: likely in the release from half, partly from a tenth, "
                    f"each with at least {MIN_FOUND} n-grams found.")
    check.add_argument("file", metavar="FILE", help="a file, or - for standard input")
    check.set_defaults(run=_membership_check)


def _serve(args: argparse.Namespace) -> int:
    from optout.web import STAFF_TOKEN_ENV, serve

    serve(_release_argument(args), args.home, args.host, args.port,
          os.environ.get(STAFF_TOKEN_ENV) or None)
    return 0


def add_serve_command(commands: argparse._SubParsersAction) -> None:
    """``curate serve``: the opt-out web page (optout/web.py)."""
    serve = commands.add_parser(
        "serve", help="the opt-out web page: look up a login, check code, send and follow "
                      "requests; staff review them",
        description="Serves the web page over a release and the opt-out registry. The staff "
                    "view (/staff) exists only while $STACK_CURATE_STAFF_TOKEN is set (16 "
                    "characters or more); staff sign in with it and their name.")
    serve.add_argument("--release", type=Path, metavar="DIR",
                       help="a build's output directory (its CURRENT release, followed while "
                            f"serving) or one version's directory (default: ${RELEASE_ENV})")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--home", type=Path, metavar="DIR",
                       help="data root holding the registry (default: $STACK_CURATE_HOME, "
                            "else ~/.local/share/stack-curate)")
    serve.set_defaults(run=_serve)


def _search_index(args: argparse.Namespace) -> int:
    from optout.search import build_index

    header = build_index(args.release, args.threads)
    mb = header["content_bytes"] / 1e6
    print(f"{header['release']}: {header['records']} records, {mb:.1f} MB of content indexed "
          f"in {header['seconds']:.1f} s ({mb / max(header['seconds'], 1e-9):.1f} MB/s); "
          f"index {header['index_bytes'] / 1e6:.1f} MB, "
          f"{header['fraction_of_shard_bytes']:.0%} of the shards")
    return 0


def _search_query(args: argparse.Namespace) -> int:
    from optout.search import ReleaseSearch, format_result

    text = _query_text("-")[0] if args.snippet == "-" else args.snippet
    if not text.strip():
        raise ValueError("the snippet is empty: nothing to search")
    result = ReleaseSearch(_release_argument(args)).search(text, args.top)
    print(format_result(result, tty=sys.stdout.isatty()))
    return 0


def add_search_commands(commands: argparse._SubParsersAction) -> None:
    """``curate search``: attribution search over a release (optout/search.py)."""
    search = commands.add_parser(
        "search", help="where in a release does a snippet come from, under which licence?",
        description="A full-text index (tantivy) and an index of 50-character n-grams beside "
                    "the release, in search/: snippets of 50 characters or more are found "
                    "exactly, shorter queries ranked (BM25 over identifiers and their words).")
    sub = search.add_subparsers(dest="search_command", required=True)
    index = sub.add_parser("index", help="build the release's search index (search/)")
    index.add_argument("release", type=Path, metavar="RELEASE_DIR",
                       help=RELEASE_DIR_HELP)
    index.add_argument("--threads", type=int, default=1,
                       help="indexing threads of tantivy's writer (default: 1)")
    index.set_defaults(run=_search_index)
    query = sub.add_parser("query", help="the files that hold a snippet or match a query, "
                                         "with repository, path, licence and lines")
    query.add_argument("snippet", metavar="SNIPPET",
                       help="code to look for (- reads it from standard input)")
    query.add_argument("--release", type=Path, metavar="DIR",
                       help=f"{RELEASE_DIR_HELP} (default: ${RELEASE_ENV})")
    query.add_argument("--top", type=int, default=10, help="results shown (default: 10)")
    query.set_defaults(run=_search_query)

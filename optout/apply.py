"""``curate optout apply``: the next patch version of a published release without the records
that verified opt-out requests cover, and, ``--with-copies``, without their near-copies in other
repositories.

Only shards that hold such records are rewritten (with the release's own writer settings);
every other shard, and the old ``excluded/``, is carried over byte-identical (a hard link, else
a copy), checked against the old manifest's sha256. The removed records join ``excluded/`` in
shards of their own (reason ``opt_out``, the request id in ``details``, no content). The plan's
release steps (:data:`pipeline.plan.RELEASE_STEPS`: the membership index, the signatures) are
written anew from the new version's shards, so its index never lists a removed record. The new
manifest keeps ``kept + excluded = ingested``, records the requests applied and points at the
previous version; ``CHANGELOG.md`` and ``changelog.json`` say what went, per request.

Near-copies (:func:`optout.signatures.find_copies`): kept records of the same kind in another
repository whose content reaches the near dedup's threshold against a covered record (candidates
from the release's ``signatures/``, verified on the shards' content). Their ``details`` name the
request and the record they copy (``copy_of``) with the similarity. Exact and near duplicates
that the build excluded in favour of a covered record (their ``duplicate_of``) are not in the
release: they stay excluded, and the changelog counts them. Copies are found only of records
the apply removes: a later ``--with-copies`` cannot find copies of records an earlier apply
(or the build's opt-out stage) took out, as their content is gone.

The publishing (:func:`publish_patch`, given a :class:`Patch`: which shards lose which
records, and why) knows nothing of opt-out; ``curate decontaminate``
(:mod:`pipeline.decontam.release`) publishes its versions with it too.

Crash safety: the new version is assembled in ``releases/.vX.Y.Z.pending``, renamed into place
and only then made ``CURRENT``. Until that switch the previous release is untouched and
current; a rerun starts the job again from the current release and gives the same bytes. A
release that no request covers any more has nothing to apply: no version is published.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from optout.enforce import OptOuts, opt_out
from optout.signatures import Copy, find_copies
from pipeline.config import BuildConfig, config_from_dict
from pipeline.plan import RELEASE_STEPS, release_steps_of
from pipeline.reasons import Reason
from pipeline.schema import RECORD_SCHEMA
from pipeline.shards import (ShardInfo, file_sha256, link_or_copy, read_private_authors,
                             resolve_release, switch_current, write_excluded_shards,
                             write_manifest, write_shard)

APPLY_STAGE = "optout_apply"  # the ``stage`` of the records an apply removes
STEPS = ("carried", "rewritten", "excluded", "indexed", "manifest", "changelog", "renamed",
         "switched")
_VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")


def next_patch(version: str) -> str:
    """``v1.0.0`` -> ``v1.0.1``."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"release version {version!r} is not vMAJOR.MINOR.PATCH: no next "
                         "patch version to publish")
    major, minor, patch = match.groups()
    return f"v{major}.{minor}.{int(patch) + 1}"


@dataclasses.dataclass(frozen=True)
class ApplyPlan:
    """What an apply to the current release of ``out_dir`` removes, and where it goes."""

    out_dir: Path
    source: Path  # the current release
    manifest: dict[str, Any]  # its manifest
    version: str  # the version it publishes
    optouts: OptOuts
    rewrite: tuple[str, ...]  # kept shards holding covered records or their copies
    removals: dict[int, collections.Counter]  # request id -> repository -> records
    with_copies: bool = False  # whether near-copies in other repositories go too
    copies: tuple[Copy, ...] = ()  # those near-copies, by id
    # request id -> excluded records whose ``duplicate_of`` is a record it removes
    duplicates_left: dict[int, int] = dataclasses.field(default_factory=dict)
    # the build's private ``authors`` by record id (OUT/private/authors/): user requests
    # cover the issues and commits their login authored
    authors: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    @property
    def removed(self) -> int:
        """Records removed: those the requests cover and their near-copies."""
        return sum(sum(repos.values()) for repos in self.removals.values()) + len(self.copies)

    @property
    def config(self) -> BuildConfig:
        return release_config(self.manifest)

    def patch(self) -> Patch:
        """The patch version this apply publishes."""
        log = changelog(self)
        return Patch(self.out_dir, self.source, self.manifest, self.version, self.rewrite,
                     functools.partial(_split, self), APPLY_STAGE, Reason.OPT_OUT, self.removed,
                     {"optout": self.optouts.describe()}, {}, log, changelog_markdown(log))


@dataclasses.dataclass(frozen=True)
class Patch:
    """A patch version to publish after the current release of ``out_dir``: the kept shards
    that lose records, how (``split``: a shard's path and records to those it keeps and those
    it removes, marked excluded), and what the new manifest and changelog say."""

    out_dir: Path
    source: Path  # the current release
    manifest: dict[str, Any]  # its manifest
    version: str  # the version it publishes
    rewrite: tuple[str, ...]  # kept shards that lose records
    split: Callable[[str, pa.Table], tuple[pa.Table, list[dict]]]
    stage: str  # the ``stage`` of the records it removes
    reason: Reason  # their reason
    removed: int  # how many it removes
    fingerprints: dict[str, Any]  # added to the manifest's
    stage_entry: dict[str, Any]  # more of its entry in the manifest's ``stages`` (a report)
    changelog: dict[str, Any]  # changelog.json
    changelog_markdown: str  # CHANGELOG.md


def release_config(manifest: dict[str, Any]) -> BuildConfig:
    """A release's config as apply uses it: the shards' writer settings and the release
    steps' sections (their defaults where the release predates a section)."""
    recorded = manifest["config"]
    sections = ["shards", *(section for step in RELEASE_STEPS
                            for section in step.config_sections)]
    return config_from_dict({section: recorded[section] for section in sections
                             if section in recorded})


def _read_manifest(release: Path) -> dict[str, Any]:
    path = release / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{release} is not a release: cannot read {path.name} ({error})"
                         ) from error
    missing = [key for key in ("release", "counts", "shards", "excluded_shards", "config")
               if key not in manifest]
    if missing or manifest["release"] != release.name:
        raise ValueError(f"{release} is not a release: its manifest.json lacks {missing} or "
                         f"names another version ({manifest.get('release')!r})")
    return manifest


def read_release(path: Path) -> tuple[Path, Path, dict[str, Any], str]:
    """The current release that ``path`` names, its build's output directory, its manifest
    and the version a patch of it publishes."""
    source, out_dir = _current_release(path)
    manifest = _read_manifest(source)
    return source, out_dir, manifest, next_patch(manifest["release"])


def _current_release(path: Path) -> tuple[Path, Path]:
    """The release ``path`` names and its build's output directory; it must be ``CURRENT``,
    as apply publishes the version after it and makes that current."""
    release = resolve_release(path)
    out_dir = release.parent.parent
    current = out_dir / "CURRENT"
    if release.parent.name != "releases" or not current.is_file():
        raise ValueError(f"{release} is not a version under a build's releases/ with a "
                         "CURRENT file")
    version = current.read_text(encoding="utf-8").strip()
    if version != release.name:
        raise ValueError(f"{release.name} is not the current release of {out_dir} "
                         f"({version}): apply to {out_dir}")
    return release, out_dir


def _requests_of(table: pa.Table, optouts: OptOuts, authors: dict[str, list[str]]
                 ) -> pa.Array:
    """The covering request's id for each row of ``table`` (``repo`` and ``id``; null where
    none covers it), a row's private ``authors`` (issues, commits) looked up by its id."""
    ids = table.column("id").to_pylist()
    return pa.array(optouts.requests_for(table.column("repo").to_pylist(),
                                         [authors.get(record_id) for record_id in ids]),
                    pa.int64())


def read_shard(path: Path, columns: list[str]) -> pa.Table:
    """``columns`` of the shard at ``path``; a damaged one is a one-line error."""
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException) as error:
        raise ValueError(f"{path} cannot be read ({error}): the release is damaged; nothing "
                         "published") from error


def _duplicates_left(release: Path, manifest: dict[str, Any], removed: dict[str, int]
                     ) -> dict[int, int]:
    """Per request id: the excluded records of ``release`` whose ``duplicate_of`` is a record
    it removes (``removed``: id -> request id). They stay excluded."""
    left: collections.Counter = collections.Counter()
    for shard in manifest["excluded_shards"]:
        column = read_shard(release / shard["path"], ["duplicate_of"]).column(0)
        left.update(removed[kept] for kept in column.drop_null().to_pylist() if kept in removed)
    return dict(sorted(left.items()))


def plan_apply(release: Path, home: Path | None, with_copies: bool = False) -> ApplyPlan:
    """Read the release's ``repo`` and ``id`` columns, the build's private authors and the
    registry (and, ``with_copies``, the signatures and the candidates' content): what an apply
    would do."""
    source, out_dir, manifest, version = read_release(release)
    optouts = OptOuts.from_registry(home, required=True)
    authors = read_private_authors(out_dir)
    covered: dict[str, dict[int, int]] = {}  # shard -> row -> request id
    removed: dict[str, int] = {}  # record id -> request id
    removals: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for shard in manifest["shards"]:
        table = read_shard(source / shard["path"], ["repo", "id"])
        rows = {row: request_id for row, request_id in
                enumerate(_requests_of(table, optouts, authors).to_pylist())
                if request_id is not None}
        if not rows:
            continue
        covered[shard["path"]] = rows
        repos = table.column("repo").to_pylist()
        ids = table.column("id").to_pylist()
        for row, request_id in rows.items():
            removals[request_id][repos[row]] += 1
            removed[ids[row]] = request_id
    copies = tuple(find_copies(source, manifest, covered, release_config(manifest).near_dedup)
                   if with_copies else ())
    removed.update((copy.id, copy.request) for copy in copies)
    touched = covered.keys() | {copy.shard for copy in copies}
    rewrite = tuple(shard["path"] for shard in manifest["shards"] if shard["path"] in touched)
    return ApplyPlan(out_dir, source, manifest, version, optouts, rewrite,
                     dict(sorted(removals.items())), with_copies, copies,
                     _duplicates_left(source, manifest, removed) if removed else {}, authors)


def _check_sha256(path: Path, sha256: str, shard: Path) -> None:
    """Raise unless ``path`` has the sha256 that the old manifest gives ``shard``."""
    if file_sha256(path) != sha256:
        raise ValueError(f"{shard} does not match its manifest's sha256: the release is "
                         "damaged; nothing published")


def _carry(source: Path, target: Path, sha256: str) -> None:
    """``source`` at ``target`` as a hard link (a copy across file systems), checked against
    the sha256 the old manifest gives it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    link_or_copy(source, target)
    _check_sha256(target, sha256, source)


def _split(plan: ApplyPlan, path: str, table: pa.Table) -> tuple[pa.Table, list[dict]]:
    """The records of shard ``path`` without those its requests cover and their near-copies,
    and those, marked excluded (a copy's details: ``copy_of``)."""
    request_ids = _requests_of(table, plan.optouts, plan.authors)
    copies = {copy.id: copy for copy in plan.copies if copy.shard == path}
    copied = pa.array([record_id in copies for record_id in table.column("id").to_pylist()],
                      pa.bool_())
    covered = pc.or_(pc.is_valid(request_ids), copied)
    kept = table.filter(pc.invert(covered))
    threshold = plan.config.near_dedup.threshold
    removed = [opt_out(record, request_id, APPLY_STAGE) if request_id is not None else
               opt_out(record, copies[record["id"]].request, APPLY_STAGE,
                       copy_of=copies[record["id"]].copy_of,
                       similarity=copies[record["id"]].similarity, threshold=threshold)
               for record, request_id in zip(table.filter(covered).to_pylist(),
                                             request_ids.filter(covered).to_pylist())]
    return kept, removed


def _subtract(counts: dict[str, int], values: list) -> dict[str, int]:
    """``counts`` less one per value (keyed as the build keys them), empty keys dropped."""
    left = collections.Counter(counts)
    left.subtract(str(value) for value in values)
    return {key: count for key, count in left.items() if count}


def next_manifest(plan: Patch, shards: list[ShardInfo], excluded_shards: list[ShardInfo],
                  removed: list[dict], previous_sha256: str) -> dict[str, Any]:
    """The new version's manifest: the old one with the removed records moved from kept to
    excluded, the new shard lists, the patch's fingerprints and the previous version."""
    old = plan.manifest
    counts = dict(old["counts"])
    counts["kept"] -= len(removed)
    counts["excluded"] += len(removed)
    if counts["kept"] + counts["excluded"] != counts["ingested"]:
        raise RuntimeError(f"accounting broken: kept {counts['kept']} + excluded "
                           f"{counts['excluded']} != ingested {counts['ingested']}")
    for column in ("kind", "language", "license", "license_class"):
        counts[f"kept_by_{column}"] = _subtract(counts[f"kept_by_{column}"],
                                                [record[column] for record in removed])
    excluded_kinds = collections.Counter(counts["excluded_by_kind"])
    excluded_kinds.update(record["kind"] for record in removed)
    counts["excluded_by_kind"] = dict(sorted(excluded_kinds.items()))
    counts["pii_spans_by_label"] = _subtract(
        counts["pii_spans_by_label"],
        [span["label"] for record in removed for span in record["pii_spans"] or ()])
    for key, value in (("excluded_by_reason", plan.reason.value),
                       ("excluded_by_stage", plan.stage)):
        counts[key] = {**counts[key], value: counts[key].get(value, 0) + len(removed)}
    return {
        **old,
        "release": plan.version,
        "previous": {"release": old["release"], "manifest_sha256": previous_sha256},
        "counts": counts,
        "fingerprints": {**old.get("fingerprints", {}), **plan.fingerprints},
        "stages": [*old["stages"], {"stage": plan.stage, "in": old["counts"]["kept"],
                                    "kept": counts["kept"],
                                    "excluded": {plan.reason.value: len(removed)},
                                    **plan.stage_entry}],
        "shards": sorted((dataclasses.asdict(info) for info in shards),
                         key=lambda info: info["path"]),
        "excluded_shards": sorted((dataclasses.asdict(info) for info in excluded_shards),
                                  key=lambda info: info["path"]),
    }


def changelog(plan: ApplyPlan) -> dict[str, Any]:
    """What the new version changed, per request: records and repositories removed, their
    near-copies removed in other repositories (with ``--with-copies``), and the duplicates
    of removed records that the build had excluded and that stay so."""
    requests = {request["id"]: request for request in plan.optouts.requests()}
    copies: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for copy in plan.copies:
        copies[copy.request][copy.repo] += 1
    return {
        "release": plan.version,
        "previous": plan.manifest["release"],
        "registry_state_hash": plan.optouts.state_hash,
        "removed_records": plan.removed,
        "with_copies": plan.with_copies,
        "removed_copies": len(plan.copies),
        "requests": [{**requests[request_id], "records": sum(repos.values()),
                      "repositories": sorted(repos),
                      "copies": sum(copies[request_id].values()),
                      "copy_repositories": sorted(copies[request_id]),
                      "duplicates_left_excluded": plan.duplicates_left.get(request_id, 0)}
                     for request_id, repos in plan.removals.items()],
        "shards_rewritten": list(plan.rewrite),
        "shards_carried": len(plan.manifest["shards"]) - len(plan.rewrite),
    }


def changelog_markdown(log: dict[str, Any]) -> str:
    """``CHANGELOG.md`` of :func:`changelog`."""
    copies = ("near-copies in other repositories removed too (--with-copies)"
              if log["with_copies"] else "near-copies not looked for (no --with-copies)")
    lines = [f"# {log['release']}", "",
             f"Changes since {log['previous']}: the records of verified opt-out requests "
             f"removed (registry state {log['registry_state_hash'][:12]}); {copies}.", "",
             "| request | kind | target | records | repositories | near-copies | their "
             "repositories | duplicates left excluded |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['kind']} | {r['target']} | {r['records']} | "
              f"{', '.join(r['repositories'])} | {r['copies']} | "
              f"{', '.join(r['copy_repositories'])} | {r['duplicates_left_excluded']} |"
              for r in log["requests"]]
    lines += ["", f"{log['removed_records']} records removed ({log['removed_copies']} of them "
              f"near-copies); {len(log['shards_rewritten'])} shards rewritten, "
              f"{log['shards_carried']} carried over unchanged. Removed records are listed in "
              "excluded/ with reason opt_out and the request id (a near-copy also with "
              "copy_of, the id of the record it copies, and its similarity), without their "
              "content. Duplicates left excluded: records the build had excluded as exact or "
              "near duplicates of a removed record (duplicate_of); they stay out of the "
              "release.", ""]
    return "\n".join(lines)


def publish(plan: ApplyPlan, after_step: Callable[[str], None] = lambda step: None) -> Path:
    """Publish the apply's version (:func:`publish_patch`)."""
    return publish_patch(plan.patch(), after_step)


def publish_patch(plan: Patch, after_step: Callable[[str], None] = lambda step: None) -> Path:
    """Publish the plan's version and make it CURRENT; ``after_step`` is called with each
    name of :data:`STEPS` once that step is done (a test raises there to crash the run)."""
    config = release_config(plan.manifest)
    releases = plan.out_dir / "releases"
    pending = releases / f".{plan.version}.pending"
    shutil.rmtree(pending, ignore_errors=True)  # what an interrupted run left
    pending.mkdir()
    to_rewrite = set(plan.rewrite)
    shards = [ShardInfo(**shard) for shard in plan.manifest["shards"]]
    excluded_shards = [ShardInfo(**shard) for shard in plan.manifest["excluded_shards"]]
    for shard in excluded_shards + [s for s in shards if s.path not in to_rewrite]:
        _carry(plan.source / shard.path, pending / shard.path, shard.sha256)
    after_step("carried")
    new_shards = [s for s in shards if s.path not in to_rewrite]
    removed: list[dict] = []
    for shard in shards:
        if shard.path in to_rewrite:
            source = plan.source / shard.path
            _check_sha256(source, shard.sha256, source)
            kept, records = plan.split(shard.path, pq.read_table(source, schema=RECORD_SCHEMA))
            info = (write_shard(kept, pending, shard.path, config.shards)
                    if kept.num_rows else None)
            new_shards += [info] if info else []
            removed += records
    after_step("rewritten")
    removed.sort(key=lambda record: record["id"])
    excluded_shards += write_excluded_shards(removed, pending, config.shards,
                                             prefix=f"{plan.stage}-{plan.version}")
    after_step("excluded")
    manifest = next_manifest(plan, new_shards, excluded_shards, removed,
                             file_sha256(plan.source / "manifest.json"))
    for step in release_steps_of(config):  # from the new version's shards
        manifest[step.name] = step.write(pending, manifest)
    after_step("indexed")
    write_manifest(pending, manifest)
    after_step("manifest")
    (pending / "changelog.json").write_text(
        json.dumps(plan.changelog, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (pending / "CHANGELOG.md").write_text(plan.changelog_markdown, encoding="utf-8")
    after_step("changelog")
    target = releases / plan.version
    shutil.rmtree(target, ignore_errors=True)  # an interrupted run's, never CURRENT
    pending.rename(target)
    after_step("renamed")
    switch_current(plan.out_dir, plan.version)
    after_step("switched")
    return target

"""``curate optout apply``: the next patch version of a published release without the records
that verified opt-out requests cover.

Only shards that hold such records are rewritten (with the release's own writer settings);
every other shard, and the old ``excluded/``, is carried over byte-identical (a hard link, else
a copy), checked against the old manifest's sha256. The removed records join ``excluded/`` in
shards of their own (reason ``opt_out``, the request id in ``details``, no content). The plan's
release steps (:data:`pipeline.plan.RELEASE_STEPS`: the membership index) are written anew from
the new version's shards, so its index never lists a removed record. The new
manifest keeps ``kept + excluded = ingested``, records the requests applied and points at the
previous version; ``CHANGELOG.md`` and ``changelog.json`` say what went, per request.

Crash safety: the new version is assembled in ``releases/.vX.Y.Z.pending``, renamed into place
and only then made ``CURRENT``. Until that switch the previous release is untouched and
current; a rerun starts the job again from the current release and gives the same bytes. A
release that no request covers any more has nothing to apply: no version is published.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from optout.enforce import OptOuts, opt_out
from pipeline.config import BuildConfig, ShardConfig, config_from_dict
from pipeline.plan import RELEASE_STEPS, release_steps_of
from pipeline.schema import RECORD_SCHEMA
from pipeline.shards import (ShardInfo, file_sha256, resolve_release, switch_current,
                             write_excluded_shards, write_manifest, write_shard)

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
    rewrite: tuple[str, ...]  # kept shards holding covered records
    removals: dict[int, collections.Counter]  # request id -> repository -> records

    @property
    def removed(self) -> int:
        return sum(sum(repos.values()) for repos in self.removals.values())

    @property
    def config(self) -> BuildConfig:
        """The release's config as apply uses it: the shards' writer settings and the release
        steps' sections (their defaults where the release predates a section)."""
        recorded = self.manifest["config"]
        sections = ["shards", *(section for step in RELEASE_STEPS
                                for section in step.config_sections)]
        return config_from_dict({section: recorded[section] for section in sections
                                 if section in recorded})

    @property
    def shard_config(self) -> ShardConfig:
        return self.config.shards


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


def _requests_of(table: pa.Table, optouts: OptOuts) -> pa.Array:
    """The covering request's id for each row of ``table`` (null where none covers it)."""
    return pa.array(optouts.requests_for(table.column("repo").to_pylist()), pa.int64())


def plan_apply(release: Path, home: Path | None) -> ApplyPlan:
    """Read the release's ``repo`` columns and the registry: what an apply would do."""
    source, out_dir = _current_release(release)
    manifest = _read_manifest(source)
    version = next_patch(manifest["release"])
    optouts = OptOuts.from_registry(home, required=True)
    rewrite = []
    removals: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for shard in manifest["shards"]:
        try:
            table = pq.read_table(source / shard["path"], columns=["repo"])
        except (OSError, pa.ArrowException) as error:
            raise ValueError(f"{source / shard['path']} cannot be read ({error}): the release "
                             "is damaged; nothing published") from error
        request_ids = _requests_of(table, optouts).to_pylist()
        for repo, request_id in zip(table.column("repo").to_pylist(), request_ids):
            if request_id is not None:
                removals[request_id][repo] += 1
        if any(request_id is not None for request_id in request_ids):
            rewrite.append(shard["path"])
    return ApplyPlan(out_dir, source, manifest, version, optouts, tuple(rewrite),
                     dict(sorted(removals.items())))


def _check_sha256(path: Path, sha256: str, shard: Path) -> None:
    """Raise unless ``path`` has the sha256 that the old manifest gives ``shard``."""
    if file_sha256(path) != sha256:
        raise ValueError(f"{shard} does not match its manifest's sha256: the release is "
                         "damaged; nothing published")


def _carry(source: Path, target: Path, sha256: str) -> None:
    """``source`` at ``target`` as a hard link (a copy across file systems), checked against
    the sha256 the old manifest gives it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    _check_sha256(target, sha256, source)


def _rewrite(plan: ApplyPlan, path: str, sha256: str, pending: Path
             ) -> tuple[ShardInfo | None, list[dict]]:
    """Shard ``path`` without its covered records (None when none is left) and the removed
    records, marked excluded."""
    source = plan.source / path
    _check_sha256(source, sha256, source)
    table = pq.read_table(source, schema=RECORD_SCHEMA)
    request_ids = _requests_of(table, plan.optouts)
    covered = pc.is_valid(request_ids)
    kept = table.filter(pc.invert(covered))
    removed = [opt_out(record, request_id, APPLY_STAGE) for record, request_id in zip(
        table.filter(covered).to_pylist(), request_ids.filter(covered).to_pylist())]
    info = write_shard(kept, pending, path, plan.shard_config) if kept.num_rows else None
    return info, removed


def _subtract(counts: dict[str, int], values: list) -> dict[str, int]:
    """``counts`` less one per value (keyed as the build keys them), empty keys dropped."""
    left = collections.Counter(counts)
    left.subtract(str(value) for value in values)
    return {key: count for key, count in left.items() if count}


def next_manifest(plan: ApplyPlan, shards: list[ShardInfo], excluded_shards: list[ShardInfo],
                  removed: list[dict], previous_sha256: str) -> dict[str, Any]:
    """The new version's manifest: the old one with the removed records moved from kept to
    excluded, the new shard lists, the requests applied and the previous version."""
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
    for key, value in (("excluded_by_reason", "opt_out"), ("excluded_by_stage", APPLY_STAGE)):
        counts[key] = {**counts[key], value: counts[key].get(value, 0) + len(removed)}
    return {
        **old,
        "release": plan.version,
        "previous": {"release": old["release"], "manifest_sha256": previous_sha256},
        "counts": counts,
        "fingerprints": {**old.get("fingerprints", {}), "optout": plan.optouts.describe()},
        "stages": [*old["stages"], {"stage": APPLY_STAGE, "in": old["counts"]["kept"],
                                    "kept": counts["kept"],
                                    "excluded": {"opt_out": len(removed)}}],
        "shards": sorted((dataclasses.asdict(info) for info in shards),
                         key=lambda info: info["path"]),
        "excluded_shards": sorted((dataclasses.asdict(info) for info in excluded_shards),
                                  key=lambda info: info["path"]),
    }


def changelog(plan: ApplyPlan) -> dict[str, Any]:
    """What the new version changed, per request: records and repositories removed."""
    requests = {request["id"]: request for request in plan.optouts.requests()}
    return {
        "release": plan.version,
        "previous": plan.manifest["release"],
        "registry_state_hash": plan.optouts.state_hash,
        "removed_records": plan.removed,
        "requests": [{**requests[request_id], "records": sum(repos.values()),
                      "repositories": sorted(repos)}
                     for request_id, repos in plan.removals.items()],
        "shards_rewritten": list(plan.rewrite),
        "shards_carried": len(plan.manifest["shards"]) - len(plan.rewrite),
    }


def changelog_markdown(log: dict[str, Any]) -> str:
    """``CHANGELOG.md`` of :func:`changelog`."""
    lines = [f"# {log['release']}", "",
             f"Changes since {log['previous']}: the records of verified opt-out requests "
             f"removed (registry state {log['registry_state_hash'][:12]}).", "",
             "| request | kind | target | records | repositories |", "|---|---|---|---|---|"]
    lines += [f"| {r['id']} | {r['kind']} | {r['target']} | {r['records']} | "
              f"{', '.join(r['repositories'])} |" for r in log["requests"]]
    lines += ["", f"{log['removed_records']} records removed; "
              f"{len(log['shards_rewritten'])} shards rewritten, {log['shards_carried']} "
              "carried over unchanged. Removed records are listed in excluded/ with reason "
              "opt_out and the request id, without their content.", ""]
    return "\n".join(lines)


def publish(plan: ApplyPlan, after_step: Callable[[str], None] = lambda step: None) -> Path:
    """Publish the plan's version and make it CURRENT; ``after_step`` is called with each
    name of :data:`STEPS` once that step is done (a test raises there to crash the run)."""
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
            info, records = _rewrite(plan, shard.path, shard.sha256, pending)
            new_shards += [info] if info else []
            removed += records
    after_step("rewritten")
    removed.sort(key=lambda record: record["id"])
    excluded_shards += write_excluded_shards(removed, pending, plan.shard_config,
                                             prefix=f"{APPLY_STAGE}-{plan.version}")
    after_step("excluded")
    manifest = next_manifest(plan, new_shards, excluded_shards, removed,
                             file_sha256(plan.source / "manifest.json"))
    for step in release_steps_of(plan.config):  # from the new version's shards
        manifest[step.name] = step.write(pending, manifest)
    after_step("indexed")
    write_manifest(pending, manifest)
    after_step("manifest")
    log = changelog(plan)
    (pending / "changelog.json").write_text(json.dumps(log, indent=2, sort_keys=True) + "\n",
                                            encoding="utf-8")
    (pending / "CHANGELOG.md").write_text(changelog_markdown(log), encoding="utf-8")
    after_step("changelog")
    target = releases / plan.version
    shutil.rmtree(target, ignore_errors=True)  # an interrupted run's, never CURRENT
    pending.rename(target)
    after_step("renamed")
    switch_current(plan.out_dir, plan.version)
    after_step("switched")
    return target

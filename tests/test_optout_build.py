"""Opt-out enforced in a build (the opt-out stage on Spark) and on a published release
(``curate optout apply``), over repositories and registries made by the test."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from jobs.build import run_build
from jobs.cli import main
from optout.apply import APPLY_STAGE, STEPS, plan_apply, publish
from optout.enforce import OptOuts
from optout.registry import Registry, new_request
from optout.stage import OptOutStage
from pipeline.config import BuildConfig, OptOutConfig, ShardConfig
from pipeline.dedup.near import band_keys, similarities
from pipeline.plan import stages_of
from pipeline.schema import new_record, to_batch
from pipeline.shards import file_sha256
from test_build import GIT, _read, _write

# Text only opted-out files hold: it must never reach a shard, excluded/ or a changelog.
MARK = "OPTED_OUT_CODE"
SHARED = "def shared(values):\n    return sorted(set(values))\n"  # in octo-cat's and acme's
SETTINGS = "ADMIN_EMAIL = 'lena.okafor@fastmail.net'\n"
# Small shards, so a language holds several: some to rewrite, some to carry over.
SHARDS = ShardConfig(target_shard_bytes=700)


def _engine_function(i: int, changed: bool = False) -> str:
    verb = VERBS[(i + 5 if changed else i) % 10]
    noun, limit = NOUNS[(i * 3 + changed) % 10], i * 7 + changed
    return (f"def {verb}_{noun}_{i}(state, limit={limit}):\n"
            f"    items = state.get('{noun}s', [])[:limit]\n"
            f"    total = sum(len(item) for item in items) + {limit}\n"
            f"    return {{'{verb}': total, 'count': len(items)}}\n\n")


VERBS = ("load", "parse", "merge", "split", "render", "cache", "index", "score", "route", "flush")
NOUNS = ("frame", "token", "bucket", "ledger", "packet", "window", "cursor", "record", "socket",
         "column")
# acme/tools' engine.py (opted out with its repository), a near-copy in mirror/kit with 2 of
# its 12 functions changed (Jaccard 0.739 >= 0.7, yet in no LSH bucket of the build's 25 x 10
# bands, so the build kept both) and a file there that shares 3 of its functions (Jaccard
# 0.205; it shares a band key of the release's signatures with engine.py: a candidate that
# verification turns down).
ENGINE = "".join(_engine_function(i) for i in range(12))
ENGINE_COPY = "".join(_engine_function(i, changed=i in (3, 9)) for i in range(12))
SHARES_LINES = "".join([*(_engine_function(i) for i in (1, 9, 10)), *(
    f"class Holder11_{j}:\n    def __init__(self, value):\n"
    f"        self.value_{j} = value * {j + 11}\n\n" for j in range(8))])


def _functions(prefix: str, count: int, mark: str = "") -> dict[str, str]:
    return {f"{prefix}_{i}.py": f"def {prefix}_{i}(event):\n    # {mark} {prefix} {i}\n"
                                f"    return event.get('{prefix}{i}') or {i}\n"
            for i in range(count)}


# Repositories of owners to opt out (Octo-Cat/alpha a git repository, owner cased two ways),
# of an owner whose request stays pending, and of others.
REPOS = {
    "Octo-Cat/alpha": {"shared.py": SHARED, "settings.py": f"# {MARK}\n{SETTINGS}",
                       **_functions("alpha", 6, MARK)},
    "octo-cat/beta": {"beta.go": f"// {MARK}\npackage beta\n\nfunc Beta() int {{ return 2 }}\n",
                      "README.md": f"# Beta\n\n{MARK}: a small project of the tests.\n"},
    "acme/lib": {"shared.py": SHARED, "settings.py": SETTINGS, **_functions("lib", 6),
                 "main.go": "package main\n\nfunc main() {\n\tprintln(1)\n}\n",
                 "README.md": "# Lib\n\nA small library used by the tests.\n",
                 "long_line.py": "x = '" + "a" * 1500 + "'\n"},  # max_line_length
    "acme/tools": {"tools.py": f"# {MARK}\ndef tool():\n    return 'tool'\n",
                   "engine.py": ENGINE},
    "mirror/kit": {"engine_copy.py": ENGINE_COPY, "holders.py": SHARES_LINES},
    "pending/gamma": _functions("gamma", 3),
    "rejected/delta": _functions("delta", 2),
    "withdrawn/eps": _functions("eps", 2),
}


def write_corpus(root: Path, repos: dict[str, dict[str, str]]) -> Path:
    """``repos`` as directories under ``root`` (Octo-Cat/alpha as a git repository) and
    their manifest; returns the manifest's path."""
    entries = []
    for name, files in repos.items():
        directory = root / name.replace("/", "__")
        _write(directory, files)
        entries.append({"name": name, "source": str(directory), "license": "MIT",
                        "stars": 100 if name == "Octo-Cat/alpha" else 5})
    alpha = root / "Octo-Cat__alpha"
    subprocess.run([*GIT, "init", "-q", str(alpha)], check=True)
    subprocess.run([*GIT, "-C", str(alpha), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(alpha), "commit", "-qm", "init"], check=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": "2024-05-01T12:00:00+00:00"})
    manifest = root / "repos.jsonl"
    manifest.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
    return manifest


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The manifest of :data:`REPOS`."""
    return write_corpus(tmp_path_factory.mktemp("optout-corpus"), REPOS)


def make_registry(home: Path, verified: bool) -> dict[str, int]:
    """Requests for octo-cat (user), ACME/Tools (repo) and pending/rejected/withdrawn ones;
    the first two verified when ``verified``. The same ids in every registry it makes."""
    with Registry.open(home) as registry:
        ids = {key: registry.add(new_request(kind, target)).request.id for key, kind, target in (
            ("user", "user", "octo-cat"), ("repo", "repo", "ACME/Tools"),
            ("pending", "user", "pending"), ("rejected", "user", "rejected"),
            ("withdrawn", "org", "withdrawn"))}
        registry.reject(ids["rejected"], by="staff", reason="no proof of ownership")
        registry.verify(ids["withdrawn"], by="staff")
        registry.withdraw(ids["withdrawn"], by="withdrawn")
        if verified:
            registry.verify(ids["user"], by="staff")
            registry.verify(ids["repo"], by="staff")
    return ids


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> dict[str, Path]:
    """A data root whose requests are all unverified, and one with two verified."""
    root = tmp_path_factory.mktemp("optout-homes")
    make_registry(root / "unverified", verified=False)
    make_registry(root / "verified", verified=True)
    return {"unverified": root / "unverified", "verified": root / "verified"}


@contextlib.contextmanager
def data_root(home: Path) -> Iterator[None]:
    """``$STACK_CURATE_HOME`` set to ``home`` for a while (the config names no home, so the
    builds' configs are equal and only the registry differs)."""
    previous = os.environ["STACK_CURATE_HOME"]
    os.environ["STACK_CURATE_HOME"] = str(home)
    try:
        yield
    finally:
        os.environ["STACK_CURATE_HOME"] = previous


def _opted_out(repo: str) -> bool:
    """The independent check: octo-cat's repositories and acme/tools, in any case."""
    return repo.lower().split("/")[0] == "octo-cat" or repo.lower() == "acme/tools"


@pytest.fixture(scope="module")
def before(spark, corpus, homes, tmp_path_factory):
    """A build with no verified request: v1.0.0 holds everything."""
    with data_root(homes["unverified"]):
        return run_build(corpus, tmp_path_factory.mktemp("before"), BuildConfig(shards=SHARDS),
                         spark=spark)


@pytest.fixture(scope="module")
def after(spark, corpus, homes, before, tmp_path_factory):
    """The same build resumed from ``before``'s stages once two requests are verified, the
    excluded content asked for (opted-out content must stay out even so)."""
    out = tmp_path_factory.mktemp("after")
    shutil.copytree(before.release_dir.parent.parent / "work", out / "work")
    config = BuildConfig(shards=dataclasses.replace(SHARDS, keep_excluded_content=True))
    with data_root(homes["verified"]):
        return run_build(corpus, out, config, spark=spark)


# --- matching --------------------------------------------------------------------------

def test_requests_match_owner_or_repository_case_insensitively(homes):
    optouts = OptOuts.from_registry(homes["verified"])
    user, repo = (request["id"] for request in optouts.requests())
    assert [(r["kind"], r["target"]) for r in optouts.requests()] == [
        ("user", "octo-cat"), ("repo", "acme/tools")]
    assert optouts.requests_for(["Octo-Cat/alpha", "OCTO-CAT/x", "octo-cat-2/x", "acme/TOOLS",
                                 "acme/tools2", "acme/lib", "x/octo-cat"]) == [
        user, user, None, repo, None, None, None]
    unverified = OptOuts.from_registry(homes["unverified"])
    assert unverified.registry_found and unverified.requests() == []
    assert unverified.requests_for(["pending/gamma", "rejected/delta", "withdrawn/eps"]) == \
        [None] * 3


def test_a_user_request_covers_the_records_its_login_authored_anywhere(homes):
    optouts = OptOuts.from_registry(homes["verified"])
    user, repo = (request["id"] for request in optouts.requests())
    assert optouts.requests_for(["a/b", "a/b", "acme/tools", "c/d"],
                                [["octo-cat", "someone"], ["someone"], ["octo-cat"], None]) == [
        user, None, min(user, repo), None]
    assert optouts.covers_any(["a/b"], [["someone", "octo-cat"]])
    assert not optouts.covers_any(["a/b"], [["someone"], None])
    stage = OptOutStage(OptOutConfig(home=str(homes["verified"])))
    issue = new_record(id="1", kind="issue", repo="a/b", path="issues/1", content="x",
                       authors=["octo-cat"])
    [out] = [row for batch in stage.process_batches([to_batch([issue])])
             for row in batch.to_pylist()]
    assert (out["reason"], json.loads(out["details"]), out["content"]) == (
        "opt_out", {"request": user}, None)


def test_an_email_request_covers_its_address_among_authors_never_an_owner(tmp_path):
    with Registry.open(tmp_path) as registry:
        email = registry.add(new_request("email", " Octo@Example.ORG ")).request.id
        login = registry.add(new_request("user", "someone")).request.id
        for request_id in (email, login):
            registry.verify(request_id, by="staff")
    optouts = OptOuts.from_registry(tmp_path)
    assert optouts.requests_for(
        ["a/b", "a/b", "a/b", "octo@example.org/x", "c/d"],
        [["octo@example.org"], ["octo"], ["someone", "octo@example.org"], None, None]) == [
        email, None, email, None, None]
    assert optouts.covers_any(["a/b"], [None, ["octo@example.org"]])
    assert not optouts.covers_any(["a/b"], [["octo"], ["other@example.org"]])
    digest = hashlib.sha256(b"octo@example.org").hexdigest()
    assert optouts.describe()["requests"] == [
        {"id": email, "kind": "email", "target": f"sha256:{digest}"},
        {"id": login, "kind": "user", "target": "someone"}]
    assert "octo@" not in json.dumps(OptOutStage(OptOutConfig(home=str(tmp_path))).fingerprint())


def test_a_missing_registry_means_no_requests_and_is_not_created(tmp_path):
    stage = OptOutStage(OptOutConfig(home=str(tmp_path / "nowhere")))
    assert stage.fingerprint() == {"registry": "missing", "requests": [],
                                   "state_hash": hashlib.sha256(b"[]").hexdigest()}
    record = new_record(id="1", kind="file", repo="octo-cat/a", path="a.py", content="x")
    assert stage.process([record]) == [record]
    assert not (tmp_path / "nowhere").exists()


def test_the_stage_reads_the_configured_home(homes):
    stage = stages_of(BuildConfig(optout=OptOutConfig(home=str(homes["verified"]))))[1]
    assert stage.name == "optout" and len(stage.fingerprint()["requests"]) == 2
    record = new_record(id="1", kind="file", repo="Octo-Cat/alpha", path="a.py", content="x",
                        content_hash="h")
    (marked,) = stage.process([record])
    assert (marked["reason"], marked["stage"], marked["content"], marked["content_hash"]) == \
        ("opt_out", "optout", None, "h")
    assert json.loads(marked["details"]) == {"request": stage.fingerprint()["requests"][0]["id"]}


# --- in the build ----------------------------------------------------------------------

def test_unverified_requests_are_not_enforced(before):
    assert "opt_out" not in before.manifest["counts"]["excluded_by_reason"]
    kept = _read(before.release_dir, "data")
    assert any(_opted_out(r["repo"]) for r in kept)
    assert {"pending/gamma", "rejected/delta", "withdrawn/eps"} <= {r["repo"] for r in kept}
    optout = before.manifest["fingerprints"]["optout"]
    assert (optout["registry"], optout["requests"]) == ("found", [])


def test_verified_owner_and_repository_are_excluded_with_their_request(after, homes):
    ids = {r["target"]: r["id"] for r in OptOuts.from_registry(homes["verified"]).requests()}
    kept, excluded = _read(after.release_dir, "data"), _read(after.release_dir, "excluded")
    assert not any(_opted_out(r["repo"]) for r in kept)
    assert {"pending/gamma", "rejected/delta", "withdrawn/eps", "acme/lib"} <= \
        {r["repo"] for r in kept}
    opted = [r for r in excluded if r["reason"] == "opt_out"]
    assert {r["repo"] for r in opted} == {"Octo-Cat/alpha", "octo-cat/beta", "acme/tools"}
    assert len(opted) == 8 + 2 + 2
    for record in opted:
        target = "acme/tools" if record["repo"] == "acme/tools" else "octo-cat"
        assert json.loads(record["details"]) == {"request": ids[target]}
        assert record["stage"] == "optout" and record["content"] is None
    assert all(MARK not in (r["content"] or "") for r in kept + excluded)
    assert any(r["content"] for r in excluded if r["reason"] != "opt_out")  # content kept
    # octo-cat's shared.py had more stars; being opted out, acme's copy is the one kept
    assert ("acme/lib", "shared.py") in {(r["repo"], r["path"]) for r in kept}
    optout = after.manifest["fingerprints"]["optout"]
    assert optout == OptOuts.from_registry(homes["verified"]).describe()
    assert [(r["kind"], r["target"]) for r in optout["requests"]] == [
        ("user", "octo-cat"), ("repo", "acme/tools")]
    counts = after.manifest["counts"]
    assert counts["kept"] + counts["excluded"] == counts["ingested"]
    assert counts["excluded_by_reason"]["opt_out"] == len(opted)


def test_a_changed_registry_reruns_the_optout_stage_onwards(spark, corpus, homes, after):
    names = [stage.name for stage in stages_of(BuildConfig())]
    assert after.resumed == ["ingest"]  # resumed from before's stages: opt-out onwards reran
    out = after.release_dir.parent.parent
    with data_root(homes["verified"]):
        again = run_build(corpus, out, BuildConfig(
            shards=dataclasses.replace(SHARDS, keep_excluded_content=True)), spark=spark)
    assert again.resumed == names  # the same registry state: every stage reused
    assert (again.release_dir / "manifest.json").read_text() == json.dumps(
        after.manifest, indent=2, sort_keys=True) + "\n"


# --- on a published release ------------------------------------------------------------

def _published(before, tmp_path: Path, name: str) -> Path:
    """A copy of ``before``'s output (releases and CURRENT) to apply to."""
    out = tmp_path / name
    shutil.copytree(before.release_dir.parent, out / "releases")
    shutil.copy(before.release_dir.parent.parent / "CURRENT", out / "CURRENT")
    return out


def _tree(out: Path) -> dict[str, bytes]:
    return {str(path.relative_to(out)): path.read_bytes()
            for path in sorted(out.rglob("*")) if path.is_file()}


def _curate(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def applied(before, homes, tmp_path_factory) -> Path:
    """``before``'s release with the verified requests applied, uninterrupted."""
    out = _published(before, tmp_path_factory.mktemp("applied"), "out")
    publish(plan_apply(out, homes["verified"]))
    return out


@pytest.fixture(scope="module")
def applied_copies(before, homes, tmp_path_factory) -> Path:
    """``before``'s release with the verified requests applied ``--with-copies``."""
    out = _published(before, tmp_path_factory.mktemp("applied-copies"), "out")
    publish(plan_apply(out, homes["verified"], with_copies=True))
    return out


def _counts(rows: list[dict], column: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in rows:
        found[str(row[column])] = found.get(str(row[column]), 0) + 1
    return found


def test_apply_publishes_the_next_version_without_opted_out_records(applied):
    old_dir, new_dir = applied / "releases" / "v1.0.0", applied / "releases" / "v1.0.1"
    assert (applied / "CURRENT").read_text().strip() == "v1.0.1"
    old, new = _read(old_dir, "data"), _read(new_dir, "data")
    assert not any(_opted_out(r["repo"]) for r in new)  # an independent scan
    assert {r["id"]: r for r in new} == {r["id"]: r for r in old if not _opted_out(r["repo"])}
    removed = {r["id"] for r in old if _opted_out(r["repo"])}
    excluded = _read(new_dir, "excluded")
    by_id = {r["id"]: r for r in excluded}
    assert {r["id"] for r in _read(old_dir, "excluded")} | removed == set(by_id)
    for record_id in removed:
        record = by_id[record_id]
        assert (record["reason"], record["stage"], record["content"]) == \
            ("opt_out", APPLY_STAGE, None)
        assert set(json.loads(record["details"])) == {"request"}
    assert all(MARK not in (r["content"] or "") for r in new + excluded)

    manifest = json.loads((new_dir / "manifest.json").read_text())
    old_manifest = json.loads((old_dir / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["kept"] == len(new) and counts["excluded"] == len(excluded)
    assert counts["kept"] + counts["excluded"] == counts["ingested"] == \
        old_manifest["counts"]["ingested"]
    for column in ("kind", "language", "license", "license_class"):
        assert counts[f"kept_by_{column}"] == _counts(new, column)
    assert counts["excluded_by_reason"] == _counts(excluded, "reason")
    assert counts["excluded_by_kind"] == _counts(excluded, "kind")
    assert counts["excluded_by_stage"] == _counts(excluded, "stage")
    spans = [{"label": s["label"]} for r in new for s in r["pii_spans"]]
    assert counts["pii_spans_by_label"] == _counts(spans, "label")
    assert counts["pii_spans_by_label"] != old_manifest["counts"]["pii_spans_by_label"]
    assert manifest["previous"] == {"release": "v1.0.0",
                                    "manifest_sha256": file_sha256(old_dir / "manifest.json")}
    assert [(r["kind"], r["target"]) for r in manifest["fingerprints"]["optout"]["requests"]] \
        == [("user", "octo-cat"), ("repo", "acme/tools")]
    for shard in manifest["shards"] + manifest["excluded_shards"]:
        assert file_sha256(new_dir / shard["path"]) == shard["sha256"]
        assert pq.read_metadata(new_dir / shard["path"]).num_rows == shard["rows"]

    old_shards = {s["path"]: s["sha256"] for s in old_manifest["shards"] +
                  old_manifest["excluded_shards"]}
    new_shards = {s["path"]: s["sha256"] for s in manifest["shards"] +
                  manifest["excluded_shards"]}
    carried = [path for path in new_shards if old_shards.get(path) == new_shards[path]]
    rewritten = [s["path"] for s in old_manifest["shards"]
                 if new_shards.get(s["path"]) != s["sha256"]]
    assert carried and rewritten  # the fixture has both kinds
    for path in carried:  # byte-identical, as a hard link here (one file system)
        assert os.stat(new_dir / path).st_ino == os.stat(old_dir / path).st_ino
    for path in rewritten:  # exactly the shards that held opted-out records
        assert any(_opted_out(r["repo"]) for r in pq.read_table(old_dir / path).to_pylist())
    for path in set(old_shards) - set(rewritten):
        assert not any(_opted_out(r["repo"]) for r in pq.read_table(old_dir / path).to_pylist())
    assert file_sha256(old_dir / "manifest.json") == manifest["previous"]["manifest_sha256"]


def test_apply_writes_a_changelog_per_request_without_content(applied, homes):
    new_dir = applied / "releases" / "v1.0.1"
    log = json.loads((new_dir / "changelog.json").read_text())
    ids = {r["target"]: r["id"] for r in OptOuts.from_registry(homes["verified"]).requests()}
    assert [(r["id"], r["records"], r["repositories"]) for r in log["requests"]] == [
        (ids["octo-cat"], 10, ["Octo-Cat/alpha", "octo-cat/beta"]),
        (ids["acme/tools"], 2, ["acme/tools"])]
    assert (log["release"], log["previous"], log["removed_records"]) == ("v1.0.1", "v1.0.0", 12)
    assert (log["with_copies"], log["removed_copies"]) == (False, 0)
    # acme/lib's shared.py, excluded by the build as a duplicate of Octo-Cat/alpha's, stays out
    assert [r["duplicates_left_excluded"] for r in log["requests"]] == [1, 0]
    markdown = (new_dir / "CHANGELOG.md").read_text()
    assert "| octo-cat | 10 | Octo-Cat/alpha, octo-cat/beta |" in markdown
    for text in (markdown, json.dumps(log)):
        assert MARK not in text and "shared(values)" not in text


def test_applying_twice_changes_nothing(applied, homes, capsys):
    tree = _tree(applied)
    code, out, _ = _curate(capsys, "optout", "apply", str(applied), "--home",
                           str(homes["verified"]))
    assert code == 0 and "nothing to apply" in out
    assert _tree(applied) == tree and not (applied / "releases" / "v1.0.2").exists()


def test_dry_run_reports_and_writes_nothing(before, homes, tmp_path, capsys):
    out = _published(before, tmp_path, "dry")
    tree = _tree(out)
    code, printed, _ = _curate(capsys, "optout", "apply", str(out), "--dry-run", "--home",
                               str(homes["verified"]))
    assert code == 0 and "dry run: v1.0.1 would have 12 record(s) out" in printed
    assert "(user octo-cat): 10 record(s) in 2 repositories" in printed
    assert _tree(out) == tree


@pytest.mark.parametrize("with_copies", [False, True], ids=["plain", "with-copies"])
@pytest.mark.parametrize("step", STEPS)
def test_a_crash_at_any_step_leaves_the_release_and_a_rerun_finishes(
        before, homes, applied, applied_copies, tmp_path, capsys, step, with_copies):
    out = _published(before, tmp_path, "crash")

    def crash(done: str) -> None:
        if done == step:
            raise KeyboardInterrupt(f"killed after {step}")

    with pytest.raises(KeyboardInterrupt):
        publish(plan_apply(out, homes["verified"], with_copies), after_step=crash)
    if step != "switched":  # the previous release stays valid and current
        assert (out / "CURRENT").read_text().strip() == "v1.0.0"
        manifest = json.loads((before.release_dir / "manifest.json").read_text())
        for shard in manifest["shards"] + manifest["excluded_shards"]:
            assert file_sha256(out / "releases" / "v1.0.0" / shard["path"]) == shard["sha256"]
    code, printed, _ = _curate(capsys, "optout", "apply", str(out / "releases" / "v1.0.0")
                               if step != "switched" else str(out),
                               "--home", str(homes["verified"]),
                               *(["--with-copies"] if with_copies else []))
    assert code == 0
    assert ("nothing to apply" in printed) == (step == "switched")
    # byte for byte, no pending directory left
    assert _tree(out) == _tree(applied_copies if with_copies else applied)


def test_bad_input_is_a_one_line_error(before, homes, applied, tmp_path, capsys):
    out = _published(before, tmp_path, "bad")
    trees = _tree(out), _tree(applied)
    verified = str(homes["verified"])
    for argv, message in (
            ([str(tmp_path), "--home", verified], "is not a release"),
            ([str(out / "releases"), "--home", verified], "is not a release"),
            ([str(out), "--home", str(tmp_path / "no-home")], "no opt-out registry at"),
            ([str(applied / "releases" / "v1.0.0"), "--home", verified],
             "v1.0.0 is not the current release"),
    ):
        code, printed, error = _curate(capsys, "optout", "apply", *argv)
        assert (code, printed) == (2, "") and message in error
        assert error.count("\n") == 1
    assert (_tree(out), _tree(applied)) == trees
    assert not (tmp_path / "no-home").exists()

    shard = json.loads((before.release_dir / "manifest.json").read_text())["shards"][-1]
    for name, damage in (("cut", lambda path: path.write_bytes(path.read_bytes()[:-9])),
                         ("other bytes", lambda path: pq.write_table(
                             pq.read_table(path), path, compression="snappy"))):
        damaged = _published(before, tmp_path, name)
        damage(damaged / "releases" / "v1.0.0" / shard["path"])
        code, _, error = _curate(capsys, "optout", "apply", str(damaged), "--home", verified)
        assert code == 2 and "the release is damaged; nothing published" in error
        assert error.count("\n") == 1
        assert (damaged / "CURRENT").read_text().strip() == "v1.0.0"
        assert not (damaged / "releases" / "v1.0.1").exists()


# --- near-copies and their signatures ---------------------------------------------------

def _signature_rows(release: Path) -> dict[str, dict]:
    """The rows of every signatures file the release's manifest lists, by id, checked
    against the manifest and against the shard they describe, row by row."""
    manifest = json.loads((release / "manifest.json").read_text())
    entry = manifest["signatures"]
    assert [item["shard"] for item in entry["files"]] == [s["path"] for s in manifest["shards"]]
    rows = {}
    for item, shard in zip(entry["files"], manifest["shards"]):
        assert item["shard_sha256"] == shard["sha256"]
        assert file_sha256(release / item["path"]) == item["sha256"]
        table = pq.read_table(release / item["path"])
        assert table.column_names == ["id", "repo", "kind", "bands"]
        assert table.column("id").to_pylist() == \
            pq.read_table(release / shard["path"], columns=["id"]).column("id").to_pylist()
        rows.update((row["id"], row) for row in table.to_pylist())
    assert entry["bytes"] == sum(item["bytes"] for item in entry["files"])
    assert entry["fraction_of_shard_bytes"] == entry["bytes"] / sum(
        s["bytes"] for s in manifest["shards"])
    return rows


def test_signatures_cover_every_kept_record_after_build_and_apply(before, applied,
                                                                  applied_copies):
    config = BuildConfig()
    for release in (before.release_dir, applied / "releases" / "v1.0.1",
                    applied_copies / "releases" / "v1.0.1"):
        kept = _read(release, "data")
        rows = _signature_rows(release)
        assert set(rows) == {r["id"] for r in kept}
        texts = [r["content"] for r in kept]
        long_enough, keys = band_keys(texts, config.near_dedup, config.signatures.bands,
                                      config.signatures.rows)
        expected = {kept[i]["id"]: keys[row].astype("uint32").tolist()
                    for row, i in enumerate(long_enough)}
        assert {record_id: row["bands"] for record_id, row in rows.items()} == \
            {r["id"]: expected.get(r["id"]) for r in kept}  # null: too short to match
        assert any(row["bands"] is None for row in rows.values())
    old, new = applied / "releases" / "v1.0.0", applied / "releases" / "v1.0.1"
    manifest = json.loads((new / "manifest.json").read_text())
    old_files = {i["shard"]: i for i in json.loads((old / "manifest.json").read_text())[
        "signatures"]["files"]}
    for item in manifest["signatures"]["files"]:  # a carried shard's file is linked
        if old_files.get(item["shard"], {}).get("shard_sha256") == item["shard_sha256"]:
            assert os.stat(new / item["path"]).st_ino == os.stat(old / item["path"]).st_ino


def test_with_copies_removes_a_near_copy_in_another_repository(before, applied, applied_copies,
                                                               homes):
    ids = {r["target"]: r["id"] for r in OptOuts.from_registry(homes["verified"]).requests()}
    old = {(r["repo"], r["path"]): r for r in _read(before.release_dir, "data")}
    original, copy, unrelated = (old[("acme/tools", "engine.py")],
                                 old[("mirror/kit", "engine_copy.py")],
                                 old[("mirror/kit", "holders.py")])
    near = BuildConfig().near_dedup
    # the build kept the copy (its LSH missed the pair), which the build's measure calls a copy
    similarity, unrelated_similarity = similarities(
        original["content"], [copy["content"], unrelated["content"]], near)
    assert similarity >= near.threshold > unrelated_similarity
    signatures = _signature_rows(before.release_dir)
    assert set(signatures[original["id"]]["bands"]) & set(signatures[unrelated["id"]]["bands"])

    plain = {(r["repo"], r["path"]) for r in _read(applied / "releases" / "v1.0.1", "data")}
    new_dir = applied_copies / "releases" / "v1.0.1"
    kept = {(r["repo"], r["path"]) for r in _read(new_dir, "data")}
    assert ("mirror/kit", "engine_copy.py") in plain and ("mirror/kit", "holders.py") in plain
    assert kept == plain - {("mirror/kit", "engine_copy.py")}
    excluded = {r["id"]: r for r in _read(new_dir, "excluded")}
    assert (excluded[copy["id"]]["reason"], excluded[copy["id"]]["stage"],
            excluded[copy["id"]]["content"]) == ("opt_out", APPLY_STAGE, None)
    assert json.loads(excluded[copy["id"]]["details"]) == {
        "request": ids["acme/tools"], "copy_of": original["id"], "similarity": similarity,
        "threshold": near.threshold}

    log = json.loads((new_dir / "changelog.json").read_text())
    assert (log["with_copies"], log["removed_records"], log["removed_copies"]) == (True, 13, 1)
    assert [(r["id"], r["records"], r["copies"], r["copy_repositories"])
            for r in log["requests"]] == [(ids["octo-cat"], 10, 0, []),
                                          (ids["acme/tools"], 2, 1, ["mirror/kit"])]
    assert "| acme/tools | 2 | acme/tools | 1 | mirror/kit | 0 |" in \
        (new_dir / "CHANGELOG.md").read_text()
    counts = json.loads((new_dir / "manifest.json").read_text())["counts"]
    assert counts["kept"] + counts["excluded"] == counts["ingested"]
    assert counts["excluded_by_reason"]["opt_out"] == 13


def test_dry_run_with_copies_reports_them_and_writes_nothing(before, homes, tmp_path, capsys):
    out = _published(before, tmp_path, "dry-copies")
    tree = _tree(out)
    code, printed, _ = _curate(capsys, "optout", "apply", str(out), "--dry-run",
                               "--with-copies", "--home", str(homes["verified"]))
    assert code == 0 and "would have 13 record(s) out (1 near-copies)" in printed
    assert "(repo acme/tools): 2 record(s) in 1 repositories; 1 near-copies in 1 other " \
        "repositories" in printed
    assert _tree(out) == tree


def test_with_copies_needs_the_signatures(before, homes, tmp_path, capsys):
    out = _published(before, tmp_path, "unsigned")
    manifest_path = out / "releases" / "v1.0.0" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    signatures = manifest.pop("signatures")
    manifest_path.write_text(json.dumps(manifest))
    code, _, error = _curate(capsys, "optout", "apply", str(out), "--with-copies", "--home",
                             str(homes["verified"]))
    assert code == 2 and "has no signatures (signatures/)" in error and error.count("\n") == 1
    manifest_path.write_text(json.dumps({**manifest, "signatures": signatures}))
    (out / "releases" / "v1.0.0" / signatures["files"][0]["path"]).write_bytes(b"cut")
    code, _, error = _curate(capsys, "optout", "apply", str(out), "--with-copies", "--home",
                             str(homes["verified"]))
    assert code == 2 and "the release is damaged; nothing published" in error
    assert not (out / "releases" / "v1.0.1").exists()

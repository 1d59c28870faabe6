"""Git commits as a source: every filter, the text form, determinism, hostile histories, authors
kept private, and opt-outs by a noreply login and by an e-mail address, on git repositories the
tests make."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from licensedcode.cache import get_licenses_db

from jobs.build import run_build, summary_table
from jobs.cli import main
from optout.registry import Registry, new_request
from pipeline.config import BuildConfig, CommitConfig, IngestConfig, OptOutConfig, PiiConfig
from pipeline.ingest import ingest_repository
from pipeline.ingest.commits import (Span, authors_of, change_span, draw, message_problem,
                                     subsampled, text_form)
from pipeline.ingest.manifest import RepoEntry
from pipeline.ingest.readers.git import parse_commit
from pipeline.shards import AUTHORS_DIR

KEEP_ALL = CommitConfig(short_change_keep=1.0, long_change_keep=1.0, short_message_keep=1.0)
OCTO = ("Octo Dev", "12345+Octo-Dev@users.noreply.github.com")
ANN = ("Ann Lee", "Ann@Example.com")
SOMEONE = ("Some One", "Someone@Example.org")


def _lines(prefix: str, count: int) -> str:
    return "".join(f"def {prefix}_{i}(value):\n    return value + {i}\n" for i in range(count))


class Repo:
    """A git working tree with deterministic commits (fixed identities and dates)."""

    def __init__(self, path: Path):
        self.path = path
        self.ticks = 0
        path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, stdin: bytes = b"", who: tuple[str, str] = ANN) -> str:
        self.ticks += 1
        date = f"{1_700_000_000 + self.ticks * 60} +0000"
        env = {**os.environ, "GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1],
               "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_NAME": "Committer",
               "GIT_COMMITTER_EMAIL": "committer@example.org", "GIT_COMMITTER_DATE": date}
        return subprocess.run(["git", *args], cwd=self.path, input=stdin, env=env, check=True,
                              capture_output=True).stdout.decode()

    def commit(self, message: str | bytes, files: dict[str, str | bytes] | None = None,
               remove: tuple[str, ...] = (), who: tuple[str, str] = ANN,
               encoding: str | None = None) -> str:
        for name, data in (files or {}).items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.encode() if isinstance(data, str) else data)
            self.git("add", name)
        for name in remove:
            self.git("rm", "-q", name)
        options = ("-c", f"i18n.commitEncoding={encoding}") if encoding else ()
        body = message.encode() if isinstance(message, str) else message
        self.git(*options, "commit", "-q", "--allow-empty-message", "-F", "-", stdin=body,
                 who=who)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


PARSER = _lines("parse", 10)
CP1252 = "# Café, résumé, naïve façade: déjà vu à la carte.\n".encode("cp1252") * 40
GARBAGE = bytes(b or 1 for b in random.Random(0).randbytes(4096))


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Repo, dict[str, str]]:
    """A repository with one commit per filter, a rename, a deletion, a binary change,
    non-UTF-8 contents and message, and a merge; the shas by name."""
    repo = Repo(tmp_path_factory.mktemp("commits") / "widgets")
    licence = "Copyright (c) 2024 Acme\n\n" + get_licenses_db()["mit"].text
    shas = {"add": repo.commit("Add the parser module and its helpers", {
        "LICENSE": licence, "parser.py": PARSER, "README.md": "# Widgets\n\nParsers.\n",
        "fixture.json": '{"a": 1}\n'}, who=OCTO)}
    changed = PARSER.replace("value + 3", "value - 3").replace("value + 4", "value * 4")
    shas["edit"] = repo.commit(
        "Handle negative values in the parser helpers\n\nCo-authored-by: Bob <BOB@example.net>\n"
        "Signed-off-by: Ann Lee <ann@example.com>\n", {"parser.py": changed})
    for name, message in (("boilerplate", "update"), ("version", "v1.2.3"), ("empty", ""),
                          ("fragment", "Auto commit from the nightly job runner"),
                          ("hash", "3f9c2e1b7d4f6a8c9e0b1d2f3a4c5e6b7d8f9a0b")):
        changed = changed.replace("value", "v", 1)
        shas[name] = repo.commit(message, {"parser.py": changed})
    repo.git("mv", "parser.py", "reader.py")
    shas["rename"] = repo.commit("Rename the parser module to the reader module",
                                 {"reader.py": changed + _lines("read", 2)})
    shas["delete"] = repo.commit("Remove the readme that the docs site replaced",
                                 remove=("README.md",))
    shas["binary"] = repo.commit("Store the fixture in the packed binary format",
                                 {"fixture.json": b'{"a": 1}\x00\x01\x02' * 8})
    shas["cp1252"] = repo.commit("Add the legacy module written on Windows",
                                 {"legacy.py": CP1252, "noise.py": GARBAGE})
    shas["latin1"] = repo.commit("Corrige la gestion des entrées vides du lecteur".encode(
        "latin-1"), {"reader.py": changed + _lines("read", 4)}, encoding="ISO-8859-1")
    shas["large"] = repo.commit("Add the generated lookup table for the reader",
                                {"table.py": "TABLE = [\n" + "    0,\n" * 20_000 + "]\n"})
    shas["large_edit"] = repo.commit("Extend the lookup table by one more entry",
                                     {"table.py": "TABLE = [\n" + "    0,\n" * 20_001 + "]\n"})
    repo.git("checkout", "-q", "-b", "side")
    shas["side"] = repo.commit("Add the side feature to the reader module",
                               {"reader.py": changed + _lines("read", 6)}, who=OCTO)
    repo.git("checkout", "-q", "main")
    shas["main"] = repo.commit("Document the parser helpers in the guide",
                               {"guide.md": "# Guide\n\n" + "Some words here.\n" * 5})
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'side'", "side")
    shas["merge"] = repo.head()
    return repo, shas


def _ingest(source: Path | str, history: int | None, config: CommitConfig = KEEP_ALL,
            scratch: Path | None = None) -> list[dict]:
    """The commit records of ``source`` (clones, if any, under ``scratch``)."""
    entry = RepoEntry("acme/widgets", str(source), history=history)
    ingested = ingest_repository(entry, IngestConfig(commits=config),
                                 scratch or Path(source).parent, lambda path: False)
    return [record for record in ingested.records if record["kind"] == "commit"]


def _by(records: list[dict]) -> dict[tuple[str, str], dict]:
    return {(record["revision"], record["path"]): record for record in records}


def test_every_commit_filter_excludes_with_its_reason(history):
    repo, shas = history
    found = {key: (record["reason"], json.loads(record["details"] or "{}").get("rule"))
             for key, record in _by(_ingest(repo.path, 100)).items()}
    expected = {
        (shas["add"], "LICENSE"): ("unsupported_language", None),
        (shas["add"], "parser.py"): (None, None),
        (shas["add"], "README.md"): (None, None),
        (shas["add"], "fixture.json"): (None, None),
        (shas["edit"], "parser.py"): (None, None),
        (shas["boilerplate"], "parser.py"): ("commit_message", "boilerplate"),
        (shas["version"], "parser.py"): ("commit_message", "version"),
        (shas["empty"], "parser.py"): ("commit_message", "empty"),
        (shas["fragment"], "parser.py"): ("commit_message", "boilerplate_fragment"),
        (shas["hash"], "parser.py"): ("commit_message", "chars_per_word"),
        (shas["rename"], "reader.py"): (None, None),
        (shas["delete"], "README.md"): ("commit_new_empty", None),
        (shas["binary"], "fixture.json"): ("binary", None),
        (shas["cp1252"], "legacy.py"): (None, None),
        (shas["cp1252"], "noise.py"): ("undecodable", None),
        (shas["latin1"], "reader.py"): (None, None),
        (shas["large"], "table.py"): (None, None),
        (shas["large_edit"], "table.py"): ("too_large", None),
        (shas["side"], "reader.py"): (None, None),
        (shas["main"], "guide.md"): (None, None),
    }
    assert found == expected
    records = _by(_ingest(repo.path, 100))
    assert json.loads(records[(shas["large_edit"], "table.py")]["details"]) == {
        "max_old_chars": 100_000, "old_chars": 140_012, "side": "old"}
    assert records[(shas["cp1252"], "legacy.py")]["encoding"] not in ("utf-8", "utf-8-sig")
    assert "<commit_msg>Corrige la gestion des entrées vides du lecteur<commit_after>" in \
        records[(shas["latin1"], "reader.py")]["content"]


def test_merges_are_skipped_and_renames_pair_old_and_new_contents(history):
    repo, shas = history
    records = _by(_ingest(repo.path, 100, dataclasses.replace(KEEP_ALL, full_file_share=1.0)))
    assert not [key for key in records if key[0] == shas["merge"]]
    renamed = records[(shas["rename"], "reader.py")]["content"]
    before, after = renamed.split("<commit_msg>")[0], renamed.split("<commit_after>")[1]
    assert before.startswith("<commit_before>def parse_0(") and "def read_1(" in after
    edit = records[(shas["edit"], "parser.py")]
    assert (edit["revision_date"].timestamp(), edit["blob_sha"], edit["language"]) == (
        int(repo.git("log", "-1", "--format=%ct", shas["edit"])),
        repo.git("rev-parse", f"{shas['edit']}:parser.py").strip(), "python")


def test_without_history_there_are_no_commit_records_and_n_counts_back_from_head(history):
    repo, shas = history
    assert _ingest(repo.path, None) == [] and _ingest(repo.path, 0) == []
    plain = repo.path.parent / "plain"
    plain.mkdir(exist_ok=True)
    (plain / "a.py").write_text(PARSER)
    [unavailable] = _ingest(plain, 5)
    assert (unavailable["reason"], unavailable["path"], json.loads(unavailable["details"])) == (
        "source_unavailable", "", {"error": "history asked of a source that is not a git "
                                            "repository"})
    newest = {record["revision"] for record in _ingest(repo.path, 3)}
    assert newest == {shas["main"], shas["side"]}  # the merge is one of the three


def test_a_shallow_clone_is_deepened_to_the_history_asked_for(history, tmp_path):
    repo, _ = history
    in_place = _ingest(repo.path, 6)
    cloned = _ingest(repo.path.resolve().as_uri(), 6, scratch=tmp_path)
    assert [r["id"] for r in cloned] == [r["id"] for r in in_place] and len(in_place) >= 5
    assert [r["content"] for r in cloned] == [r["content"] for r in in_place]


def test_a_shallow_working_tree_gives_no_records_for_commits_whose_parent_it_lacks(history,
                                                                                   tmp_path):
    repo, shas = history
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "-c", "protocol.file.allow=always", "clone", "-q", "--depth", "3",
                    repo.path.resolve().as_uri(), str(shallow)], check=True)
    revisions = {record["revision"] for record in _ingest(shallow, 10)}
    assert revisions == {shas["main"], shas["side"]}  # not the merge, nor their cut-off parent


def test_two_runs_give_the_same_records_and_ids_are_content_addressed(history):
    repo, shas = history
    first = _ingest(repo.path, 100, CommitConfig())
    second = _ingest(repo.path, 100, CommitConfig())
    assert first == second
    assert len({record["id"] for record in first}) == len(first)
    other_seed = _ingest(repo.path, 100, CommitConfig(seed=1))
    assert [r["id"] for r in other_seed] == [r["id"] for r in first]
    assert [(r["reason"], r["content"]) for r in other_seed] != \
        [(r["reason"], r["content"]) for r in first]


def test_authors_are_lower_case_emails_and_noreply_logins_and_not_the_committer(history):
    repo, shas = history
    records = _by(_ingest(repo.path, 100))
    assert records[(shas["add"], "parser.py")]["authors"] == [
        "12345+octo-dev@users.noreply.github.com", "octo-dev"]
    assert records[(shas["edit"], "parser.py")]["authors"] == ["ann@example.com",
                                                                "bob@example.net"]
    commit = parse_commit("x", b"tree t\nauthor A <a@b.c> 1 +0000\n\nfix\n\n"
                               b"Co-authored-by: C <9+Cee@users.noreply.github.com>\n")
    assert authors_of(commit, commit.message.decode()) == [
        "9+cee@users.noreply.github.com", "a@b.c", "cee"]


def test_message_rules():
    config = CommitConfig()
    assert message_problem("Update README.md", config) == {"rule": "boilerplate",
                                                           "value": "update readme.md"}
    assert message_problem("debug", config)["rule"] == "boilerplate"
    assert message_problem("Update CONTRIBUTING guide", config)["rule"] == \
        "boilerplate_fragment"
    for version in ("1.0", "v2.0.0", "V3.1.4-rc1", "1.4.0.post2"):
        assert message_problem(version, config)["rule"] == "version", version
    assert message_problem("Release 1.2.3 with the new parser", config) is None
    assert message_problem("   ", config) == {"rule": "empty"}
    assert message_problem("Fix the off-by-one error in the tokenizer", config) is None


def test_text_form_is_the_changed_range_with_drawn_context_or_the_whole_file():
    old = "".join(f"line {i}\n" for i in range(100))
    new = old.replace("line 50\n", "line fifty\nline fifty-one\n")
    span = change_span(old.splitlines(), new.splitlines())
    assert span == Span(50, 51, 50, 52)
    whole = text_form(old, new, "Spell out fifty", span, "sha", "a.py",
                      CommitConfig(full_file_share=1.0))
    assert whole == f"<commit_before>{old}<commit_msg>Spell out fifty<commit_after>{new}"
    exact = text_form(old, new, "Spell out fifty", span, "sha", "a.py",
                      CommitConfig(full_file_share=0.0, max_context_lines=0))
    assert exact == ("<commit_before>line 50\n<commit_msg>Spell out fifty<commit_after>"
                     "line fifty\nline fifty-one\n")
    config = CommitConfig()
    forms = [text_form(old, new, "m", span, "sha", f"f{i}.py", config) for i in range(2000)]
    whole_share = sum(form.startswith(f"<commit_before>{old}") for form in forms) / len(forms)
    assert 0.17 < whole_share < 0.23
    windows = [form.split("<commit_msg>")[0].split("\n")[:-1] for form in forms
               if not form.startswith(f"<commit_before>{old}")]
    before = {50 - int(lines[0].removeprefix("<commit_before>line ")) for lines in windows}
    after = {int(lines[-1].removeprefix("line ")) - 50 for lines in windows}
    assert before == after == set(range(0, 33))
    assert forms == [text_form(old, new, "m", span, "sha", f"f{i}.py", config)
                     for i in range(2000)]


@pytest.mark.parametrize("rule,span,subject,keep", [
    ("short_change", Span(0, 2, 0, 2), "Fix the parser for empty lines", 0.1),
    ("long_change", Span(0, 200, 0, 210), "Fix the parser for empty lines", 0.1),
    ("short_message", Span(0, 10, 0, 10), "Fix parser", 0.5)])
def test_subsampling_keeps_its_share_by_a_seeded_draw(rule, span, subject, keep):
    config = CommitConfig()
    results = [subsampled(span, subject, "c0ffee", f"src/m{i}.py", config) for i in range(4000)]
    kept = sum(result is None for result in results) / len(results)
    assert abs(kept - keep) < 0.03
    assert {result["rule"] for result in results if result} == {rule}
    assert subsampled(Span(0, 3, 0, 3), "Fix the parser for empty lines", "c0ffee", "x.py",
                      config) is None
    assert draw(0, "c0ffee", "a.py", rule) == draw(0, "c0ffee", "a.py", rule) != \
        draw(1, "c0ffee", "a.py", rule)


def test_a_commit_over_the_file_limit_gives_one_excluded_record(tmp_path):
    repo = Repo(tmp_path / "bulk")
    repo.commit("Add the main module of the package", {"main.py": PARSER})
    blob = repo.git("hash-object", "-w", "--stdin", stdin=b"x = 1\n").strip()
    vendor = repo.git("mktree", stdin="".join(f"100644 blob {blob}\tv{i:05d}.py\n"
                                              for i in range(10_000)).encode()).strip()
    main = repo.git("rev-parse", "HEAD:main.py").strip()
    tree = repo.git("mktree", stdin=f"100644 blob {main}\tmain.py\n040000 tree {vendor}\tvendor\n"
                    .encode()).strip()
    bulk = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "Vendor ten thousand modules").strip()
    repo.git("update-ref", "refs/heads/main", bulk)
    records = _ingest(repo.path, 10)
    limited = [r for r in records if r["revision"] == bulk]
    assert len(limited) == 1 and limited[0]["path"] == "" and limited[0]["content"] is None
    assert (limited[0]["reason"], json.loads(limited[0]["details"])) == (
        "commit_files_limit", {"files": 10_000, "max_files": 100})
    assert limited[0]["authors"] == ["ann@example.com"]


@pytest.fixture(scope="module")
def built(spark, history, tmp_path_factory):
    """One build of the history with a verified opt-out request for octo-dev's login."""
    repo, _ = history
    root = tmp_path_factory.mktemp("commit-build")
    with Registry.open(root / "home") as registry:
        request = registry.add(new_request("user", "octo-dev")).request.id
        registry.verify(request, by="staff")
    manifest = root / "repos.jsonl"
    manifest.write_text(json.dumps({"name": "acme/widgets", "source": str(repo.path),
                                    "history": 100}) + "\n")
    config = BuildConfig(ingest=IngestConfig(commits=KEEP_ALL), pii=PiiConfig(enabled=False),
                         optout=OptOutConfig(home=str(root / "home")))
    return run_build(manifest, root / "out", config, spark=spark)


def _rows(directory: Path) -> list[dict]:
    return [row for path in sorted(directory.rglob("*.parquet"))
            for row in pq.read_table(path).to_pylist()]


def test_a_build_releases_commits_without_authors_and_opts_out_a_noreply_login(built, history):
    repo, shas = history
    release = built.release_dir
    kept = _rows(release / "data")
    commits = {(row["revision"], row["path"]): row for row in kept if row["kind"] == "commit"}
    octo = {shas["add"], shas["side"]}
    assert commits and not [key for key in commits if key[0] in octo]
    assert (shas["edit"], "parser.py") in commits
    row = commits[(shas["edit"], "parser.py")]
    assert (row["license"], row["license_class"], row["language"]) == ("MIT", "permissive",
                                                                      "python")
    assert (release / "data" / "commit" / "python").is_dir()
    excluded = _rows(release / "excluded")
    opted = {(row["revision"], row["path"]) for row in excluded if row["reason"] == "opt_out"
             and row["kind"] == "commit"}
    assert {key[0] for key in opted} == octo
    for rows in (kept, excluded):
        assert "authors" not in rows[0]
        text = json.dumps(rows, default=str).lower()
        assert "ann@example.com" not in text and "octo-dev@users" not in text
    private = _rows(built.release_dir.parent.parent / AUTHORS_DIR)
    assert {author for r in private for author in r["authors"]} >= {
        "ann@example.com", "bob@example.net", "octo-dev"}
    counts = built.manifest["counts"]
    ingested = len(_ingest(repo.path, 100))
    assert counts["kept_by_kind"]["commit"] + counts["excluded_by_kind"]["commit"] == ingested
    assert f"  commit: ingested {ingested} = kept" in summary_table(built)


@pytest.fixture(scope="module")
def emailed(spark, tmp_path_factory):
    """A repository where someone@example.org authored one commit, built while an e-mail
    request for that address was pending, then again (resumed) once it was verified."""
    root = tmp_path_factory.mktemp("email-build")
    repo = Repo(root / "gadgets")
    licence = "Copyright (c) 2024 Acme\n\n" + get_licenses_db()["mit"].text
    shas = {"ann": repo.commit("Add the sprocket helpers and their licence",
                               {"LICENSE": licence, "sprockets.py": _lines("sprocket", 10)}),
            "someone": repo.commit("Add the gear helpers beside the sprocket module",
                                   {"gears.py": _lines("gear", 12)}, who=SOMEONE)}
    home = root / "home"
    with Registry.open(home) as registry:
        request = registry.add(new_request("email", " someone@EXAMPLE.org")).request.id
    manifest = root / "repos.jsonl"
    manifest.write_text(json.dumps({"name": "acme/gadgets", "source": str(repo.path),
                                    "history": 10}) + "\n")
    config = BuildConfig(ingest=IngestConfig(commits=KEEP_ALL), pii=PiiConfig(enabled=False),
                         optout=OptOutConfig(home=str(home)))
    pending = run_build(manifest, root / "pending", config, spark=spark)
    with Registry.open(home) as registry:
        registry.verify(request, by="staff")
    (root / "verified").mkdir()
    shutil.copytree(root / "pending" / "work", root / "verified" / "work")
    verified = run_build(manifest, root / "verified", config, spark=spark)
    return shas, request, home, pending, verified


def _release_text(release: Path) -> str:
    """Every file of a release but its parquet data, as lower-case text."""
    return "".join(path.read_text(encoding="utf-8", errors="replace").lower()
                   for path in sorted(release.rglob("*"))
                   if path.is_file() and path.suffix != ".parquet")


def test_a_verified_email_request_removes_its_commits_and_no_release_names_the_address(
        emailed, capsys):
    shas, request, home, pending, verified = emailed
    address, digest = "someone@example.org", hashlib.sha256(b"someone@example.org").hexdigest()
    mine, ann = (shas["someone"], "gears.py"), (shas["ann"], "sprockets.py")

    def commits(release: Path, directory: str) -> dict[tuple[str, str], dict]:
        return {(row["revision"], row["path"]): row for row in _rows(release / directory)
                if row["kind"] == "commit"}

    assert {mine, ann} <= commits(pending.release_dir, "data").keys()  # pending: not enforced
    kept = commits(verified.release_dir, "data")
    assert ann in kept and mine not in kept
    removed = commits(verified.release_dir, "excluded")[mine]
    assert (removed["reason"], json.loads(removed["details"]), removed["content"]) == (
        "opt_out", {"request": request}, None)
    files = {row["path"] for row in _rows(verified.release_dir / "data") if row["kind"] == "file"}
    assert "gears.py" in files  # the address is not the repository's owner
    assert verified.manifest["fingerprints"]["optout"]["requests"] == [
        {"id": request, "kind": "email", "target": f"sha256:{digest}"}]
    assert "opt-out requests applied by the build: 1" in _release_text(verified.release_dir)
    assert address not in _release_text(verified.release_dir)

    # the published release of the pending build: curate optout apply removes it too
    assert main(["optout", "apply", str(pending.release_dir.parent.parent),
                 "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"request {request} (email sha256:{digest}): 1 record(s)" in out
    patched = pending.release_dir.parent / "v1.0.1"
    assert mine not in commits(patched, "data") and ann in commits(patched, "data")
    changelog = json.loads((patched / "changelog.json").read_text())
    assert changelog["requests"][0]["target"] == f"sha256:{digest}"
    assert address not in _release_text(patched) and address not in out


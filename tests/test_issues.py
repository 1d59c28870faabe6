"""GitHub issues as a source: GH Archive hourly files and REST API dumps the tests write, read
into conversations, filtered as bigcode-dataset did, pseudonymised, and built into a release."""
from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from jobs.build import run_build
from jobs.issues_sample import comment, envelope, issue, write_events
from licenses.policy import LicensePolicyStage
from optout.registry import Registry, new_request
from pipeline.config import BuildConfig, IssuesConfig, LicenseConfig, PiiConfig
from pipeline.ingest.issues import (TRUNCATED, drop_bots, issue_records, language_identifier,
                                    strip_email_text, truncate_comment)
from pipeline.ingest.manifest import IssuesEntry, ManifestError, read_manifest
from pipeline.runner import run_stage
from pipeline.schema import new_record
from test_build import _read, _write
from test_optout_build import data_root

CONFIG = IssuesConfig()
REPO = "acme/widget"
LANG = language_identifier()
BUG = ("The widget crashes when the configuration file is empty. I expected a clear error "
       "message instead of a traceback, because the file is created empty by the installer "
       "on a fresh machine.")
REPLY = ("Thanks @Reporter-One, I can reproduce it with the current release. The parser "
         "should check for an empty file first; a fix is on the way in the next patch release.")


def _t(minute: int) -> str:
    return f"2024-05-01T{minute // 60:02d}:{minute % 60:02d}:00Z"


class Events:
    """Events of one repository's issues, in GH Archive's envelope, numbered as made; the issue
    object of a comment or closing event is the issue as opened (title, body, author)."""

    def __init__(self, repo: str = REPO):
        self.repo, self.next_id, self.items = repo, 1, []
        self.openings: dict[int, tuple[str, str, str]] = {}

    def _add(self, kind: str, actor: str, minute: int, payload: dict) -> dict:
        event = envelope(self.next_id, kind, self.repo, actor, _t(minute), payload)
        self.next_id += 1
        self.items.append(event)
        return event

    def _issue(self, number: int, updated: int, **extra) -> dict:
        author, title, body = self.openings[number]
        return issue(self.repo, number, title, body, author, _t(0), _t(updated), **extra)

    def opened(self, number: int, author: str, body: str, title: str = "Crash on empty config",
               **extra) -> dict:
        self.openings[number] = (author, title, body)
        return self._add("IssuesEvent", author, 0,
                         {"action": "opened", "issue": self._issue(number, 0, **extra)})

    def commented(self, number: int, comment_id: int, author: str, body: str, minute: int,
                  action: str = "created", edited_minute: int | None = None, **extra) -> dict:
        updated = edited_minute if edited_minute is not None else minute
        return self._add("IssueCommentEvent", author, updated, {
            "action": action, "issue": self._issue(number, updated, **extra),
            "comment": comment(self.repo, number, comment_id, author, body, _t(minute),
                               _t(updated))})

    def closed(self, number: int, actor: str, minute: int) -> dict:
        return self._add("IssuesEvent", actor, minute, {
            "action": "closed", "issue": self._issue(number, minute, closed=True)})


def _records(tmp_path: Path, *files: list[dict] | bytes | str, config: IssuesConfig = CONFIG
             ) -> list[dict]:
    """The records of the hourly files (event lists) or raw inputs (bytes: a .json.gz's
    bytes; str: a REST dump's JSON) given, in that order."""
    paths = []
    for index, content in enumerate(files):
        if isinstance(content, list):
            paths.append(write_events(tmp_path / f"2024-05-01-{index}.json.gz", content))
        else:
            path = tmp_path / (f"input-{index}.json.gz" if isinstance(content, bytes)
                               else f"dump-{index}.json")
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            paths.append(path)
    entry = IssuesEntry("gharchive/2024-05-01", tuple(str(p) for p in paths))
    return issue_records(entry, config, LANG)


def _one(records: list[dict]) -> dict:
    [record] = [r for r in records if r["path"].startswith("issues/")]
    return record


def test_one_conversation_in_time_order_from_files_read_out_of_order(tmp_path):
    events = Events()
    events.opened(7, "reporter-one", BUG)
    events.commented(7, 101, "maint-two", REPLY, minute=10)
    events.commented(7, 102, "reporter-one", "Confirmed fixed with the patch release, thank you "
                     "for the quick turnaround!", minute=70)
    events.closed(7, "maint-two", minute=71)
    early, late = events.items[:2], events.items[2:]
    record = _one(_records(tmp_path, late, early))  # the later hour listed first
    assert record["content"] == (
        "<issue_start><issue_comment>Title: Crash on empty config\nusername_0: " + BUG
        + "<issue_comment>username_1: " + REPLY.replace("@Reporter-One", "@username_0")
        + "<issue_comment>username_0: Confirmed fixed with the patch release, thank you for the "
        "quick turnaround!<issue_closed>")
    assert (record["kind"], record["repo"], record["path"]) == ("issue", REPO, "issues/7")
    assert record["source_url"] == f"https://github.com/{REPO}/issues/7"
    assert record["revision_date"].isoformat() == "2024-05-01T01:11:00+00:00"
    assert record["authors"] == ["maint-two", "reporter-one"]
    assert record["reason"] is None and record["license"] is None


def test_the_closing_token_only_when_closed_and_a_reopened_issue_is_open(tmp_path):
    events = Events()
    events.opened(1, "reporter-one", BUG)
    events.commented(1, 5, "maint-two", REPLY, minute=3)
    assert not _one(_records(tmp_path, events.items))["content"].endswith("<issue_closed>")
    events.closed(1, "maint-two", minute=4)
    assert _one(_records(tmp_path, events.items))["content"].endswith("<issue_closed>")
    events._add("IssuesEvent", "reporter-one", 9,
                {"action": "reopened", "issue": events._issue(1, 9)})
    assert not _one(_records(tmp_path, events.items))["content"].endswith("<issue_closed>")


def test_the_latest_edit_wins_and_deleted_comments_go(tmp_path):
    events = Events()
    events.opened(3, "reporter-one", BUG)
    events.commented(3, 11, "maint-two", "First draft of my answer.", minute=5)
    events.commented(3, 11, "maint-two", REPLY, minute=5, action="edited", edited_minute=30)
    events.commented(3, 11, "maint-two", "An older edit, read later.", minute=5,
                     action="edited", edited_minute=20)
    events.commented(3, 12, "third-person", "Spam link to a shop", minute=6)
    deleted = events.commented(3, 12, "third-person", "Spam link to a shop", minute=6,
                               action="deleted", edited_minute=40)
    for order in ([events.items], [events.items[::-1]],
                  [[deleted], [e for e in events.items if e is not deleted]]):
        content = _one(_records(tmp_path, *order))["content"]
        assert REPLY.replace("@Reporter-One", "@username_0") in content
        assert "draft" not in content and "older edit" not in content
        assert "Spam" not in content and "username_2" not in content


def test_email_boilerplate_and_quotes_are_stripped():
    reply = ("Pinning the old version works for us, thanks!\n\n"
             "On Wed, May 1, 2024 at 10:12 AM Maint Two <notifications@github.com> wrote:\n\n"
             "> Could you try pinning the previous version?\n"
             "> —\n> Reply to this email directly, view it on GitHub\n"
             "> <https://github.com/acme/widget/issues/7#issuecomment-1>\n")
    assert strip_email_text(reply) == "Pinning the old version works for us, thanks!"
    footer = ("Works now.\n\n—\nYou are receiving this because you were mentioned.\n"
              "Reply to this email directly, view it on GitHub, or mute the thread.\n"
              "________________________________\nSigned-off-by: A Person <a@example.com>")
    assert strip_email_text(footer) == "Works now.\n\n—"
    assert strip_email_text("> quoted\nmy answer\n>> deeper") == "my answer"


def test_long_comments_keep_their_first_60_and_last_20_lines():
    text = "\n".join(f"line {i}" for i in range(100))
    lines = truncate_comment(text, CONFIG.max_comment_lines, CONFIG.comment_tail_lines).split("\n")
    assert lines[:60] == [f"line {i}" for i in range(60)]
    assert lines[60] == TRUNCATED and lines[61:] == [f"line {i}" for i in range(80, 100)]
    assert truncate_comment("\n".join(["x"] * 80), 80, 20) == "\n".join(["x"] * 80)


def test_bots_go_with_the_comments_that_called_them():
    posts = [("reporter-one", BUG), ("maint-two", "@dependabot rebase"),
             ("dependabot[bot]", "Rebasing now."), ("maint-two", "/retest"),
             ("Jenkins-CI-Runner", "Build #12 passed."), ("codecov-commenter", "Coverage 91%"),
             ("maint-two", "Looks good, merging."), ("travis-ci", "Passed"),
             ("robot", "ends in bot")]
    assert drop_bots(posts, CONFIG) == [("reporter-one", BUG),
                                        ("maint-two", "Looks good, merging.")]
    # the issue's own text is never taken for a call, even when it names the bot
    assert drop_bots([("reporter-one", "@dependabot is stuck"), ("dependabot[bot]", "x")],
                     CONFIG) == [("reporter-one", "@dependabot is stuck")]


def test_every_filter_excludes_with_its_reason(tmp_path):
    events = Events()
    events.opened(1, "dependabot[bot]", "Bumps urllib3 from 1.26 to 2.2. " * 10)  # bots only
    events.commented(1, 1, "stale[bot]", "Marked stale. " * 20, minute=1)
    events.opened(2, "reporter-one", "+1, same here.")  # too short
    events.opened(3, "reporter-one", "\n".join(  # one author, long (cut to 81 lines)
        f"[{i:04d}] worker retrying the request to the index server, attempt {i % 5} of 5, "
        "backing off for thirty seconds" for i in range(300)))
    events.opened(4, "reporter-one", BUG)  # one author, 11 events
    for step in range(10):
        events.commented(4, 10 + step, "reporter-one", f"Still failing on attempt {step}.",
                         minute=step + 1)
    events.opened(5, "autor-eins", "Nach dem Update auf die neue Version funktioniert der "
                  "Import nicht mehr. Ich habe das Paket in einer neuen Umgebung installiert "
                  "und bekomme trotzdem denselben Fehler. Die alte Version hat ohne Probleme "
                  "funktioniert. Hat jemand eine Idee, woran das liegen könnte?",
                  title="Fehler beim Import")  # not English
    events.opened(6, "reporter-one", BUG + "\n" + "More detail on the crash. " * 300)
    events.commented(6, 99, "maint-two", REPLY, minute=2)  # two authors: long is fine
    by_path = {r["path"]: r for r in _records(tmp_path, events.items)}
    reasons = {path: record["reason"] for path, record in by_path.items()}
    assert reasons == {"issues/1": "issue_bot", "issues/2": "issue_too_short",
                       "issues/3": "issue_single_author", "issues/4": "issue_single_author",
                       "issues/5": "issue_language", "issues/6": None}
    assert json.loads(by_path["issues/4"]["details"])["events"] == 11
    assert json.loads(by_path["issues/5"]["details"]) == {"language": "de", "languages": ["en"]}
    assert json.loads(by_path["issues/2"]["details"]) == {"chars": 14, "min_chars": 200}
    assert all(r["content"] is None for r in by_path.values() if r["reason"])
    assert by_path["issues/1"]["authors"] is None
    english_anyway = dataclasses.replace(CONFIG, languages=("en", "de"))
    assert {r["path"]: r["reason"] for r in _records(tmp_path, events.items,
                                                     config=english_anyway)}["issues/5"] is None


def test_usernames_are_pseudonymised_in_authors_and_mentions(tmp_path):
    events = Events()
    events.opened(9, "Reporter-One", BUG + " cc @Helper-Three, who wrote the parser.")
    events.commented(9, 1, "maint-two", "reporter-one: thanks. @helper-three, any idea why "
                     "maint-two's parser and reporter-onex differ? " + REPLY, minute=1)
    record = _one(_records(tmp_path, events.items))
    content = record["content"]
    assert "username_0: " + BUG + " cc @username_1, who wrote the parser." in content
    assert ("<issue_comment>username_2: username_0: thanks. @username_1, any idea why "
            "username_2's parser and reporter-onex differ?") in content
    lowered = content.lower().replace("reporter-onex", "")
    assert not any(login in lowered for login in ("reporter-one", "maint-two", "helper-three"))
    assert record["authors"] == ["maint-two", "reporter-one"]


def test_pull_requests_only_when_configured(tmp_path):
    events = Events()
    events.opened(4, "reporter-one", BUG, pull_request=True)
    events.commented(4, 1, "maint-two", REPLY, minute=1, pull_request=True)
    events._add("PullRequestEvent", "reporter-one", 0, {"action": "opened", "number": 5,
                "pull_request": issue(REPO, 5, "Fix the crash", BUG, "reporter-one", _t(0),
                                      _t(0))})
    events._add("PushEvent", "maint-two", 2, {"push_id": 1, "size": 1, "ref": "refs/heads/x"})
    assert _records(tmp_path, events.items) == []
    with_prs = dataclasses.replace(CONFIG, include_pull_requests=True)
    assert [r["path"] for r in _records(tmp_path, events.items, config=with_prs)] == [
        "issues/4", "issues/5"]


def _gzip(lines: list[bytes]) -> bytes:
    return gzip.compress(b"".join(line + b"\n" for line in lines), mtime=0)


def test_a_truncated_gzip_keeps_the_events_before_the_break(tmp_path):
    events = Events()
    events.opened(1, "reporter-one", BUG)
    events.commented(1, 1, "maint-two", REPLY, minute=1)
    lines = [json.dumps(e).encode() for e in events.items]
    filler = [json.dumps(envelope(1000 + i, "WatchEvent", REPO, "someone", _t(2),
                                  {"action": "started", "pad": "x" * 2000 + str(i)})).encode()
              for i in range(300)]
    whole = _gzip(lines + filler)
    records = _records(tmp_path, whole[:len(whole) * 2 // 3])
    conversation = _one(records)
    assert conversation["reason"] is None and "username_1: " in conversation["content"]
    [broken] = [r for r in records if r["reason"] == "unreadable"]
    details = json.loads(broken["details"])
    assert 2 < details["lines_read"] < 302 and "EOFError" in details["error"]
    assert broken["path"].endswith("input-0.json.gz") and broken["kind"] == "issue"
    [not_gzip] = _records(tmp_path, b"not gzip at all")
    assert not_gzip["reason"] == "unreadable" and "BadGzipFile" in not_gzip["details"]


def test_missing_fields_bad_lines_and_a_100_mb_comment_are_exclusions(tmp_path):
    events = Events()
    events.opened(1, "reporter-one", BUG)
    events.commented(1, 1, "maint-two", REPLY, minute=1)
    no_number = events.commented(1, 2, "x", "y", minute=2)
    del no_number["payload"]["issue"]["number"]
    no_user = events.commented(1, 3, "x", "y", minute=3)
    no_user["payload"]["comment"]["user"] = None
    huge = events.commented(1, 4, "maint-two", "a" * 100_000_000, minute=4)
    lines = [json.dumps(e).encode() for e in events.items if e not in (huge,)]
    lines[4:4] = [json.dumps(huge).encode()]
    lines += [b"{not json", b"[1, 2]"]
    path = tmp_path / "hostile.json.gz"
    with gzip.GzipFile(path, "wb", mtime=0, compresslevel=1) as handle:
        handle.write(b"\n".join(lines) + b"\n")
    entry = IssuesEntry("gharchive/2024-05-01", (str(path),))
    records = issue_records(entry, CONFIG, LANG)
    by_path = {r["path"].rsplit("/", 1)[-1]: r for r in records}
    conversation = by_path["1"]
    assert conversation["reason"] is None and "aaaa" not in conversation["content"]
    assert json.loads(by_path["hostile.json.gz#L3"]["details"]) == {
        "error": "missing field payload.issue.number"}
    assert json.loads(by_path["hostile.json.gz#L4"]["details"]) == {
        "error": "missing field payload.comment.user"}
    assert by_path["hostile.json.gz#L5"]["reason"] == "too_large"
    assert by_path["hostile.json.gz#L6"]["reason"] == "issue_event_invalid"
    assert json.loads(by_path["hostile.json.gz#L7"]["details"]) == {
        "error": "an event is a JSON object"}
    assert all(r["repo"] == "gharchive/2024-05-01" for r in records if r is not conversation)


def test_a_body_over_githubs_cap_excludes_its_conversation(tmp_path):
    events = Events()
    events.opened(1, "reporter-one", BUG)
    events.commented(1, 1, "maint-two", "b" * 70_000, minute=1)
    record = _one(_records(tmp_path, events.items))
    assert record["reason"] == "too_large"
    assert json.loads(record["details"]) == {"body_chars": 70_000, "max_body_chars": 65_536}


def test_a_rest_dump_gives_the_conversation_its_events_give(tmp_path):
    events = Events()
    events.opened(7, "reporter-one", BUG)
    events.commented(7, 101, "maint-two", REPLY, minute=10)
    events.closed(7, "maint-two", minute=11)
    from_events = _one(_records(tmp_path, events.items))
    dump = issue(REPO, 7, "Crash on empty config", BUG, "reporter-one", _t(0), _t(11),
                 closed=True)
    dump["comments"] = [comment(REPO, 7, 101, "maint-two", REPLY, _t(10))]
    from_dump = _one(_records(tmp_path, json.dumps(dump)))
    assert from_dump["content"] == from_events["content"]
    assert from_dump["authors"] == from_events["authors"]
    broken = dict(dump, comments=[{"id": 5}])
    [invalid] = _records(tmp_path, json.dumps([broken]))
    assert invalid["reason"] == "issue_event_invalid" and invalid["path"].endswith("#L1")


def test_the_same_input_gives_the_same_records_whatever_the_order(tmp_path):
    first, second = Events(), Events("acme/other")
    for events in (first, second):
        events.opened(1, "reporter-one", BUG)
        events.commented(1, 1, "maint-two", REPLY, minute=1)
        events.opened(2, "reporter-one", "+1")
    a = _records(tmp_path / "a", first.items, second.items)
    b = _records(tmp_path / "b", second.items[::-1], first.items[::-1])
    assert [(r["id"], r["content"], r["reason"]) for r in a] == \
        [(r["id"], r["content"], r["reason"]) for r in b]
    assert [r["path"] for r in a] == ["issues/1", "issues/2", "issues/1", "issues/2"]
    assert len({r["id"] for r in a}) == 4


def test_the_manifest_reads_issues_lines(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"name": "gharchive/2024-05-01", "issues": ["a.json.gz", "b.json"]}\n'
                        '{"name": "acme/widget", "source": "/src"}\n')
    issues, repo = read_manifest(manifest)
    assert issues == IssuesEntry("gharchive/2024-05-01", ("a.json.gz", "b.json"))
    assert repo.source == "/src"
    for line, message in (('{"name": "a/b", "issues": [], "source": "x"}', "not both"),
                          ('{"name": "a/b", "issues": []}', "non-empty list"),
                          ('{"name": "a/b", "issues": ["x", "x"]}', "twice"),
                          ('{"name": "a/b", "issues": ["x"], "stars": 1}', "unknown")):
        manifest.write_text(line + "\n")
        with pytest.raises(ManifestError, match=message):
            read_manifest(manifest)


def _file(repo: str, path: str, licence: str | None, source: str | None) -> dict:
    return new_record(id=f"{repo}:{path}", kind="file", repo=repo, path=path, content="x",
                      license=licence, license_source=source,
                      license_class="permissive" if licence == "MIT" else
                      "non_permissive" if licence else "no_license")


def _issue(repo: str) -> dict:
    return new_record(id=f"{repo}:issue", kind="issue", repo=repo, path="issues/1",
                      content="<issue_start>")


def test_an_issue_takes_the_licence_of_its_repositorys_root():
    records = [
        _file("a/mit", "src/x.py", "MIT", "LICENSE"), _issue("a/mit"),
        _file("a/meta", "x.py", "MIT", "metadata"), _issue("a/meta"),
        _file("a/gpl", "sub/x.py", "MIT", "sub/LICENSE"), _file("a/gpl", "x.py",
                                                                "GPL-3.0-only", "COPYING"),
        _issue("a/gpl"),
        _file("a/none", "sub/x.py", "MIT", "sub/LICENSE"), _issue("a/none"),
        _issue("a/nofiles")]
    out, _ = run_stage(LicensePolicyStage(LicenseConfig()), records)
    issues = {r["repo"]: r for r in out if r["kind"] == "issue"}
    assert (issues["a/mit"]["reason"], issues["a/mit"]["license"],
            issues["a/mit"]["license_source"]) == (None, "MIT", "LICENSE")
    assert issues["a/meta"]["reason"] is None
    assert issues["a/gpl"]["reason"] == "license_non_permissive"
    assert json.loads(issues["a/none"]["details"])["issue_license"] == \
        "no licence at the repository's root"
    assert json.loads(issues["a/nofiles"]["details"])["issue_license"] == \
        "no file of the repository in the build"
    keep_all = LicensePolicyStage(LicenseConfig(issue_license="none"))
    out, _ = run_stage(keep_all, records)
    assert all(r["reason"] is None for r in out if r["kind"] == "issue")
    with pytest.raises(ValueError, match="issue_license"):
        LicensePolicyStage(LicenseConfig(issue_license="maybe"))


# --- a build -------------------------------------------------------------------------------

LOGINS = ("reporter-one", "maint-two", "helper-three", "optout-person")


@pytest.fixture(scope="module")
def issues_corpus(tmp_path_factory) -> Path:
    """acme/widget (MIT, two files), its issues and those of a repository not in the build."""
    root = tmp_path_factory.mktemp("issues-corpus")
    from test_build import _licence_text
    _write(root / "widget", {"LICENSE": _licence_text("mit"),
                             "widget.py": "def widget(size):\n    return [0] * size\n"})
    events, elsewhere = Events(), Events("other/unknown")
    events.opened(1, "reporter-one", BUG + " @helper-three wrote the parser.")
    events.commented(1, 1, "maint-two", REPLY, minute=1)
    events.opened(2, "optout-person", BUG.replace("widget", "widget's parser"), title="Parser")
    events.commented(2, 2, "maint-two", REPLY.replace("Reporter-One", "optout-person"),
                     minute=3)
    elsewhere.opened(1, "reporter-one", BUG)
    elsewhere.commented(1, 1, "maint-two", REPLY, minute=1)
    hours = [write_events(root / "2024-05-01-1.json.gz", events.items[2:] + elsewhere.items),
             write_events(root / "2024-05-01-0.json.gz", events.items[:2])]
    manifest = root / "repos.jsonl"
    manifest.write_text(json.dumps({"name": REPO, "source": str(root / "widget")}) + "\n"
                        + json.dumps({"name": "gharchive/2024-05-01",
                                      "issues": [str(p) for p in hours]}) + "\n")
    return manifest


def _build(manifest: Path, out: Path, spark):
    return run_build(manifest, out, BuildConfig(pii=PiiConfig(enabled=False)), spark=spark)


def test_a_build_releases_issues_without_logins_and_an_optout_removes_them(
        spark, issues_corpus, tmp_path):
    built = _build(issues_corpus, tmp_path / "out", spark)
    kept = _read(built.release_dir, "data")
    issues = {r["path"]: r for r in kept if r["kind"] == "issue"}
    assert set(issues) == {"issues/1", "issues/2"} and all(
        r["repo"] == REPO and r["license"] == "MIT" for r in issues.values())
    counts = built.manifest["counts"]
    assert counts["kept_by_kind"]["issue"] == 2 and counts["excluded_by_kind"]["issue"] == 1
    excluded = {(r["repo"], r["path"]): r for r in _read(built.release_dir, "excluded")}
    assert excluded[("other/unknown", "issues/1")]["reason"] == "license_none"
    shards = [p for p in built.release_dir.rglob("*.parquet")]
    for shard in shards:
        text = json.dumps(pq.read_table(shard).to_pylist(), default=str).lower()
        assert not any(login in text for login in LOGINS), shard
        assert "authors" not in pq.read_schema(shard).names
    private = {r["id"]: r["authors"] for r in _read(tmp_path / "out", "private")}
    assert private[issues["issues/2"]["id"]] == ["maint-two", "optout-person"]

    home = tmp_path / "home"
    with Registry.open(home) as registry:
        request = registry.add(new_request("user", "optout-person")).request.id
        registry.verify(request, by="staff")
    with data_root(home):
        again = _build(issues_corpus, tmp_path / "optout", spark)
    kept_paths = {r["path"] for r in _read(again.release_dir, "data") if r["kind"] == "issue"}
    assert kept_paths == {"issues/1"}
    removed = {(r["repo"], r["path"]): r for r in _read(again.release_dir, "excluded")}
    assert removed[(REPO, "issues/2")]["reason"] == "opt_out"
    assert removed[(REPO, "issues/2")]["content"] is None
    # the published release, too: apply finds the login in the build's private authors
    from optout.apply import plan_apply, publish

    plan = plan_apply(tmp_path / "out", home)
    assert plan.removed == 1 and dict(plan.removals) == {request: {REPO: 1}}
    published = publish(plan)
    applied = {r["path"] for r in _read(published, "data") if r["kind"] == "issue"}
    assert applied == {"issues/1"}

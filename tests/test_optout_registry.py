"""The opt-out registry on real SQLite files: validation, transitions, migrations, import,
export, state hash, concurrent writers, and ``curate optout`` end to end."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import sqlite3
import threading
import time

import pytest

from jobs.cli import main
from optout.jsonl import ImportFileError, parse_import
from optout.registry import (MIGRATIONS, SCHEMA_VERSION, NewRequest, Registry, RegistryError,
                             new_request, registry_path)
from optout.targets import (InvalidTarget, normalise_email, normalise_login, normalise_repo,
                            normalise_target)


@pytest.fixture
def registry(tmp_path):
    with Registry(tmp_path / "optout.sqlite3") as opened:
        yield opened


def _add(registry: Registry, kind: str, target: str, **fields) -> int:
    return registry.add(new_request(kind, target, **fields)).request.id


# --- what a request can name -------------------------------------------------------------

@pytest.mark.parametrize("login", ["a", "octocat", "Octo-Cat", "a1-b2-c3", "0", "x" * 39,
                                   "a--b"])  # a--b: legacy accounts (targets.py docstring)
def test_valid_logins(login):
    assert normalise_login(login) == login.lower()


@pytest.mark.parametrize("login, message", [
    ("", "empty"),
    ("-x", "start or end with a hyphen"),
    ("x-", "start or end with a hyphen"),
    ("-", "start or end with a hyphen"),
    ("x" * 40, "longer than 39"),
    ("a_b", "letters, digits and hyphens"),
    ("a.b", "letters, digits and hyphens"),
    ("a b", "letters, digits and hyphens"),
    ("é", "letters, digits and hyphens"),
    ("a/b", "letters, digits and hyphens"),
    ("a\x00b", "control character"),
    ("a\nb", "control character"),
    ("a\u202eb", "control character"),  # right-to-left override: a format character
    (7, "must be a string"),
])
def test_invalid_logins(login, message):
    with pytest.raises(InvalidTarget, match=message):
        normalise_login(login)


@pytest.mark.parametrize("repo, key", [
    ("o/r", "o/r"), ("Octo-Org/My_Repo.js", "octo-org/my_repo.js"), ("o/.github", "o/.github"),
    ("o/...", "o/..."), ("o/-", "o/-"), ("o/" + "R" * 100, "o/" + "r" * 100),
])
def test_valid_repos(repo, key):
    assert normalise_repo(repo) == key


@pytest.mark.parametrize("repo, message", [
    ("../etc", "relative path"),
    ("o/..", "relative path"),
    ("o/.", "relative path"),
    ("../../etc/passwd", "relative path"),
    ("o/r/x", "exactly one slash"),
    ("o//r", "exactly one slash"),
    ("o", "exactly one slash"),
    ("https://github.com/o/r", "exactly one slash"),
    ("/r", "owner of repository '/r' is empty"),
    ("-o/r", "start or end with a hyphen"),
    ("o/", "empty name"),
    ("o/" + "r" * 101, "longer than 100"),
    ("o/r r", "may hold only"),
    ("o/r\\x", "may hold only"),
    ("o/r%2Fx", "may hold only"),
    ("o/r\x1b", "control character"),
    ("o/r\t", "control character"),
])
def test_invalid_repos(repo, message):
    with pytest.raises(InvalidTarget, match=re.escape(message)):
        normalise_repo(repo)


@pytest.mark.parametrize("address, key", [
    ("someone@example.org", "someone@example.org"),
    ("  Some.One+tag@Example.ORG\n", "some.one+tag@example.org"),
    ("x@" + "d" * 252, "x@" + "d" * 252),  # 254 characters
])
def test_valid_emails(address, key):
    assert normalise_email(address) == key
    assert normalise_target("email", address) == key


@pytest.mark.parametrize("address, message", [
    (None, "must be a string, not NoneType"),
    ("   ", "e-mail address is empty"),
    ("some\x00one@example.org", "control character"),
    ("some\u200bone@example.org", "control character"),  # zero-width space: format (Cf)
    ("x@" + "d" * 253, "longer than 254 characters"),
    ("some one@example.org", "contains a blank"),
    ("a@example.org, b@example.org", "contains a blank"),
    ("someone.example.org", "has no @"),
    ("a@b@example.org", "more than one @"),
    ("@example.org", "text before and after the @"),
    ("someone@", "text before and after the @"),
])
def test_invalid_emails(address, message):
    with pytest.raises(InvalidTarget, match=re.escape(message)):
        normalise_email(address)


def test_unknown_kind_and_org_messages():
    with pytest.raises(InvalidTarget, match="unknown request kind 'team'"):
        normalise_target("team", "x")
    with pytest.raises(InvalidTarget, match="organisation '-acme'"):
        normalise_target("org", "-acme")


def test_invalid_request_fields():
    with pytest.raises(ValueError, match="requester"):
        new_request("user", "octocat", requested_by="bad login")
    with pytest.raises(ValueError, match="reason .* control character"):
        new_request("user", "octocat", reason="x\x00y")
    assert new_request("user", "octocat", reason="line 1\n\tline 2").reason == "line 1\n\tline 2"


# --- adding, duplicates, transitions ----------------------------------------------------

def test_add_records_request_and_history(registry):
    result = registry.add(new_request("user", "Octocat", reason="my code", requested_by="Octocat"))
    assert result.added and result.request.id == 1
    request = registry.get(1)
    assert (request.kind, request.target, request.target_key, request.status) == (
        "user", "Octocat", "octocat", "pending")
    assert request.source == "cli" and request.requested_by == "Octocat"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", request.created_at)
    assert request.reviewed_by is None and request.reviewed_at is None
    [created] = registry.history(1)
    assert (created.from_status, created.to_status, created.actor, created.note) == (
        None, "pending", "Octocat", "my code")


def test_open_duplicates_return_the_existing_request(registry):
    first = _add(registry, "user", "Octocat")
    again = registry.add(new_request("user", "OCTOCAT"))
    assert not again.added and again.request.id == first
    assert again.request.target == "Octocat"  # what was typed first is kept for display
    assert _add(registry, "org", "octocat") != first  # another kind is another request
    repo = _add(registry, "repo", "Owner/Repo")
    assert _add(registry, "repo", "owner/repo") == repo
    registry.verify(first, by="alice")
    assert _add(registry, "user", "octocat") == first  # verified is still open
    assert len(registry.requests()) == 3


def test_closed_requests_do_not_block_a_new_one(registry):
    rejected = _add(registry, "repo", "o/r")
    registry.reject(rejected, by="alice", reason="not the owner")
    withdrawn = _add(registry, "repo", "o/r")
    assert withdrawn != rejected
    registry.withdraw(withdrawn, by="o")
    third = _add(registry, "repo", "O/R")
    assert len({rejected, withdrawn, third}) == 3
    assert [r.status for r in registry.requests()] == ["rejected", "withdrawn", "pending"]


ALLOWED = {("pending", "verified"), ("pending", "rejected"), ("pending", "withdrawn"),
           ("verified", "withdrawn")}


def _into(registry: Registry, status: str) -> int:
    request_id = _add(registry, "repo", f"o/{status}")
    if status == "verified":
        registry.verify(request_id, by="alice")
    elif status == "rejected":
        registry.reject(request_id, by="alice", reason="no")
    elif status == "withdrawn":
        registry.withdraw(request_id, by="o")
    return request_id


def _apply(registry: Registry, request_id: int, status: str) -> None:
    if status == "verified":
        registry.verify(request_id, by="bob")
    elif status == "rejected":
        registry.reject(request_id, by="bob", reason="unfounded")
    else:
        registry.withdraw(request_id, by="bob", note="changed my mind")


@pytest.mark.parametrize("current", ["pending", "verified", "rejected", "withdrawn"])
@pytest.mark.parametrize("new", ["verified", "rejected", "withdrawn"])
def test_every_transition(registry, current, new):
    request_id = _into(registry, current)
    before, history_before = registry.get(request_id), registry.history(request_id)
    if (current, new) in ALLOWED:
        _apply(registry, request_id, new)
        after = registry.get(request_id)
        assert after.status == new
        last = registry.history(request_id)[-1]
        assert (last.from_status, last.to_status, last.actor) == (current, new, "bob")
        assert len(registry.history(request_id)) == len(history_before) + 1
        if new in ("verified", "rejected"):
            assert after.reviewed_by == "bob" and after.reviewed_at
        else:  # a withdrawal keeps who reviewed it
            assert after.reviewed_by == before.reviewed_by
    else:
        with pytest.raises(RegistryError, match=f"is {current} and cannot become {new}"):
            _apply(registry, request_id, new)
        assert registry.get(request_id) == before
        assert registry.history(request_id) == history_before


def test_full_history_in_order(registry):
    request_id = _add(registry, "org", "acme", requested_by="ceo")
    registry.verify(request_id, by="alice")
    registry.withdraw(request_id, by="ceo", note="we open-sourced it")
    changes = [(h.from_status, h.to_status, h.actor, h.note)
               for h in registry.history(request_id)]
    assert changes == [(None, "pending", "ceo", None), ("pending", "verified", "alice", None),
                       ("verified", "withdrawn", "ceo", "we open-sourced it")]
    assert registry.get(request_id).reviewed_by == "alice"


@pytest.mark.parametrize("call, message", [
    (lambda r, i: r.reject(i, by="alice", reason=""), "reason is required"),
    (lambda r, i: r.verify(i, by=""), r"who \(--by\) is required"),
    (lambda r, i: r.verify(i, by="al\nice"), "one line"),
    (lambda r, i: r.verify(i, by=" alice"), "surrounding blanks"),
    (lambda r, i: r.verify(i + 1, by="alice"), "no opt-out request 2"),
])
def test_refused_changes_change_nothing(registry, call, message):
    request_id = _add(registry, "user", "octocat")
    with pytest.raises(RegistryError, match=message):
        call(registry, request_id)
    assert registry.get(request_id).status == "pending"
    assert len(registry.history(request_id)) == 1


def test_add_all_is_one_transaction(registry):
    unchecked = NewRequest("team", "x", "x", None, "cli", None)  # refused by the table's CHECK
    with pytest.raises(RegistryError):
        registry.add_all([new_request("user", "a"), new_request("repo", "o/r"), unchecked])
    assert registry.requests() == []
    assert _add(registry, "user", "a") == 1  # the rolled-back ids are not taken


def test_requests_by_status(registry):
    _into(registry, "verified"), _into(registry, "pending"), _into(registry, "rejected")
    assert [r.target for r in registry.requests("pending")] == ["o/pending"]
    assert len(registry.requests()) == 3
    with pytest.raises(RegistryError, match="unknown status 'done'"):
        registry.requests("done")


# --- what a build enforces ---------------------------------------------------------------

def test_verified_targets(registry):
    user = _add(registry, "user", "Octocat")
    org = _add(registry, "org", "Acme")
    repo = _add(registry, "repo", "Some/Repo")
    _add(registry, "user", "pending-one")
    withdrawn = _add(registry, "repo", "o/gone")
    for request_id in (user, org, repo, withdrawn):
        registry.verify(request_id, by="alice")
    registry.withdraw(withdrawn, by="o")
    email = _add(registry, "email", " Someone@Example.org ")
    registry.verify(email, by="alice")
    targets = registry.verified_targets()
    assert targets.users == {"octocat": user}
    assert targets.orgs == {"acme": org}
    assert targets.repos == {"some/repo": repo}
    assert targets.emails == {"someone@example.org": email}


def test_state_hash_follows_verified_state_only(registry, tmp_path):
    empty = registry.state_hash()
    first = _add(registry, "user", "Octocat")
    assert registry.state_hash() == empty  # pending is not enforced
    registry.verify(first, by="alice")
    one = registry.state_hash()
    assert one != empty
    expected = json.dumps([{"id": first, "kind": "user", "target": "octocat"}],
                          sort_keys=True, separators=(",", ":"))
    assert one == hashlib.sha256(expected.encode()).hexdigest()
    second = _add(registry, "repo", "o/r")
    registry.reject(second, by="alice", reason="no")
    _add(registry, "user", "octocat")  # a duplicate: no change
    assert registry.state_hash() == one
    third = _add(registry, "org", "acme")
    registry.verify(third, by="alice")
    assert registry.state_hash() not in (empty, one)
    registry.withdraw(third, by="acme")
    assert registry.state_hash() == one
    registry.withdraw(first, by="octocat")
    assert registry.state_hash() == empty
    email = _add(registry, "email", "someone@example.org")
    assert registry.state_hash() == empty
    registry.verify(email, by="alice")
    assert registry.state_hash() != empty
    with Registry(tmp_path / "other" / "optout.sqlite3") as other:  # same state, same hash
        other.verify(_add(other, "user", "OCTOCAT"), by="bob")
        assert other.state_hash() == one


# --- schema and migrations ---------------------------------------------------------------

def _old_database(path, rows, version: int = 1, status: str = "pending"):
    """A registry at schema ``version`` holding ``rows`` (kind, target) of ``status``."""
    db = sqlite3.connect(path)
    for statements in MIGRATIONS[:version]:
        for statement in statements:
            db.execute(statement)
    for kind, target in rows:
        request_id = db.execute(
            "INSERT INTO requests (kind, target, target_key, source, status, created_at) "
            "VALUES (?, ?, ?, 'cli', ?, '2025-01-01T00:00:00Z')",
            (kind, target, target.lower(), status)).lastrowid
        db.execute("INSERT INTO history (request_id, to_status, actor, at) "
                   "VALUES (?, ?, 'cli', '2025-01-01T00:00:00Z')", (request_id, status))
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()


def _schema(path) -> tuple[int, set[str]]:
    db = sqlite3.connect(path)
    version = db.execute("PRAGMA user_version").fetchone()[0]
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    return version, names


def test_new_registry_is_current_and_wal(tmp_path):
    path = tmp_path / "deep" / "home" / "optout.sqlite3"
    Registry(path).close()
    assert SCHEMA_VERSION == 3
    version, names = _schema(path)
    assert version == SCHEMA_VERSION
    assert {"requests", "history", "one_open_request", "history_of_request"} <= names
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_opening_a_v1_registry_migrates_it(tmp_path):
    path = tmp_path / "optout.sqlite3"
    _old_database(path, [("user", "Octocat"), ("repo", "o/r")])
    assert _schema(path) == (1, {"requests", "history", "sqlite_sequence"})
    with Registry(path) as registry:
        assert [r.target for r in registry.requests()] == ["Octocat", "o/r"]
        assert _add(registry, "user", "octocat") == 1  # old rows take part in duplicates
        assert _add(registry, "user", "new") == 3
    version, names = _schema(path)
    assert version == SCHEMA_VERSION and "one_open_request" in names
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):  # the database itself refuses a duplicate
        db.execute("INSERT INTO requests (kind, target, target_key, source, status, created_at)"
                   " VALUES ('repo', 'O/R', 'o/r', 'cli', 'verified', 'now')")
    db.close()


def test_opening_a_v2_registry_rebuilds_its_table_to_take_emails(tmp_path):
    path = tmp_path / "optout.sqlite3"
    _old_database(path, [("user", "Octocat"), ("repo", "o/r"), ("org", "acme")], version=2,
                  status="verified")
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):  # v2 refuses the kind
        db.execute("INSERT INTO requests (kind, target, target_key, source, status, "
                   "created_at) VALUES ('email', 'a@b.c', 'a@b.c', 'cli', 'pending', 'now')")
    db.close()
    with Registry(path) as registry:
        registry.withdraw(2, by="o")
        assert [(r.id, r.kind, r.target, r.status) for r in registry.requests()] == [
            (1, "user", "Octocat", "verified"), (2, "repo", "o/r", "withdrawn"),
            (3, "org", "acme", "verified")]
        assert [(h.from_status, h.to_status) for h in registry.history(2)] == [
            (None, "verified"), ("verified", "withdrawn")]
        assert _add(registry, "user", "octocat") == 1  # the open-request index is back
        assert _add(registry, "email", "Someone@Example.org") == 4  # ids go on
        assert registry.verified_targets().users == {"octocat": 1}
        assert registry._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            registry._db.execute("INSERT INTO history (request_id, to_status, actor, at) "
                                 "VALUES (99, 'pending', 'x', 'now')")
    version, names = _schema(path)
    assert version == 3 and {"one_open_request", "history_of_request"} <= names
    assert "requests_new" not in names
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("INSERT INTO requests (kind, target, target_key, source, status, "
                   "created_at) VALUES ('team', 'x', 'x', 'cli', 'pending', 'now')")
    db.close()


def test_a_failing_migration_leaves_the_registry_as_it_was(tmp_path):
    path = tmp_path / "optout.sqlite3"
    _old_database(path, [("user", "octocat"), ("user", "OctoCat")])  # two open: refused by v2
    with pytest.raises(RegistryError, match="schema version 2 failed .* stays at version 1"):
        Registry(path)
    assert _schema(path) == (1, {"requests", "history", "sqlite_sequence"})


def test_a_migration_that_leaves_a_broken_reference_is_rolled_back(tmp_path):
    path = tmp_path / "optout.sqlite3"
    _old_database(path, [("user", "octocat")], version=2)
    db = sqlite3.connect(path)  # foreign keys off: a history row of no request gets in
    db.execute("INSERT INTO history (request_id, to_status, actor, at) "
               "VALUES (7, 'pending', 'cli', 'now')")
    db.commit()
    db.close()
    with pytest.raises(RegistryError, match="version 3 broke 1 reference.* stays at version 2"):
        Registry(path)
    assert _schema(path)[0] == 2


def test_a_newer_registry_is_refused(tmp_path):
    path = tmp_path / "optout.sqlite3"
    Registry(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RegistryError, match="newer than this stack-curate's 3: upgrade"):
        Registry(path)
    assert _schema(path)[0] == SCHEMA_VERSION + 1


def test_a_file_that_is_not_a_registry_is_refused(tmp_path):
    path = tmp_path / "optout.sqlite3"
    path.write_bytes(b"not a database at all, just text" * 100)
    with pytest.raises(RegistryError, match="cannot open opt-out registry"):
        Registry(path)


def test_registry_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("STACK_CURATE_HOME", str(tmp_path / "env"))
    assert registry_path() == tmp_path / "env" / "optout.sqlite3"
    assert registry_path(tmp_path / "arg") == tmp_path / "arg" / "optout.sqlite3"
    monkeypatch.delenv("STACK_CURATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert registry_path() == tmp_path / "user/.local/share/stack-curate/optout.sqlite3"


# --- import and export -------------------------------------------------------------------

def _jsonl(path, items):
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n"
                            for item in items), encoding="utf-8")
    return path


GOOD = [
    {"issue": 12, "author": "alice", "optout_repos": ["alice/dotfiles", "alice/site"],
     "optout_owners": [], "title": "please remove my repos"},
    {"issue": 13, "author": "bob", "optout_repos": [], "optout_owners": ["bob"],
     "optout_orgs": ["bob-corp"], "reason": "all of it"},
]


def test_parse_import(tmp_path):
    text = _jsonl(tmp_path / "in.jsonl", GOOD + [
        "", "  ", {"issue": None, "author": None, "optout_repos": ["x/y"], "optout_owners": []},
        {"issue": 14, "author": None, "optout_repos": [], "optout_owners": [],
         "optout_emails": ["Someone@Example.org"]},
    ]).read_text()
    requests = parse_import(text.replace("\n", "\r\n"), "in.jsonl")
    assert [(r.kind, r.target, r.source, r.requested_by, r.reason) for r in requests] == [
        ("repo", "alice/dotfiles", "issue:12", "alice", None),
        ("repo", "alice/site", "issue:12", "alice", None),
        ("user", "bob", "issue:13", "bob", "all of it"),
        ("org", "bob-corp", "issue:13", "bob", "all of it"),
        ("repo", "x/y", "import:in.jsonl:5", None, None),
        ("email", "Someone@Example.org", "issue:14", None, None),
    ]
    assert requests[-1].key == "someone@example.org"


@pytest.mark.parametrize("bad_line, message", [
    ("{not json", "not JSON"),
    ("[1, 2]", "a JSON object expected, not list"),
    ({"issue": 3, "author": "c", "optout_repos": []}, "missing key.* optout_owners"),
    ({"author": "c", "optout_repos": ["c/r"], "optout_owners": []}, "missing key.* issue"),
    ({"issue": "3", "author": "c", "optout_repos": [], "optout_owners": ["c"]},
     "issue must be a positive integer"),
    ({"issue": True, "author": "c", "optout_repos": [], "optout_owners": ["c"]},
     "issue must be a positive integer"),
    ({"issue": 3, "author": "c", "optout_repos": "c/r", "optout_owners": []},
     "optout_repos must be a list"),
    ({"issue": 3, "author": "c", "optout_repos": [["c/r"]], "optout_owners": []},
     r"optout_repos\[0\]: repository must be a string"),
    ({"issue": 3, "author": "c", "optout_repos": ["c/r", "../etc"], "optout_owners": []},
     r"optout_repos\[1\]: repository '../etc' is a relative path"),
    ({"issue": 3, "author": "c", "optout_repos": [], "optout_owners": ["-c"]},
     r"optout_owners\[0\]: GitHub login '-c'"),
    ({"issue": 3, "author": "-c", "optout_repos": [], "optout_owners": ["c"]}, "author '-c'"),
    ({"issue": 3, "author": "c", "optout_repos": [], "optout_owners": []}, "names no"),
    ({"issue": 3, "author": "c", "optout_repos": [], "optout_owners": [],
      "optout_emails": "c@example.org"}, "optout_emails must be a list"),
    ({"issue": 3, "author": "c", "optout_repos": [], "optout_owners": [],
      "optout_emails": ["c@example.org", "c at example.org"]},
     r"optout_emails\[1\]: e-mail address 'c at example.org' contains a blank"),
])
def test_a_bad_line_3_applies_nothing(tmp_path, registry, bad_line, message):
    path = _jsonl(tmp_path / "requests.jsonl", GOOD + [bad_line])
    with pytest.raises(ImportFileError, match=f"line 3: {message}"):
        parse_import(path.read_text(), str(path))
    assert main(["optout", "import", str(path), "--home", str(tmp_path)]) == 2
    assert registry.requests() == []


def test_import_reports_every_bad_line(tmp_path):
    text = "\n".join(["{", json.dumps(GOOD[0]), "[]", "{}"])
    with pytest.raises(ImportFileError, match=r"3 malformed line\(s\), nothing imported: "
                                              r"line 1: .*; line 3: .*; line 4: "):
        parse_import(text, "f.jsonl")


def test_import_counts_added_and_existing(tmp_path, registry, capsys):
    _add(registry, "repo", "Alice/Dotfiles")
    path = _jsonl(tmp_path / "in.jsonl", GOOD + [
        {"issue": 14, "author": "bob", "optout_repos": [], "optout_owners": ["BOB"]}])
    assert main(["optout", "import", str(path), "--home", str(tmp_path)]) == 0
    assert "added 3 request(s); 2 already registered" in capsys.readouterr().out
    assert [(r.id, r.kind, r.target_key, r.source) for r in registry.requests()] == [
        (1, "repo", "alice/dotfiles", "cli"), (2, "repo", "alice/site", "issue:12"),
        (3, "user", "bob", "issue:13"), (4, "org", "bob-corp", "issue:13")]


def test_import_refuses_a_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"issue": 1, "author": "\xff"}\n')
    assert main(["optout", "import", str(path), "--home", str(tmp_path)]) == 2
    assert "not UTF-8" in capsys.readouterr().err


def test_export_round_trips_through_import(tmp_path, capsys):
    home, fresh = tmp_path / "home", tmp_path / "fresh"
    path = _jsonl(tmp_path / "in.jsonl", GOOD)
    assert main(["optout", "import", str(path), "--home", str(home)]) == 0
    for argv in (["add", "--repo", "Octo/Thing", "--reason", "mine\nreally"],
                 ["add", "--user", "carol", "--requested-by", "carol"],
                 ["add", "--org", "decided"], ["verify", "7", "--by", "alice"],
                 ["add", "--email", " Carol@Example.org "]):
        assert main(["optout", *argv, "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["optout", "export", "--status", "pending", "--home", str(home)]) == 0
    exported = capsys.readouterr().out
    lines = [json.loads(line) for line in exported.splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3, 4, 5, 6, 8]
    assert lines[4]["optout_repos"] == ["Octo/Thing"] and lines[4]["issue"] is None
    assert (lines[6]["kind"], lines[6]["optout_emails"]) == ("email", [" Carol@Example.org "])
    export_file = tmp_path / "export.jsonl"
    export_file.write_text(exported, encoding="utf-8")

    assert main(["optout", "import", str(export_file), "--home", str(home)]) == 0
    assert "added 0 request(s); 7 already registered" in capsys.readouterr().out

    assert main(["optout", "import", str(export_file), "--home", str(fresh)]) == 0
    with Registry.open(home) as before, Registry.open(fresh) as after:
        def fields(request):
            return (request.kind, request.target, request.target_key, request.reason,
                    request.requested_by, request.status)
        assert ([fields(r) for r in after.requests()]
                == [fields(r) for r in before.requests("pending")])
        assert [r.source for r in after.requests()][:4] == [
            "issue:12", "issue:12", "issue:13", "issue:13"]
        assert after.requests()[4].source == f"import:{export_file}:5"
    capsys.readouterr()
    assert main(["optout", "export", "--status", "pending", "--home", str(home)]) == 0
    assert capsys.readouterr().out == exported  # stable


# --- concurrent writers ------------------------------------------------------------------

SHARED_TARGETS = ["shared/one", "shared/two", "shared/three"]


def _adding_worker(path: str, worker: int, count: int, start: str | None = None
                   ) -> dict[str, int]:
    """Adds ``count`` targets of its own and the shared ones, interleaved, once the file
    ``start`` exists; returns the id each shared target got."""
    deadline = time.monotonic() + 20
    while start is not None and not os.path.exists(start) and time.monotonic() < deadline:
        time.sleep(0.001)
    shared = {}
    with Registry(path) as registry:
        for index in range(count):
            registry.add(new_request("repo", f"w{worker}/r{index}"))
            if index % 8 == 0:
                target = SHARED_TARGETS[(index // 8 + worker) % len(SHARED_TARGETS)]
                shared[target] = registry.add(new_request("repo", target)).request.id
    return shared


def _check_concurrent_adds(path, workers: int, count: int, shared_ids: list[dict]) -> None:
    with Registry(path) as registry:
        requests = registry.requests()
        keys = [r.target_key for r in requests]
        assert len(keys) == len(set(keys)) == workers * count + len(SHARED_TARGETS)
        assert set(keys) == ({f"w{w}/r{i}" for w in range(workers) for i in range(count)}
                             | set(SHARED_TARGETS))
        assert [r.id for r in requests] == list(range(1, len(requests) + 1))
        ids = {r.target_key: r.id for r in requests}
        for got in shared_ids:
            assert got and all(ids[target] == got[target] for target in got)
        total_history = sum(len(registry.history(r.id)) for r in requests)
        assert total_history == len(requests)


def test_concurrent_processes_lose_and_duplicate_nothing(tmp_path):
    path = str(tmp_path / "optout.sqlite3")  # created by the racing workers themselves
    start = tmp_path / "start"
    workers, count = 4, 25
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        running = pool.starmap_async(_adding_worker,
                                     [(path, w, count, str(start)) for w in range(workers)])
        time.sleep(0.5)  # let the workers start and wait
        start.touch()
        shared_ids = running.get(timeout=60)
    _check_concurrent_adds(path, workers, count, shared_ids)


def test_concurrent_threads_lose_and_duplicate_nothing(tmp_path):
    path = str(tmp_path / "optout.sqlite3")
    workers, count = 4, 25
    shared_ids: list[dict] = [{} for _ in range(workers)]

    def run(worker: int) -> None:
        shared_ids[worker] = _adding_worker(path, worker, count)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _check_concurrent_adds(path, workers, count, shared_ids)


def test_opening_waits_for_a_writer_holding_a_new_file(tmp_path):
    """SQLite answers busy at once (no busy handler) to the switch to WAL while another
    connection writes the file in its first, rollback-journal mode: the registry retries."""
    path = tmp_path / "optout.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE unrelated (x)")
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.execute, ("COMMIT",))
    release.start()
    with Registry(path, busy_timeout_s=10) as registry:  # opens only once the holder commits
        assert _add(registry, "user", "octocat") == 1
    release.join()
    holder.close()


# --- curate optout -----------------------------------------------------------------------

def _curate(capsys, home, *argv) -> tuple[int, str, str]:
    code = main(["optout", *argv, "--home", str(home)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_add_verify_list_show(tmp_path, capsys):
    assert _curate(capsys, tmp_path, "add", "--user", "Octocat", "--reason", "opt out") == (
        0, "added request 1: user 'Octocat' (pending)\n", "")
    code, out, _ = _curate(capsys, tmp_path, "add", "--user", "octocat")
    assert code == 0 and out == ("request 1 already exists for user 'Octocat' (pending): "
                                 "not added again\n")
    assert _curate(capsys, tmp_path, "add", "--repo", "o/r")[1].startswith("added request 2")
    assert _curate(capsys, tmp_path, "verify", "1", "--by", "alice")[1] == (
        "request 1 (user 'Octocat') verified by alice\n")
    assert _curate(capsys, tmp_path, "reject", "2", "--by", "bob", "--reason", "no proof")[0] == 0

    code, out, _ = _curate(capsys, tmp_path, "list")
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0][:4] == ["id", "status", "kind", "target"]
    assert [row[:4] for row in rows[1:]] == [["1", "verified", "user", "Octocat"],
                                            ["2", "rejected", "repo", "o/r"]]
    code, out, _ = _curate(capsys, tmp_path, "list", "--status", "verified", "--json")
    [listed] = json.loads(out)
    assert (listed["id"], listed["target_key"], listed["reviewed_by"]) == (1, "octocat", "alice")

    code, out, _ = _curate(capsys, tmp_path, "show", "2")
    assert out.splitlines()[0] == "request 2: repo 'o/r', rejected"
    assert re.search(r"created pending by cli\n.*pending -> rejected by bob: no proof\n$", out)


def test_cli_add_and_list_an_email_request(tmp_path, capsys):
    assert _curate(capsys, tmp_path, "add", "--email", "Someone@Example.org") == (
        0, "added request 1: email 'Someone@Example.org' (pending)\n", "")
    assert _curate(capsys, tmp_path, "add", "--email", " someone@example.ORG")[1] == (
        "request 1 already exists for email 'Someone@Example.org' (pending): not added again\n")
    code, out, _ = _curate(capsys, tmp_path, "list", "--json")
    [listed] = json.loads(out)
    assert (listed["kind"], listed["target_key"]) == ("email", "someone@example.org")


def test_cli_withdraw_and_errors(tmp_path, capsys):
    _curate(capsys, tmp_path, "add", "--org", "acme")
    _curate(capsys, tmp_path, "verify", "1", "--by", "alice")
    assert _curate(capsys, tmp_path, "withdraw", "1", "--by", "acme-cto")[1] == (
        "request 1 (org 'acme') withdrawn by acme-cto\n")
    for argv, message in [
        (("verify", "1", "--by", "alice"), "request 1 is withdrawn and cannot become verified"),
        (("show", "9"), "no opt-out request 9"),
        (("add", "--repo", "../etc"), "relative path"),
        (("add", "--user", "x" * 40), "longer than 39"),
        (("add", "--repo", "o/r/x"), "exactly one slash"),
        (("add", "--email", "someone.example.org"), "e-mail address 'someone.example.org' "
                                                    "has no @"),
    ]:
        code, out, err = _curate(capsys, tmp_path, *argv)
        assert code == 2 and out == ""
        assert err.startswith("curate optout: error: ") and message in err
        assert err.count("\n") == 1
    with pytest.raises(SystemExit):  # argparse: exactly one of --user, --org, --repo
        main(["optout", "add", "--user", "a", "--org", "b", "--home", str(tmp_path)])
    with Registry.open(tmp_path) as registry:
        assert len(registry.requests()) == 1


def test_cli_uses_stack_curate_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STACK_CURATE_HOME", str(tmp_path / "data"))
    assert main(["optout", "add", "--user", "octocat"]) == 0
    assert (tmp_path / "data" / "optout.sqlite3").is_file()
    assert main(["optout", "list", "--home", str(tmp_path / "other")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("id\t")  # the other is empty

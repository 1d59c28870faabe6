"""The opt-out request registry: one SQLite file in WAL mode under the data root.

A request names a GitHub user, organisation, repository or e-mail address (:mod:`optout.targets`)
and moves through these statuses; any other change is an error and changes nothing::

    pending  -> verified    staff checked that the requester speaks for the target
    pending  -> rejected    staff found it unfounded (with a reason)
    pending  -> withdrawn   the requester took it back
    verified -> withdrawn   the requester took back an opt-out already enforced

Only verified requests are enforced by a build (:meth:`Registry.verified_targets`), and
:meth:`Registry.state_hash` names that state. At most one request per kind and target is
open (pending or verified): adding it again returns the open one.

Concurrency: every write is one ``BEGIN IMMEDIATE`` transaction under a busy timeout, so
writers in several processes and threads queue rather than fail or interleave. A
:class:`Registry` holds one connection, for the thread that opened it: open one per thread
or process.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from optout.targets import KINDS, has_control_character, normalise_login, normalise_target
from pipeline.config import stable_hash

STATUSES = ("pending", "verified", "rejected", "withdrawn")
OPEN_STATUSES = ("pending", "verified")
TRANSITIONS = frozenset({("pending", "verified"), ("pending", "rejected"),
                         ("pending", "withdrawn"), ("verified", "withdrawn")})
REGISTRY_FILE = "optout.sqlite3"
MAX_ACTOR_CHARS = 200

def _requests_table(name: str, kinds: str) -> str:
    """The requests table's CREATE statement, for the request ``kinds`` (a SQL list): migration
    1 creates it, migration 3 rebuilds it with one kind more (the same text as when applied)."""
    return f"""CREATE TABLE {name} (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ({kinds})),
            target TEXT NOT NULL,
            target_key TEXT NOT NULL,
            reason TEXT,
            source TEXT NOT NULL,
            requested_by TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'verified', 'rejected', 'withdrawn')),
            reviewed_by TEXT,
            reviewed_at TEXT,
            created_at TEXT NOT NULL)"""


# Each migration is the SQL that takes the schema from its index to the next version;
# PRAGMA user_version holds the version reached. Append, never edit an applied one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: requests and the history of their statuses
    (_requests_table("requests", "'user', 'org', 'repo'"),
     """CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id INTEGER NOT NULL REFERENCES requests (id),
            from_status TEXT,
            to_status TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            note TEXT)"""),
    # 2: the database itself refuses a second open request for one kind and target
    ("""CREATE UNIQUE INDEX one_open_request ON requests (kind, target_key)
            WHERE status IN ('pending', 'verified')""",
     "CREATE INDEX history_of_request ON history (request_id)"),
    # 3: the kind 'email'. SQLite cannot alter a CHECK constraint: the table is rebuilt with
    # its rows and ids (history refers to them; foreign keys are off while migrating).
    (_requests_table("requests_new", "'user', 'org', 'repo', 'email'"),
     """INSERT INTO requests_new (id, kind, target, target_key, reason, source, requested_by,
            status, reviewed_by, reviewed_at, created_at)
        SELECT id, kind, target, target_key, reason, source, requested_by, status,
            reviewed_by, reviewed_at, created_at FROM requests""",
     "DROP TABLE requests",
     "ALTER TABLE requests_new RENAME TO requests",
     """CREATE UNIQUE INDEX one_open_request ON requests (kind, target_key)
            WHERE status IN ('pending', 'verified')"""),
)
SCHEMA_VERSION = len(MIGRATIONS)


class RegistryError(ValueError):
    """A request or registry operation that cannot be done; nothing was changed."""


@dataclasses.dataclass(frozen=True)
class NewRequest:
    """A validated request to add: ``key`` is the normalised target."""
    kind: str
    target: str
    key: str
    reason: str | None
    source: str
    requested_by: str | None


@dataclasses.dataclass(frozen=True)
class Request:
    id: int
    kind: str
    target: str
    target_key: str
    reason: str | None
    source: str
    requested_by: str | None
    status: str
    reviewed_by: str | None
    reviewed_at: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """One status change; ``from_status`` is None for the request's creation."""
    from_status: str | None
    to_status: str
    actor: str
    at: str
    note: str | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class AddResult:
    """The request a :meth:`Registry.add` ended at, and whether it was new."""
    request: Request
    added: bool


@dataclasses.dataclass(frozen=True)
class VerifiedTargets:
    """What a build enforces: normalised target -> id of the verified request."""
    users: dict[str, int]
    orgs: dict[str, int]
    repos: dict[str, int]
    emails: dict[str, int]


def check_text(text: object, what: str, required: bool) -> str | None:
    """``text`` if it is acceptable free text (newlines and tabs allowed, no other control
    characters); None for an empty optional text."""
    if text is None or text == "":
        if required:
            raise RegistryError(f"{what} is required")
        return None
    if not isinstance(text, str):
        raise RegistryError(f"{what} must be a string, not {type(text).__name__}")
    if has_control_character(text, allowed="\n\t"):
        raise RegistryError(f"{what} {text!r} contains a control character")
    return text


def check_actor(actor: object) -> str:
    """A person's name or login for the history: one line of printable text."""
    name = check_text(actor, "who (--by)", required=True)
    if name.strip() != name or "\n" in name or "\t" in name or len(name) > MAX_ACTOR_CHARS:
        raise RegistryError(f"who (--by) {name!r} must be one line of at most "
                            f"{MAX_ACTOR_CHARS} characters without surrounding blanks")
    return name


def new_request(kind: str, target: object, *, reason: object = None, source: str = "cli",
                requested_by: object = None) -> NewRequest:
    """A validated :class:`NewRequest`; :class:`ValueError` (with the reason) otherwise."""
    key = normalise_target(kind, target)
    if requested_by is not None:
        normalise_login(requested_by, "requester")
    return NewRequest(kind, str(target), key, check_text(reason, "reason", required=False),
                      source, requested_by)


def check_transition(request_id: int, current: str, new: str) -> None:
    """Raise :class:`RegistryError` unless ``current -> new`` is an allowed transition."""
    if (current, new) not in TRANSITIONS:
        allowed = ", ".join(f"{a} -> {b}" for a, b in sorted(TRANSITIONS))
        raise RegistryError(f"request {request_id} is {current} and cannot become {new} "
                            f"(allowed: {allowed})")


def default_home() -> Path:
    """``$STACK_CURATE_HOME``, else ``~/.local/share/stack-curate``."""
    home = os.environ.get("STACK_CURATE_HOME")
    return Path(home) if home else Path.home() / ".local" / "share" / "stack-curate"


def registry_path(home: Path | None = None) -> Path:
    """The registry file under ``home`` (default: :func:`default_home`)."""
    return (home if home is not None else default_home()) / REGISTRY_FILE


def utc_now() -> str:
    """The current time, UTC, ISO-8601 to the second."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _user_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def _enable_wal(db: sqlite3.Connection, where: Path, timeout_s: float) -> None:
    """Put the database in WAL mode. While another connection creates the file or switches
    it, SQLite answers busy without waiting: retry until ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    if mode != "wal":
        raise RegistryError(f"opt-out registry {where}: WAL mode unavailable ({mode})")


def migrate(db: sqlite3.Connection, where: Path) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION` in one transaction; refuse a database
    written by a newer version of this code. Foreign keys are off meanwhile (a migration may
    rebuild a table others refer to) and checked before the commit."""
    if _user_version(db) == SCHEMA_VERSION:
        return
    enforced = db.execute("PRAGMA foreign_keys").fetchone()[0]
    db.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: set before it
    try:
        _migrate(db, where)
    finally:
        db.execute(f"PRAGMA foreign_keys = {'ON' if enforced else 'OFF'}")


def _migrate(db: sqlite3.Connection, where: Path) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(db)  # another process may have migrated meanwhile
        if version > SCHEMA_VERSION:
            raise RegistryError(f"opt-out registry {where} has schema version {version}, "
                                f"newer than this stack-curate's {SCHEMA_VERSION}: "
                                "upgrade stack-curate")
        for target_version in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target_version - 1]:
                try:
                    db.execute(statement)
                except sqlite3.Error as error:
                    raise RegistryError(
                        f"migrating opt-out registry {where} to schema version "
                        f"{target_version} failed ({error}); it stays at version {version}"
                    ) from error
        broken = db.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RegistryError(f"migrating opt-out registry {where} to schema version "
                                f"{SCHEMA_VERSION} broke {len(broken)} reference(s); it stays "
                                f"at version {version}")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _request(row: sqlite3.Row) -> Request:
    return Request(**{field.name: row[field.name] for field in dataclasses.fields(Request)})


class Registry:
    """The registry file at ``path``, created and migrated on opening."""

    def __init__(self, path: Path, busy_timeout_s: float = 60.0):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise RegistryError(f"cannot open opt-out registry {self.path}: {error}") from error
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute("PRAGMA foreign_keys = ON")
            _enable_wal(self._db, self.path, busy_timeout_s)
            migrate(self._db, self.path)
        except BaseException as error:
            self._db.close()
            if isinstance(error, sqlite3.Error):
                raise RegistryError(f"cannot open opt-out registry {self.path}: "
                                    f"{error}") from error
            raise

    @classmethod
    def open(cls, home: Path | None = None) -> Registry:
        """The registry under ``home`` (default: :func:`default_home`)."""
        return cls(registry_path(home))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), rolled back on error."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise RegistryError(f"opt-out registry {self.path}: {error}") from error
        try:
            yield self._db
        except BaseException as error:
            self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise RegistryError(f"opt-out registry {self.path}: {error}") from error
            raise
        self._db.execute("COMMIT")

    def add(self, request: NewRequest) -> AddResult:
        """Add ``request``, or return the open request for its kind and target."""
        return self.add_all([request])[0]

    def add_all(self, requests: Sequence[NewRequest]) -> list[AddResult]:
        """Add every request in one transaction: all of them or, on an error, none."""
        results = []
        with self._write() as db:
            for request in requests:
                existing = db.execute(
                    "SELECT * FROM requests WHERE kind = ? AND target_key = ? AND status IN "
                    "(?, ?)", (request.kind, request.key, *OPEN_STATUSES)).fetchone()
                if existing is not None:
                    results.append(AddResult(_request(existing), added=False))
                    continue
                now = utc_now()
                request_id = db.execute(
                    "INSERT INTO requests (kind, target, target_key, reason, source, "
                    "requested_by, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                    (request.kind, request.target, request.key, request.reason, request.source,
                     request.requested_by, now)).lastrowid
                db.execute("INSERT INTO history (request_id, from_status, to_status, actor, at, "
                           "note) VALUES (?, NULL, 'pending', ?, ?, ?)",
                           (request_id, request.requested_by or request.source, now,
                            request.reason))
                results.append(AddResult(self._get(db, request_id), added=True))
        return results

    def verify(self, request_id: int, by: str) -> Request:
        """Mark a pending request verified by staff member ``by``."""
        return self._change(request_id, "verified", by, note=None)

    def reject(self, request_id: int, by: str, reason: str) -> Request:
        """Mark a pending request rejected by staff member ``by``, for ``reason``."""
        return self._change(request_id, "rejected", by,
                            check_text(reason, "reason", required=True))

    def withdraw(self, request_id: int, by: str, note: str | None = None) -> Request:
        """Withdraw a pending or verified request on behalf of ``by``."""
        return self._change(request_id, "withdrawn", by,
                            check_text(note, "reason", required=False))

    def _change(self, request_id: int, status: str, by: str, note: str | None) -> Request:
        actor = check_actor(by)
        with self._write() as db:
            current = self._get(db, request_id)
            check_transition(request_id, current.status, status)
            now = utc_now()
            if status in ("verified", "rejected"):
                db.execute("UPDATE requests SET status = ?, reviewed_by = ?, reviewed_at = ? "
                           "WHERE id = ?", (status, actor, now, request_id))
            else:
                db.execute("UPDATE requests SET status = ? WHERE id = ?", (status, request_id))
            db.execute("INSERT INTO history (request_id, from_status, to_status, actor, at, "
                       "note) VALUES (?, ?, ?, ?, ?, ?)",
                       (request_id, current.status, status, actor, now, note))
            return self._get(db, request_id)

    @staticmethod
    def _get(db: sqlite3.Connection, request_id: int) -> Request:
        row = db.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
        if row is None:
            raise RegistryError(f"no opt-out request {request_id}")
        return _request(row)

    def get(self, request_id: int) -> Request:
        return self._get(self._db, request_id)

    def history(self, request_id: int) -> list[HistoryEntry]:
        """The request's status changes, oldest first."""
        self.get(request_id)
        rows = self._db.execute("SELECT from_status, to_status, actor, at, note FROM history "
                                "WHERE request_id = ? ORDER BY id", (request_id,))
        return [HistoryEntry(*row) for row in rows]

    def requests(self, status: str | None = None) -> list[Request]:
        """All requests, or those with ``status``, by id."""
        if status is None:
            rows = self._db.execute("SELECT * FROM requests ORDER BY id")
        elif status in STATUSES:
            rows = self._db.execute("SELECT * FROM requests WHERE status = ? ORDER BY id",
                                    (status,))
        else:
            raise RegistryError(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        return [_request(row) for row in rows]

    def verified_state(self) -> tuple[VerifiedTargets, str]:
        """:meth:`verified_targets` and :meth:`state_hash` from one read, so they agree
        while other writers change the registry."""
        verified = self.requests("verified")
        by_kind: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
        for request in verified:
            by_kind[request.kind][request.target_key] = request.id
        targets = VerifiedTargets(users=by_kind["user"], orgs=by_kind["org"],
                                  repos=by_kind["repo"], emails=by_kind["email"])
        return targets, stable_hash([{"id": r.id, "kind": r.kind, "target": r.target_key}
                                     for r in verified])

    def verified_targets(self) -> VerifiedTargets:
        """The verified users, organisations, repositories and e-mail addresses, each with
        its request id."""
        return self.verified_state()[0]

    def state_hash(self) -> str:
        """sha256 of the canonical JSON of the verified requests (id, kind, normalised
        target): it changes exactly when what a build enforces changes."""
        return self.verified_state()[1]

"""What a build or an apply enforces: the registry's verified requests, matched to records.

A user or organisation request covers every repository whose owner (the part of the record's
``repo`` before ``/``) is its login; a repository request covers that repository; both compared
case-insensitively, as GitHub compares names. A user request also covers every record whose
private ``authors`` (issues, commits: :mod:`pipeline.schema`) hold its login, in any
repository, and an e-mail request every record whose ``authors`` hold its address (commits);
an e-mail request never matches a repository's owner. A record covered by several requests is
excluded for the earliest (lowest id). An excluded record keeps its metadata, never its
content. What a release records of the requests (:meth:`OptOuts.describe`) names an e-mail
address by its sha256 only.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from optout.registry import Registry, VerifiedTargets, registry_path
from optout.targets import published_target
from pipeline.config import stable_hash
from pipeline.reasons import Reason, exclude

_NO_TARGETS = VerifiedTargets(users={}, orgs={}, repos={}, emails={})


@dataclasses.dataclass(frozen=True)
class OptOuts:
    """The verified requests of a registry at one moment, and the hash of that state."""

    targets: VerifiedTargets
    state_hash: str
    registry_found: bool

    @classmethod
    def from_registry(cls, home: Path | None, required: bool = False) -> OptOuts:
        """The verified requests under ``home`` (default: ``$STACK_CURATE_HOME``, else
        ``~/.local/share/stack-curate``). No registry there means none, unless ``required``:
        then it is an error (the registry is never created here)."""
        path = registry_path(home)
        if not path.is_file():
            if required:
                raise FileNotFoundError(f"no opt-out registry at {path} (give --home DIR or "
                                        "set $STACK_CURATE_HOME)")
            return cls(_NO_TARGETS, stable_hash([]), registry_found=False)
        with Registry(path) as registry:
            targets, state_hash = registry.verified_state()
        return cls(targets, state_hash, registry_found=True)

    def requests(self) -> list[dict[str, Any]]:
        """The verified requests as ``{id, kind, target}``, by id; an e-mail address as its
        sha256 (:func:`optout.targets.published_target`), as releases record these."""
        kinds = (("user", self.targets.users), ("org", self.targets.orgs),
                 ("repo", self.targets.repos), ("email", self.targets.emails))
        return sorted(({"id": request_id, "kind": kind,
                        "target": published_target(kind, target)}
                       for kind, ids in kinds for target, request_id in ids.items()),
                      key=lambda request: request["id"])

    def describe(self) -> dict[str, Any]:
        """What a manifest records: the registry found or not, its state hash, the requests."""
        return {"registry": "found" if self.registry_found else "missing",
                "state_hash": self.state_hash, "requests": self.requests()}

    def request_for(self, repo: str, authors: list[str] | None = None) -> int | None:
        """The id of the earliest verified request covering a record of repository ``repo``
        whose private ``authors`` are ``authors`` (lower case), or None."""
        key = repo.lower()
        owner = key.split("/", 1)[0]
        matches = [ids[name] for ids, name in ((self.targets.repos, key),
                                               (self.targets.users, owner),
                                               (self.targets.orgs, owner)) if name in ids]
        return min(matches + self._author_requests(authors), default=None)

    def _author_requests(self, authors: list[str] | None) -> list[int]:
        """The ids of the user requests for the logins among ``authors`` and of the e-mail
        requests for its addresses (an address holds an @, a login never does)."""
        return [ids[author] for author in authors or ()
                for ids in (self.targets.users, self.targets.emails) if author in ids]

    def requests_for(self, repos: list[str], authors: list[list[str] | None] | None = None
                     ) -> list[int | None]:
        """:meth:`request_for` of each record, given its repository and its ``authors``."""
        authors = authors or [None] * len(repos)
        by_repo = {repo: self.request_for(repo) for repo in set(repos)}
        return [self.request_for(repo, names) if names else by_repo[repo]
                for repo, names in zip(repos, authors)]

    def covers_any(self, repos: list[str], authors: list[list[str] | None] | None = None
                   ) -> bool:
        """Whether a request covers any record of ``repos`` (with their ``authors``)."""
        if any(self.request_for(repo) is not None for repo in set(repos)):
            return True
        return any(self._author_requests(names) for names in authors or ())


def opt_out(record: dict, request_id: int, stage: str, **details: Any) -> dict:
    """``record`` excluded for request ``request_id`` by ``stage`` (more ``details`` if
    given), its content dropped."""
    marked = exclude(record, Reason.OPT_OUT, stage, request=request_id, **details)
    marked["content"] = None
    return marked

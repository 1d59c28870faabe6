"""GH Archive events made offline: the envelope GitHub's events API gives (and GH Archive stores
one a line in its hourly ``YYYY-MM-DD-H.json.gz`` files), and a seeded sample of realistic issue
conversations for the demo (``curate demo``), the issues benchmark and the tests.

The sample is generated, not downloaded: the demo must run offline. It holds what real hourly
files hold for issues: conversations whose events span several hourly files (listed out of
order), edited and deleted comments, e-mail replies with GitHub's quoted part and footer, bots
(CI, coverage, dependency updates, stale) and the comments that call them, short "+1" issues,
one-author log dumps, issues in other languages, pull-request events and events of other types.
"""
from __future__ import annotations

import datetime
import gzip
import json
import random
from pathlib import Path
from typing import Iterable

HOURS = 3  # hourly files of the sample: 2024-05-01-0 to -2


def user(login: str) -> dict:
    """A user object as the events API gives it (``type`` Bot for ``[bot]`` logins)."""
    number = sum(map(ord, login)) * 7919
    return {"login": login, "id": number, "node_id": f"MDQ6VXNlcj{number}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{number}?v=4",
            "url": f"https://api.github.com/users/{login}",
            "html_url": f"https://github.com/{login}",
            "type": "Bot" if login.endswith("[bot]") else "User", "site_admin": False}


def issue(repo: str, number: int, title: str, body: str, author: str, created: str,
          updated: str, closed: bool = False, comments: int = 0,
          pull_request: bool = False) -> dict:
    """An issue object as the events API gives it inside ``payload``."""
    api = f"https://api.github.com/repos/{repo}"
    value = {"url": f"{api}/issues/{number}", "repository_url": api,
             "comments_url": f"{api}/issues/{number}/comments",
             "html_url": f"https://github.com/{repo}/issues/{number}",
             "id": number * 1009 + len(repo), "number": number, "title": title,
             "user": user(author), "labels": [], "state": "closed" if closed else "open",
             "locked": False, "assignee": None, "assignees": [], "milestone": None,
             "comments": comments, "created_at": created, "updated_at": updated,
             "closed_at": updated if closed else None, "author_association": "NONE",
             "body": body}
    if pull_request:
        value["pull_request"] = {"url": f"{api}/pulls/{number}",
                                 "html_url": f"https://github.com/{repo}/pull/{number}"}
    return value


def comment(repo: str, number: int, comment_id: int, author: str, body: str, created: str,
            updated: str | None = None) -> dict:
    """A comment object as the events API gives it."""
    api = f"https://api.github.com/repos/{repo}"
    return {"url": f"{api}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{repo}/issues/{number}#issuecomment-{comment_id}",
            "issue_url": f"{api}/issues/{number}", "id": comment_id, "user": user(author),
            "created_at": created, "updated_at": updated or created,
            "author_association": "CONTRIBUTOR", "body": body}


def envelope(event_id: int, kind: str, repo: str, actor: str, created: str,
             payload: dict) -> dict:
    """One event: ``id``, ``type``, ``actor``, ``repo``, ``payload``, ``public``,
    ``created_at``."""
    return {"id": str(event_id), "type": kind,
            "actor": {key: user(actor)[key] for key in ("id", "login", "url", "avatar_url")}
            | {"display_login": actor, "gravatar_id": ""},
            "repo": {"id": sum(map(ord, repo)) * 104729, "name": repo,
                     "url": f"https://api.github.com/repos/{repo}"},
            "payload": payload, "public": True, "created_at": created}


def write_events(path: Path, events: Iterable[dict]) -> Path:
    """``events`` as a GH Archive hourly file: gzip, one compact JSON event a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        for event in events:
            handle.write(json.dumps(event, separators=(",", ":")).encode() + b"\n")
    return path


# --- the sample -----------------------------------------------------------------------------

_PROBLEMS = [
    ("ImportError after upgrading to {version}",
     "After upgrading to {version} importing the package fails on Python 3.{minor}. "
     "The previous release worked fine in the same virtual environment.\n\n"
     "```\nTraceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n"
     "    import {module}\nImportError: cannot import name 'compat' from '{module}'\n```\n\n"
     "Steps to reproduce: create a fresh virtualenv, install {version}, import the module."),
    ("Wrong result when the input is empty",
     "Calling the parser with an empty string returns None instead of raising ValueError as "
     "the documentation says. I expected an error, because an empty input is never valid "
     "here, and our code relies on the exception to show a message to the user.\n\n"
     "```python\nimport {module}\nprint({module}.parse(''))\n```\n\nTested on {version}."),
    ("Document the timeout option",
     "The timeout option is mentioned in the changelog of {version} but the documentation "
     "does not say what unit it uses or what the default value is. Could you add a short "
     "section with an example? I would be happy to open a pull request if you tell me where "
     "the text should go."),
    ("Memory usage grows with every call",
     "Running the client in a loop for a few hours makes memory grow without bound. With "
     "tracemalloc the biggest allocations come from the cache in {module}, which never evicts "
     "entries. Is this expected? A bounded cache or an option to disable it would help a lot "
     "for long running services like ours."),
]
_REPLIES = [
    "Thanks for the report, @{reporter}. I can reproduce this on {version}; it looks like a "
    "regression from the refactoring of the import machinery. I will prepare a fix.",
    "Could you share the output of `pip freeze` and the exact Python version? I tried on a "
    "clean environment and could not reproduce the problem yet.",
    "This is a duplicate of an older issue, but the discussion there went nowhere, so let's "
    "keep this one open and track the fix here.",
    "I ran into the same problem in our CI pipeline yesterday. Pinning the previous version is "
    "a workaround for now, but a proper fix would be much appreciated.",
    "Fixed in the main branch, the fix will be part of the next release. Thanks everyone for "
    "the detailed reports and the help with testing the patch.",
]
_EMAIL_REPLY = (
    "Yes, pinning the old version works for us as well, thanks for the quick answer.\n\n"
    "On Wed, May 1, 2024 at 10:12 AM {maintainer} <notifications@github.com> wrote:\n\n"
    "> Thanks for the report. Could you try pinning the previous version?\n>\n"
    "> —\n> Reply to this email directly, view it on GitHub\n"
    "> <https://github.com/{repo}/issues/{number}#issuecomment-1>,\n"
    "> or unsubscribe.\n> You are receiving this because you authored the thread.\n")
_OTHER_LANGUAGES = [
    ("Fehler beim Import nach dem Update",
     "Nach dem Update auf die neue Version funktioniert der Import nicht mehr. Ich habe das "
     "Paket in einer neuen virtuellen Umgebung installiert und bekomme trotzdem denselben "
     "Fehler. Die alte Version hat ohne Probleme funktioniert. Hat jemand eine Idee, woran das "
     "liegen könnte? Vielen Dank für die Hilfe."),
    ("Error al instalar en Windows",
     "Al instalar el paquete en Windows aparece un error de compilación y la instalación se "
     "detiene. En Linux funciona sin problemas con la misma versión de Python. He probado con "
     "dos versiones distintas del compilador y el resultado es el mismo. ¿Alguien sabe cómo "
     "solucionarlo?"),
]
_PEOPLE = ["mira-chen", "tobias-w", "aoifek", "rgupta", "lenaokafor",
           "jdoe-dev", "kwame-a", "sofia-r", "pnowak", "haruto-s", "elif-y", "dmitri-v"]
_START = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)


def _at(minute: int) -> str:
    """The sample's time ``minute`` minutes after its start, as GitHub writes times."""
    return (_START + datetime.timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_events(repos: list[str], seed: int = 0) -> list[dict]:
    """A seeded sample of issue conversations over ``repos`` (about six each) and other events,
    each event with its time; the same arguments give the same events."""
    rng = random.Random(seed)
    events: list[dict] = []
    ids = iter(range(30_000_000_000, 40_000_000_000, 7))
    comment_ids = iter(range(2_100_000_000, 3_000_000_000, 13))

    def add(kind: str, repo: str, actor: str, minute: int, payload: dict) -> None:
        events.append(envelope(next(ids), kind, repo, actor, _at(minute), payload))

    for index, repo in enumerate(repos):
        module = repo.split("/")[-1].replace("-", "_")
        for number in range(1, 7):
            style = (index + number) % 6
            reporter, maintainer, other = rng.sample(_PEOPLE, 3)
            version = f"{rng.randint(1, 4)}.{rng.randint(0, 12)}.{rng.randint(0, 5)}"
            minute = rng.randint(0, 60 * HOURS - 60)
            title, body = rng.choice(_PROBLEMS)
            fill = {"version": version, "minor": rng.randint(8, 12), "module": module,
                    "reporter": reporter, "maintainer": maintainer, "repo": repo,
                    "number": number}
            title, body = title.format(**fill), body.format(**fill)
            posts: list[tuple[str, str]] = []
            if style == 5 and number % 2:  # another language, no answer yet
                title, body = rng.choice(_OTHER_LANGUAGES)
            elif style == 5:  # a bot's issue, a bot's answer
                reporter = "dependabot[bot]"
                title = f"Bump urllib3 from 1.26.{number} to 2.2.{number}"
                body = (f"Bumps urllib3 from 1.26.{number} to 2.2.{number}.\n\nDependabot will "
                        "resolve any conflicts with this PR as long as you don't alter it "
                        "yourself. You can also trigger a rebase manually by commenting "
                        "`@dependabot rebase`.")
                posts = [("stale[bot]", "This issue has been automatically marked as stale "
                          "because it has not had recent activity. It will be closed if no "
                          "further activity occurs.")]
            elif style == 4 and number % 2 == 0:  # a short "me too" issue
                title, body = "Same problem here", "+1, same here."
            elif style == 3:  # one author pasting long logs
                posts = [(reporter, "Full log of the failing run:\n```\n" + "\n".join(
                    f"[{i:04d}] worker {i % 7} retrying request to the index server, "
                    f"attempt {i % 5} of 5" for i in range(120)) + "\n```") for _ in range(2)]
            else:
                replies = rng.sample(_REPLIES, 3)
                posts = [(maintainer, replies[0].format(**fill)),
                         (reporter, _EMAIL_REPLY.format(**fill) if style == 2 else replies[1]),
                         (other, replies[2])]
                if style == 1:  # a bot called by the comment before it
                    posts[1:1] = [(maintainer, "@dependabot rebase"),
                                  ("dependabot[bot]", "Rebasing this pull request now.")]
                if style == 0:
                    posts.append(("codecov-commenter", "## Codecov Report\nCoverage is "
                                  "unchanged at 91.20% for this change."))
            closed = style in (0, 1, 2)
            pull_request = style == 4 and number % 2 == 1
            last = minute + 5 * (len(posts) + 1)
            opened = issue(repo, number, title, body, reporter, _at(minute),
                           _at(minute), comments=0, pull_request=pull_request)
            add("IssuesEvent", repo, reporter, minute, {"action": "opened", "issue": opened})
            for step, (author, text) in enumerate(posts, start=1):
                at = minute + 5 * step
                state = issue(repo, number, title, body, reporter, _at(minute),
                              _at(at), comments=step, pull_request=pull_request)
                made = comment(repo, number, next(comment_ids), author, text, _at(at))
                add("IssueCommentEvent", repo, author, at,
                    {"action": "created", "issue": state, "comment": made})
                if style == 2 and step == 3:  # edited later, then a comment deleted
                    edited = dict(made, body=text + "\n\nEdit: the fix works for me too.",
                                  updated_at=_at(at + 2))
                    add("IssueCommentEvent", repo, author, at + 2,
                        {"action": "edited", "issue": state, "comment": edited,
                         "changes": {"body": {"from": text}}})
                    gone = comment(repo, number, next(comment_ids), other, "wrong thread, sorry",
                                   _at(at + 3))
                    add("IssueCommentEvent", repo, other, at + 3,
                        {"action": "created", "issue": state, "comment": gone})
                    add("IssueCommentEvent", repo, other, at + 4,
                        {"action": "deleted", "issue": state, "comment": gone})
            if closed:
                done = issue(repo, number, title, body, reporter, _at(minute), _at(last),
                             closed=True, comments=len(posts), pull_request=pull_request)
                add("IssuesEvent", repo, maintainer, last, {"action": "closed", "issue": done})
        add("WatchEvent", repo, rng.choice(_PEOPLE), rng.randint(0, 60 * HOURS - 1),
            {"action": "started"})
        add("PushEvent", repo, rng.choice(_PEOPLE), rng.randint(0, 60 * HOURS - 1),
            {"push_id": next(ids), "size": 1, "ref": "refs/heads/main"})
    return sorted(events, key=lambda event: (event["created_at"], event["id"]))


def write_sample(directory: Path, repos: list[str], seed: int = 0) -> list[Path]:
    """The sample as GH Archive hourly files ``2024-05-01-{0,1,2}.json.gz`` under
    ``directory``; returns their paths, the last hour first (events arrive out of order)."""
    by_hour: dict[int, list[dict]] = {hour: [] for hour in range(HOURS)}
    for event in sample_events(repos, seed):
        by_hour[min(int(event["created_at"][11:13]), HOURS - 1)].append(event)
    return [write_events(directory / f"2024-05-01-{hour}.json.gz", by_hour[hour])
            for hour in reversed(range(HOURS))]

"""``curate serve`` (optout/web.py): escaping, CSRF, size limits, bad input and the staff token
in process (Starlette's TestClient, over a small release written without Spark); requests
sent at once from the web page and the CLI; and the whole round in Debian's headless Chromium
over a release built by test_optout_build's fixtures (with test_membership's corpus)."""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pyarrow as pa
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from jobs.cli import main
from optout.membership import MembershipIndex, ReleaseMembership
from optout.registry import Registry
from optout.web import (CSRF_COOKIE, CSRF_FIELD, MAX_CODE_BYTES, MAX_CODE_FORM_BYTES,
                        MAX_REASON_CHARS, STAFF_COOKIE, create_app)
from pipeline.config import MembershipConfig, ShardConfig
from pipeline.shards import write_shard
from test_membership import KEPT_MODULE, corpus  # noqa: F401  (the corpus `before` builds)
from test_optout_build import before, homes  # noqa: F401

TOKEN = "staff-token-for-the-tests-0123456789"
SMALL_MODULE = "".join(f"def step_{i}(x):\n    return x * {i + 2} + {i * i}  # step {i}\n"
                       for i in range(10))
HOSTILE = "<script>alert('owned')</script>"


@pytest.fixture(scope="module")
def small_release(tmp_path_factory) -> Path:
    """A build's output directory holding v1.0.0: one shard of two repositories and its
    membership index, written without Spark."""
    out = tmp_path_factory.mktemp("small-release")
    release = out / "releases" / "v1.0.0"
    table = pa.table({"repo": ["Octo-Cat/alpha", "Octo-Cat/alpha", "acme/lib"],
                      "content": [SMALL_MODULE, "print('hello')\n", "x = 1\n"]})
    shard = write_shard(table, release, "data/python/part-00000.parquet", ShardConfig())
    MembershipIndex(MembershipConfig(fpr_probes=1000)).write(
        release, {"shards": [{"path": shard.path, "bytes": shard.bytes}]})
    (out / "CURRENT").write_text("v1.0.0\n")
    return out


def _client(release: Path, home: Path, staff_token: str | None = None) -> TestClient:
    return TestClient(create_app(release, home, staff_token), raise_server_exceptions=False)


@pytest.fixture
def client(small_release, tmp_path) -> TestClient:
    return _client(small_release, tmp_path / "home", TOKEN)


def _token(client: TestClient | httpx.Client, path: str = "/") -> str:
    """The CSRF token of a page's forms (its cookie set by that page)."""
    page = client.get(path)
    return re.search(f'name="{CSRF_FIELD}" value="([^"]+)"', page.text).group(1)


def _post(client: TestClient, path: str, **fields: str) -> httpx.Response:
    """A form sent as the page sends it, with the page's CSRF token."""
    return client.post(path, data={CSRF_FIELD: _token(client), **fields},
                       follow_redirects=False)


def _stored(home: Path) -> list:
    with Registry.open(home) as registry:
        return registry.requests()


def _error(response: httpx.Response, status: int, message: str) -> None:
    """An error page: the status, the message (as escaped HTML), no trace."""
    assert response.status_code == status, response.text
    assert message in response.text and "Traceback" not in response.text
    assert response.headers["content-type"].startswith("text/html")


# --- pages and escaping ---------------------------------------------------------------------

def test_lookup_and_check_answer_from_the_release(client):
    home = client.get("/")
    assert home.status_code == 200 and "Is my code in v1.0.0?" in home.text
    assert "default-src 'none'" in home.headers["content-security-policy"]
    assert "<script" not in home.text and "http" not in home.text.split("</style>")[0].lower()
    found = client.get("/lookup", params={"login": "OCTO-CAT"})
    assert "2 files" in found.text and "Octo-Cat/alpha" in found.text
    assert "No repository" in client.get("/lookup", params={"login": "nobody"}).text
    for text in (SMALL_MODULE[17:], SMALL_MODULE.replace("\n", "\r\n")):  # a browser sends CRLF
        answer = _post(client, "/check", code=text)
        assert answer.status_code == 200 and "Likely in the release" in answer.text
    other = _post(client, "/check", code="def unrelated():\n    return 'nothing alike'\n" * 8)
    assert "Not in the release" in other.text


def test_hostile_input_is_shown_escaped(client, tmp_path):
    sent = _post(client, "/requests", kind="repo", target="acme/lib",
                 reason=f"{HOSTILE}\n<img src=x onerror=alert(1)>", requested_by="acme")
    assert sent.status_code == 303
    status = client.get(sent.headers["location"])
    assert "&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;" in status.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in status.text
    assert "<script" not in status.text and "<img" not in status.text
    bad = client.get("/lookup", params={"login": HOSTILE})
    _error(bad, 400, "&lt;script&gt;")
    assert "<script" not in bad.text
    staff = _staff(client)
    assert "<script" not in staff.get("/staff").text


def test_a_request_is_stored_pending_and_shown_with_its_history(client, tmp_path):
    sent = _post(client, "/requests", kind="user", target="Octo-Cat", reason="my code",
                 requested_by="Octo-Cat")
    assert sent.headers["location"] == "/requests/1?added=1"
    [stored] = _stored(tmp_path / "home")
    assert (stored.kind, stored.target_key, stored.status, stored.source, stored.reason) == \
        ("user", "octo-cat", "pending", "web", "my code")
    page = client.get("/requests/1?added=1")
    assert "recorded as request <strong>1</strong>" in page.text and ">pending<" in page.text
    assert "sent, pending" in page.text
    again = _post(client, "/requests", kind="user", target="octo-cat")
    assert again.headers["location"] == "/requests/1?existing=1"
    assert len(_stored(tmp_path / "home")) == 1
    assert client.get("/requests", params={"id": " 1 "}, follow_redirects=False
                      ).headers["location"] == "/requests/1"


def test_an_email_request_is_stored_but_its_address_never_shown_publicly(client, tmp_path):
    sent = _post(client, "/requests", kind="email", target=" Some.One@Example.ORG ",
                 reason="my commits")
    assert sent.headers["location"] == "/requests/1?added=1"
    [stored] = _stored(tmp_path / "home")
    assert (stored.kind, stored.target_key, stored.status) == ("email", "some.one@example.org",
                                                               "pending")
    page = client.get("/requests/1").text
    assert "some.one" not in page.lower() and ">pending<" in page
    _error(_post(client, "/requests", kind="email", target="no-at-sign"), 400, "@")


# --- CSRF, limits, bad input ----------------------------------------------------------------

def test_forms_without_the_right_csrf_token_are_refused(client, tmp_path):
    token = _token(client)
    fields = {"kind": "user", "target": "octocat"}
    forged = token.rsplit(".", 1)[0] + "." + "0" * 64  # the right shape, not our signature
    for cookie, field in ((token, None), (token, "wrong"), (token, forged), (None, token),
                          (forged, forged)):
        client.cookies.clear()
        if cookie is not None:
            client.cookies.set(CSRF_COOKIE, cookie)
        data = fields if field is None else {**fields, CSRF_FIELD: field}
        _error(client.post("/requests", data=data), 403, "security token is missing or does "
                                                         "not match")
    assert _stored(tmp_path / "home") == []
    client.cookies.clear()
    client.cookies.set(CSRF_COOKIE, token)
    assert client.post("/requests", data={**fields, CSRF_FIELD: token},
                       follow_redirects=False).status_code == 303


def test_size_limits(client, tmp_path):
    over = "x = 1  # padding\n" * (MAX_CODE_BYTES // 17 + 1)
    _error(_post(client, "/check", code=over), 413, "at most 1,000,000 are accepted (1 MB")
    _error(_post(client, "/check", code="é" * (MAX_CODE_BYTES // 2 + 1)), 413,
           "1,000,002 bytes (UTF-8)")  # characters under the limit, bytes over
    _error(_post(client, "/check", code="%" * (MAX_CODE_FORM_BYTES // 3 + 10)), 413,
           "The form is larger than")  # percent-encoded: 3 bytes each, stopped while reading
    _error(_post(client, "/requests", kind="user", target="octocat",
                 reason="r" * (MAX_REASON_CHARS + 1)), 413, "The reason holds 2,001 characters")
    _error(_post(client, "/requests", kind="user", target="octocat", requested_by="a" * 40),
           413, "at most 39")
    _error(client.post("/requests", content=b"x" * 20_000,
                       headers={"content-type": "application/x-www-form-urlencoded"}),
           413, "larger than 16,384 bytes")
    assert _stored(tmp_path / "home") == []


@pytest.mark.parametrize("kind, target, message", [
    ("user", "a_b", "may hold only ASCII letters, digits and hyphens"),
    ("user", "-octocat", "must not start or end with a hyphen"),
    ("user", "x" * 39 + "y", "longer than 39"),
    ("repo", "../etc", "relative path"),
    ("repo", "octocat/..", "relative path"),
    ("repo", "a/b/c", "exactly one slash"),
    ("repo", "octocat/r\x1b[31m", "control character"),
    ("repo", "octocat/r\u202e", "control character"),
    ("org", "", "is empty"),
    ("team", "octocat", "unknown request kind"),
])
def test_targets_github_would_refuse_get_an_error_page(client, tmp_path, kind, target, message):
    _error(_post(client, "/requests", kind=kind, target=target), 400, message)
    assert _stored(tmp_path / "home") == []


def test_other_bad_input_gets_an_error_page(client, tmp_path):
    _error(client.get("/lookup", params={"login": "octo cat"}), 400, "may hold only")
    _error(client.get("/lookup"), 400, "GitHub login is empty")
    _error(client.get("/requests/7"), 404, "There is no opt-out request 7.")
    _error(client.get("/requests/seven"), 404, "request ids are numbers")
    _error(client.get("/requests/" + "9" * 30), 404, "request ids are numbers")
    _error(client.get("/requests", params={"id": "../1"}), 404, "request ids are numbers")
    _error(client.get("/nowhere"), 404, "There is no such page here.")
    _error(client.put("/requests"), 405, "does not take that kind of request")
    _error(_post(client, "/check", code="x = 1\n"), 400, "holds 6 characters, fewer than one")
    _error(_post(client, "/check", code=" \n\t"), 400, "is empty")
    _error(_post(client, "/requests", kind="user", target="octocat", requested_by="not me"),
           400, "requester")
    _error(_post(client, "/requests", kind="user", target="octocat", reason="a\x00b"), 400,
           "control character")
    token = _token(client)
    for body, message in ((f"{CSRF_FIELD}={token}&kind=user&kind=org&target=x",
                           "was sent twice"),
                          (f"{CSRF_FIELD}={token}&admin=1", "does not know: &#39;admin&#39;"),
                          (f"{CSRF_FIELD}={token}&target=%FF%FE", "not URL-encoded UTF-8")):
        _error(client.post("/requests", content=body.encode(), headers={
            "content-type": "application/x-www-form-urlencoded"}), 400, message)
    _error(client.post("/requests", json={"kind": "user", "target": "octocat"}), 415,
           "URL-encoded only")
    assert _stored(tmp_path / "home") == []


def test_an_unexpected_error_shows_no_details(client, monkeypatch):
    def broken(self, owner):
        raise RuntimeError("secret internals /etc/shadow")

    monkeypatch.setattr(ReleaseMembership, "repositories", broken)
    page = client.get("/lookup", params={"login": "octocat"})
    _error(page, 500, "Something went wrong on our side")
    assert "secret internals" not in page.text


def test_a_release_that_is_not_one_is_refused_at_start(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a release"):
        create_app(tmp_path, tmp_path / "home")


# --- staff ---------------------------------------------------------------------------------

def _staff(client: TestClient, name: str = "Alice Staff") -> TestClient:
    signed_in = _post(client, "/staff/sign-in", name=name, token=TOKEN)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/staff")
    return client


def test_no_token_means_no_staff_view(small_release, tmp_path):
    client = _client(small_release, tmp_path / "home", staff_token=None)
    for response in (client.get("/staff"), _post(client, "/staff/sign-in", name="a", token=""),
                     _post(client, "/staff/requests/1/verify")):
        _error(response, 404, "There is no such page here.")
    assert "/staff" not in client.get("/").text
    with pytest.raises(ValueError, match="at least 16"):
        create_app(small_release, tmp_path / "home", staff_token="short")


def test_staff_need_the_token_and_review_with_their_name(client, tmp_path):
    home = tmp_path / "home"
    for target in ("octocat", "hubot"):
        _post(client, "/requests", kind="user", target=target, reason="mine")
    assert "Staff token" in client.get("/staff").text  # the sign-in form, no list
    _error(_post(client, "/staff/requests/1/verify"), 403, "Sign in as staff first")
    for token in ("", "wrong", TOKEN[:-1], TOKEN + "x"):
        _error(_post(client, "/staff/sign-in", name="Mallory", token=token), 403,
               "staff token is wrong")
    client.cookies.set(STAFF_COOKIE, "MTpNYWxsb3J5." + "0" * 64)  # forged session
    assert "Staff token" in client.get("/staff").text
    _error(_post(client, "/staff/sign-in", name=" ", token=TOKEN), 400, "Your name is needed")
    assert [r.status for r in _stored(home)] == ["pending", "pending"]

    _staff(client)
    listing = client.get("/staff")
    assert "Signed in as <strong>Alice Staff</strong>" in listing.text
    assert 'id="request-1"' in listing.text and 'id="request-2"' in listing.text
    verified = _post(client, "/staff/requests/1/verify")
    assert verified.headers["location"] == "/staff?changed=1"
    assert "Request 1 (GitHub user <span class=\"mono\">octocat</span>) is now verified" in \
        client.get("/staff?changed=1").text
    _error(_post(client, "/staff/requests/2/reject", reason=""), 400, "reason is required")
    _error(_post(client, "/staff/requests/1/reject", reason="late"), 400,
           "request 1 is verified and cannot become rejected")
    _error(_post(client, "/staff/requests/99/verify"), 400, "no opt-out request 99")
    _post(client, "/staff/requests/2/reject", reason=f"no proof {HOSTILE}")
    with Registry.open(home) as registry:
        assert [(r.status, r.reviewed_by) for r in registry.requests()] == [
            ("verified", "Alice Staff"), ("rejected", "Alice Staff")]
        assert registry.history(2)[-1].note == f"no proof {HOSTILE}"
    assert "No request is pending." in client.get("/staff").text
    _post(client, "/staff/sign-out")
    assert "Staff token" in client.get("/staff").text


# --- concurrency: the web page and the CLI at once ---------------------------------------------

SHARED_TARGETS = ["shared/one", "shared/two", "shared/three"]
ADDS_EACH = 8


@contextlib.contextmanager
def live_server(app: Starlette, lifetime_s: float = 180) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a background thread: stopped at the
    end of the block, and after ``lifetime_s`` whatever the test does."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    deadline = threading.Timer(lifetime_s, lambda: setattr(server, "should_exit", True))
    thread.start()
    deadline.start()
    try:
        started = time.monotonic()
        while not server.started:
            assert thread.is_alive() and time.monotonic() - started < 30, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        deadline.cancel()
        thread.join(timeout=15)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def _targets(prefix: str, worker: int) -> list[str]:
    """A worker's own targets with the shared ones among them."""
    own = [f"{prefix}{worker}/r{i}" for i in range(ADDS_EACH)]
    return own[:3] + SHARED_TARGETS + own[3:]


def _cli_worker(home: str, worker: int, start: str) -> None:
    """``curate optout add`` of its targets in this process, once ``start`` exists."""
    deadline = time.monotonic() + 60
    while not os.path.exists(start) and time.monotonic() < deadline:
        time.sleep(0.002)
    for target in _targets("cli", worker):
        assert main(["optout", "add", "--repo", target, "--home", home]) == 0


def test_requests_from_the_web_page_and_the_cli_at_once_are_all_stored_once(small_release,
                                                                           tmp_path):
    home, start = tmp_path / "home", tmp_path / "start"
    web_workers, cli_workers = 3, 2
    go = threading.Event()
    failures: list[BaseException] = []

    def web_worker(base_url: str, worker: int) -> None:
        try:
            with httpx.Client(base_url=base_url, timeout=60) as browser:
                token = _token(browser)
                go.wait(60)
                for target in _targets("web", worker):
                    sent = browser.post("/requests", data={CSRF_FIELD: token, "kind": "repo",
                                                           "target": target})
                    assert sent.status_code == 303, sent.text
        except BaseException as error:  # reported by the test's thread
            failures.append(error)

    with live_server(create_app(small_release, home)) as base_url, \
            multiprocessing.get_context("spawn").Pool(cli_workers) as pool:
        cli = pool.starmap_async(_cli_worker, [(str(home), w, str(start))
                                               for w in range(cli_workers)])
        threads = [threading.Thread(target=web_worker, args=(base_url, w))
                   for w in range(web_workers)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # the pool's processes start and wait
        start.touch()
        go.set()
        for thread in threads:
            thread.join(timeout=120)
        cli.get(timeout=120)
    assert not failures and not any(thread.is_alive() for thread in threads)
    requests = _stored(home)
    keys = [r.target_key for r in requests]
    expected = ({f"web{w}/r{i}" for w in range(web_workers) for i in range(ADDS_EACH)}
                | {f"cli{w}/r{i}" for w in range(cli_workers) for i in range(ADDS_EACH)}
                | set(SHARED_TARGETS))
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert {r.source for r in requests} == {"web", "cli"}
    assert [r.id for r in requests] == list(range(1, len(requests) + 1))
    with Registry.open(home) as registry:
        assert all(len(registry.history(r.id)) == 1 for r in requests)


# --- end to end in Chromium ---------------------------------------------------------------------

def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Debian's chromium is not installed (no 'chromium' on PATH): `make test` "
                    "installs it with apt-get before running the tests")
    return path


def test_look_up_check_send_verify_in_chromium(before, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    executable = _chromium()
    home = tmp_path / "home"
    release = before.release_dir.parent.parent  # the build's output directory (CURRENT)
    snippet = KEPT_MODULE[40:700]  # acme/lib's scale.go, not on the release's stride
    dialogs: list[str] = []
    app = create_app(release, home, TOKEN)
    with live_server(app) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.set_default_timeout(20_000)
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

            page.goto(base_url)
            expect(page.locator("h1")).to_have_text("Is my code in v1.0.0?")
            page.get_by_label("GitHub user or organisation").fill("ACME")
            page.get_by_role("button", name="Look up").click()
            expect(page.locator("#summary")).to_contain_text("2 repositories")
            expect(page.locator("#repositories")).to_contain_text("acme/lib")
            expect(page.locator("#repositories")).to_contain_text("acme/tools")
            page.screenshot(path=tmp_path / "lookup.png", full_page=True)

            page.goto(base_url)
            page.get_by_label("Paste a file or part of one").fill(snippet)
            page.get_by_role("button", name="Check").click()
            expect(page.locator("#verdict")).to_have_text("Likely in the release")

            page.goto(base_url)
            page.get_by_label("Leave out a").select_option("repo")
            page.get_by_label("Login, organisation or owner/name").fill("acme/lib")
            page.get_by_label("Reason (optional)").fill(f"I wrote it. {HOSTILE}")
            page.get_by_label("Your GitHub login").fill("acme")
            page.get_by_role("button", name="Send opt-out request").click()
            expect(page.locator("#status")).to_have_text("pending")
            request_id = page.locator("#request-id").inner_text()
            assert request_id == "1" and page.url.endswith("/requests/1?added=1")
            expect(page.locator("td.text").first).to_have_text(f"I wrote it. {HOSTILE}")

            page.goto(f"{base_url}/staff")
            page.get_by_label("Your name").fill("Alice Staff")
            page.get_by_label("Staff token").fill(TOKEN)
            page.get_by_role("button", name="Sign in").click()
            row = page.locator(f"#request-{request_id}")
            expect(row).to_contain_text("acme/lib")
            page.screenshot(path=tmp_path / "staff.png", full_page=True)
            row.get_by_role("button", name="Verify").click()
            expect(page.locator("#changed")).to_contain_text("is now verified")

            page.goto(base_url)
            page.get_by_label("Request id").fill(request_id)
            page.get_by_role("button", name="Show status").click()
            expect(page.locator("#status")).to_have_text("verified")
            expect(page.locator("#history")).to_contain_text("pending → verified")
            expect(page.locator("#history")).to_contain_text("Alice Staff")
            screenshot = tmp_path / "status.png"
            page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()
    assert dialogs == []  # the hostile reason never ran
    for name in ("lookup.png", "staff.png", "status.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    with Registry.open(home) as registry:
        assert (registry.get(1).status, registry.get(1).reviewed_by) == ("verified",
                                                                         "Alice Staff")

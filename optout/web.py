"""``curate serve``: the opt-out web page.

A contributor looks up a GitHub login (its repositories and files in the release) or pastes
code (the membership check's verdict; where the release has a search index, also the files that
hold it or match it, with repository, path, licence and lines: optout/search.py), asks to be
left out (a pending request in the registry) and follows that request by id, with its history.
Staff sign in with the token of ``$STACK_CURATE_STAFF_TOKEN`` and a name (the registry's
``--by``) to verify or reject pending requests; with no token set there is no staff view at all
(its pages are 404).

Server-rendered HTML: Starlette, Jinja2 templates under ``optout/templates`` (autoescaped:
every user-supplied string is escaped), inline CSS, no script, no external asset; served by
uvicorn. Safety:

- CSRF: every POST carries a signed double-submit token, ``nonce.HMAC-SHA256(secret, nonce)``
  with a per-process secret, in a cookie (HttpOnly, SameSite=Lax) and in the form's hidden
  field; the two are compared in constant time and the MAC checked. The staff session is a
  signed cookie too (name and time, HttpOnly, SameSite=Strict, 8 hours). GET forms (look up a login,
  show a request) change nothing and stay linkable.
- Size: forms are URL-encoded only and read to a bound. Pasted code may hold
  :data:`MAX_CODE_BYTES` (1 MB, UTF-8): ingest keeps no larger file (``[ingest]
  max_file_bytes``), so no single file of a release is larger, and a check hashes every
  50-character window of the text, so its time and memory grow with it (1 MB: 0.7 s and
  260 MB at peak, measured here); :data:`CHECKS_AT_ONCE` checks run at a time. Every other
  form is at most :data:`MAX_FORM_BYTES` and each field has its own limit.
- An e-mail request's address is personal data and a request's page is public (anyone may
  type its id): that page does not show the address; the staff pages do.
- Bad input gets a page that says what was wrong (400, 403, 404, 413, 415) and changes nothing;
  an unexpected error a page without details (500; the trace goes to the server's log).
- The registry is opened per request in the worker thread that uses it (SQLite connections are
  per thread); its transactions keep the web page and the CLI safe together. The release is
  resolved per request, so a server on a build's output directory follows ``CURRENT`` (after
  ``curate optout apply``).
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request as HttpRequest
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from optout.membership import MIN_FOUND, Presence, ReleaseMembership
from optout.search import NoSearchIndex, ReleaseSearch, SearchResult, has_index
from optout.registry import (MAX_ACTOR_CHARS, AddResult, NewRequest, Registry, RegistryError,
                             Request, check_actor, new_request)
from optout.targets import (MAX_EMAIL_CHARS, MAX_LOGIN_CHARS, MAX_REPO_NAME_CHARS,
                            InvalidTarget, normalise_login)
from pipeline.config import IngestConfig
from pipeline.shards import resolve_release

STAFF_TOKEN_ENV = "STACK_CURATE_STAFF_TOKEN"
MIN_STAFF_TOKEN_CHARS = 16  # a shorter token could be guessed through the sign-in form
STAFF_SESSION_S = 8 * 3600
MAX_CODE_BYTES = IngestConfig().max_file_bytes  # the largest file a release can hold
CHECKS_AT_ONCE = 2  # each up to a few hundred MB (module docstring); the others wait
MAX_FORM_BYTES = 16 * 1024
# Percent-encoding turns a byte into at most 3: the bound of a form holding the largest code.
MAX_CODE_FORM_BYTES = 3 * MAX_CODE_BYTES + MAX_FORM_BYTES
MAX_REASON_CHARS = 2000
MAX_REQUEST_ID_DIGITS = 18  # ids stay below SQLite's largest integer, 2**63 - 1
CSRF_COOKIE = "stack_curate_csrf"
CSRF_FIELD = "csrf_token"
STAFF_COOKIE = "stack_curate_staff"
KIND_LABELS = {"user": "GitHub user", "org": "GitHub organisation", "repo": "repository",
               "email": "e-mail address (its commits)"}
MAX_TARGET_CHARS = max(MAX_LOGIN_CHARS + 1 + MAX_REPO_NAME_CHARS, MAX_EMAIL_CHARS)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _templates() -> Jinja2Templates:
    """optout/templates, autoescaped; ``when`` shows a registry time as ``YYYY-MM-DD HH:MM:SS
    UTC``."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("optout", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["when"] = lambda at: at.replace("T", " ").replace("Z", " UTC")
    return Jinja2Templates(env=env)


TEMPLATES = _templates()


@dataclasses.dataclass(frozen=True)
class Field:
    """A form field: its name in messages and the most it may hold (characters, or UTF-8
    bytes when ``in_bytes``)."""
    label: str
    limit: int
    in_bytes: bool = False
    why: str = ""

    def check(self, value: str) -> None:
        """Raise 413 when ``value`` is over the limit."""
        size, unit = ((len(value.encode("utf-8")), "bytes (UTF-8)") if self.in_bytes
                      else (len(value), "characters"))
        if size > self.limit:
            raise HTTPException(413, f"The {self.label} holds {size:,} {unit}; at most "
                                     f"{self.limit:,} are accepted{self.why}.")


CODE_FIELDS = {"code": Field("pasted code", MAX_CODE_BYTES, in_bytes=True,
                             why=" (1 MB: the largest file a release holds, as ingest drops "
                                 "larger ones)")}
REQUEST_FIELDS = {"kind": Field("kind of request", 8),
                  "target": Field("login, repository or e-mail address", MAX_TARGET_CHARS),
                  "reason": Field("reason", MAX_REASON_CHARS),
                  "requested_by": Field("your GitHub login", MAX_LOGIN_CHARS)}
SEARCH_FIELDS = {"query": Field("search text", MAX_CODE_BYTES, in_bytes=True,
                               why=" (1 MB: the largest file a release holds)")}
SEARCH_TOP = 10  # results a search shows
SIGN_IN_FIELDS = {"name": Field("name", MAX_ACTOR_CHARS), "token": Field("staff token", 1024)}
REJECT_FIELDS = {"reason": Field("reason", MAX_REASON_CHARS)}


class Signer:
    """HMAC-SHA256 signatures under a secret made per process (so a restart signs everyone
    out); ``purpose`` keeps a value signed for one use from passing for another."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def _mac(self, purpose: str, data: str) -> str:
        return hmac.new(self._secret, f"{purpose}\0{data}".encode(), hashlib.sha256).hexdigest()

    def sign(self, purpose: str, value: str) -> str:
        """``value`` in base64url (unpadded: a cookie value needs no quoting) and its MAC."""
        data = base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii").rstrip("=")
        return f"{data}.{self._mac(purpose, data)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value of a :meth:`sign` result for ``purpose``; None if it is not one."""
        data, _, mac = (signed or "").rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(purpose, data).encode()):
            return None
        try:
            return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8")
        except ValueError:
            return None


def _request_id(text: str) -> int:
    """A request id as typed; 404 when it cannot be one."""
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_REQUEST_ID_DIGITS):
        raise HTTPException(404, f"There is no opt-out request {text!r}: request ids are "
                                 "numbers, as shown when a request is sent.")
    return int(text)


def _changed_request(registry: Registry, text: str) -> Request | None:
    """The request a staff action just changed (``?changed=ID``), None if there is none."""
    try:
        return registry.get(_request_id(text))
    except (HTTPException, RegistryError):
        return None


def _same_token(given: str, expected: str) -> bool:
    """Constant-time comparison that does not reveal the expected token's length either."""
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(),
                               hashlib.sha256(expected.encode()).digest())


class OptOutSite:
    """The pages over one release (as given: a build's output directory or one version's) and
    the registry under ``home``."""

    def __init__(self, release: Path, home: Path | None, staff_token: str | None):
        self.release = release
        self.home = home
        self.staff_token = staff_token
        self.signer = Signer()
        self.checks = threading.BoundedSemaphore(CHECKS_AT_ONCE)

    # --- helpers ---------------------------------------------------------------------------

    def _membership(self) -> ReleaseMembership:
        try:
            return ReleaseMembership(resolve_release(self.release))
        except (OSError, ValueError) as error:
            print(f"curate serve: release unavailable: {error}", file=sys.stderr)
            raise HTTPException(503, "The release this page answers for is not available "
                                     "right now; try again later.") from error

    def _release_name(self) -> str | None:
        try:
            return resolve_release(self.release).name
        except OSError:
            return None

    def render(self, request: HttpRequest, template: str, context: dict[str, Any],
               status: int = 200) -> Response:
        """``template`` with the page's common context; sets a CSRF cookie when the browser
        has no valid one."""
        token = request.cookies.get(CSRF_COOKIE)
        fresh = self.signer.unsign("csrf", token) is None
        if fresh:
            token = self.signer.sign("csrf", secrets.token_urlsafe(16))
        response = TEMPLATES.TemplateResponse(
            request, template, {"release_name": self._release_name(), "csrf_token": token,
                                "csrf_field_name": CSRF_FIELD, "kinds": KIND_LABELS,
                                "max_target_chars": MAX_TARGET_CHARS,
                                **context},
            status_code=status, headers=HEADERS)
        if fresh:
            response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
        return response

    async def read_form(self, request: HttpRequest, fields: dict[str, Field],
                        max_bytes: int = MAX_FORM_BYTES) -> dict[str, str]:
        """The URL-encoded form of ``request``: read to ``max_bytes``, only ``fields`` (each
        within its limit, missing ones empty), and a CSRF token matching the cookie's."""
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/x-www-form-urlencoded":
            raise HTTPException(415, "Forms are accepted URL-encoded only "
                                     "(application/x-www-form-urlencoded), as this page sends "
                                     "them.")
        too_large = HTTPException(413, f"The form is larger than {max_bytes:,} bytes, so it "
                                       f"was not read to its end. Pasted code may hold "
                                       f"{MAX_CODE_BYTES:,} bytes, other fields far less.")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise too_large
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8",
                              errors="strict", max_num_fields=len(fields) + 1)
        except ValueError as error:  # not ASCII, not UTF-8 once decoded, too many fields
            raise HTTPException(400, "The form is not URL-encoded UTF-8 text with this "
                                     "page's fields.") from error
        form: dict[str, str] = {}
        for name, value in pairs:
            if name != CSRF_FIELD and name not in fields:
                raise HTTPException(400, f"The form has a field this page does not know: "
                                         f"{name!r}.")
            if name in form:
                raise HTTPException(400, f"The form field {name!r} was sent twice.")
            form[name] = value
        cookie, field = request.cookies.get(CSRF_COOKIE), form.pop(CSRF_FIELD, None)
        if not (cookie and field and hmac.compare_digest(cookie.encode(), field.encode())
                and self.signer.unsign("csrf", cookie) is not None):
            raise HTTPException(403, "The form's security token is missing or does not match "
                                     "this browser's: reload the page and send the form "
                                     "again.")
        for name, spec in fields.items():
            spec.check(form.setdefault(name, ""))
        return form

    # --- contributor pages -------------------------------------------------------------------

    def home_page(self, request: HttpRequest) -> Response:
        self._membership()  # a release that cannot answer gets the 503 page at once
        return self.render(request, "home.html", {"max_code_bytes": MAX_CODE_BYTES,
                                                  "searchable": has_index(self.release)})

    def lookup(self, request: HttpRequest) -> Response:
        login = request.query_params.get("login", "")
        try:
            owner = normalise_login(login)
        except InvalidTarget as error:
            raise HTTPException(400, str(error)) from error
        repositories = self._membership().repositories(owner)
        return self.render(request, "lookup.html", {
            "login": login, "repositories": repositories,
            "files": sum(count for _, count in repositories)})

    async def check(self, request: HttpRequest) -> Response:
        form = await self.read_form(request, CODE_FIELDS, MAX_CODE_FORM_BYTES)
        result, shortest = await run_in_threadpool(self._check_code, form["code"])
        return self.render(request, "check.html", {"result": result, "shortest": shortest,
                                                   "min_found": MIN_FOUND})

    def _check_code(self, code: str) -> tuple[Presence, int]:
        """The better answer for the pasted code with LF and with CRLF line ends (a browser
        sends a textarea's line breaks as CRLF, whatever the file had), and the length under
        which a text may be too short to tell."""
        index = self._membership()
        text = code.replace("\r\n", "\n")
        with self.checks:
            try:
                results = [index.check_query(text, "The pasted code")]
            except ValueError as error:
                raise HTTPException(400, str(error)) from error
            if "\n" in text:
                results.append(index.check(text.replace("\n", "\r\n")))
        return (max(results, key=lambda result: (result.share, result.class_found)),
                index.shortest_verdict_chars)

    async def search(self, request: HttpRequest) -> Response:
        form = await self.read_form(request, SEARCH_FIELDS, MAX_CODE_FORM_BYTES)
        query = form["query"].replace("\r\n", "\n")
        if not query.strip():
            raise HTTPException(400, "The search text is empty: nothing to search.")
        result = await run_in_threadpool(self._search, query)
        return self.render(request, "search.html", {"query": query, "result": result})

    def _search(self, query: str) -> SearchResult:
        """The release's answer to ``query`` (its CRLF form too, :meth:`ReleaseSearch.search`);
        404 where the release has no search index."""
        try:
            index = ReleaseSearch(self.release)
        except NoSearchIndex as error:
            raise HTTPException(404, "This release has no search index.") from error
        with self.checks:
            return index.search(query, SEARCH_TOP)

    async def submit(self, request: HttpRequest) -> Response:
        form = await self.read_form(request, REQUEST_FIELDS)
        try:
            wanted = new_request(form["kind"], form["target"], reason=form["reason"] or None,
                                 source="web", requested_by=form["requested_by"] or None)
        except (InvalidTarget, RegistryError) as error:
            raise HTTPException(400, str(error)) from error
        result = await run_in_threadpool(self._add, wanted)
        outcome = "added" if result.added else "existing"
        return RedirectResponse(f"/requests/{result.request.id}?{outcome}=1", status_code=303)

    def _add(self, wanted: NewRequest) -> AddResult:
        with Registry.open(self.home) as registry:
            return registry.add(wanted)

    def find_request(self, request: HttpRequest) -> Response:
        request_id = _request_id(request.query_params.get("id", "").strip())
        return RedirectResponse(f"/requests/{request_id}", status_code=303)

    def request_status(self, request: HttpRequest) -> Response:
        request_id = _request_id(request.path_params["id"])
        with Registry.open(self.home) as registry:
            try:
                found, history = registry.get(request_id), registry.history(request_id)
            except RegistryError as error:
                raise HTTPException(404, f"There is no opt-out request {request_id}.") from error
        return self.render(request, "request.html", {
            "req": found, "history": history, "added": "added" in request.query_params,
            "existing": "existing" in request.query_params})

    # --- staff pages -----------------------------------------------------------------------

    def _staff_name(self, request: HttpRequest) -> str | None:
        """The signed-in staff member's name, None without a valid, unexpired session."""
        session = self.signer.unsign("staff", request.cookies.get(STAFF_COOKIE))
        issued, _, name = (session or "").partition(":")
        if not issued.isdigit() or time.time() - int(issued) > STAFF_SESSION_S:
            return None
        return name

    def _require_staff(self, request: HttpRequest) -> str:
        name = self._staff_name(request)
        if name is None:
            raise HTTPException(403, "Sign in as staff first (the staff page, /staff).")
        return name

    def staff_page(self, request: HttpRequest) -> Response:
        name = self._staff_name(request)
        if name is None:
            return self.render(request, "staff_login.html", {})
        with Registry.open(self.home) as registry:
            pending = registry.requests("pending")
            changed = _changed_request(registry, request.query_params.get("changed", ""))
        return self.render(request, "staff.html", {"staff_name": name, "pending": pending,
                                                   "changed": changed})

    async def sign_in(self, request: HttpRequest) -> Response:
        form = await self.read_form(request, SIGN_IN_FIELDS)
        if not _same_token(form["token"], self.staff_token or ""):
            raise HTTPException(403, "That staff token is wrong.")
        try:
            name = check_actor(form["name"])
        except RegistryError as error:
            raise HTTPException(400, f"Your name is needed for the requests' history: "
                                     f"{error}") from error
        response = RedirectResponse("/staff", status_code=303)
        response.set_cookie(STAFF_COOKIE, self.signer.sign("staff", f"{int(time.time())}:{name}"),
                            max_age=STAFF_SESSION_S, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
        return response

    async def sign_out(self, request: HttpRequest) -> Response:
        await self.read_form(request, {})
        response = RedirectResponse("/staff", status_code=303)
        response.delete_cookie(STAFF_COOKIE)
        return response

    async def verify(self, request: HttpRequest) -> Response:
        return await self._review(request, "verify", {})

    async def reject(self, request: HttpRequest) -> Response:
        return await self._review(request, "reject", REJECT_FIELDS)

    async def _review(self, request: HttpRequest, action: str, fields: dict[str, Field]
                      ) -> Response:
        """Verify or reject a pending request as the signed-in staff member."""
        name = self._require_staff(request)
        form = await self.read_form(request, fields)
        request_id = _request_id(request.path_params["id"])

        def change() -> None:
            with Registry.open(self.home) as registry:
                if action == "verify":
                    registry.verify(request_id, name)
                else:
                    registry.reject(request_id, name, form["reason"])

        try:
            await run_in_threadpool(change)
        except RegistryError as error:
            raise HTTPException(400, str(error)) from error
        return RedirectResponse(f"/staff?changed={request_id}", status_code=303)

    # --- errors ----------------------------------------------------------------------------

    def error_page(self, request: HttpRequest, error: Exception) -> Response:
        """The page of an HTTP error (its message, or the status's generic one) or, for any
        other exception, a 500 page without details."""
        status = error.status_code if isinstance(error, HTTPException) else 500
        phrase = http.HTTPStatus(status).phrase
        message = (error.detail if isinstance(error, HTTPException) and error.detail != phrase
                   else {404: "There is no such page here.",
                         405: "This page does not take that kind of request.",
                         500: "Something went wrong on our side; the details are in the "
                              "server's log. Please try again later."}.get(status, phrase))
        response = self.render(request, "error.html", {"status": status, "title": phrase,
                                                       "message": message}, status=status)
        response.headers.update(getattr(error, "headers", None) or {})
        return response


def create_app(release: Path, home: Path | None = None, staff_token: str | None = None
               ) -> Starlette:
    """The web page over ``release`` (checked now: a build's output directory, whose
    ``CURRENT`` it follows, or one version's) and the registry under ``home``; the staff view
    only with a ``staff_token`` (:data:`MIN_STAFF_TOKEN_CHARS` or more)."""
    ReleaseMembership(resolve_release(release))
    Registry.open(home).close()  # created and migrated before the first request
    if staff_token is not None and len(staff_token) < MIN_STAFF_TOKEN_CHARS:
        raise ValueError(f"${STAFF_TOKEN_ENV} holds {len(staff_token)} characters: use at "
                         f"least {MIN_STAFF_TOKEN_CHARS} (for example python -c 'import "
                         "secrets; print(secrets.token_urlsafe(32))'), or unset it for no "
                         "staff view")
    site = OptOutSite(release, home, staff_token)
    routes = [Route("/", site.home_page),
              Route("/lookup", site.lookup),
              Route("/check", site.check, methods=["POST"]),
              Route("/search", site.search, methods=["POST"]),
              Route("/requests", site.submit, methods=["POST"]),
              Route("/requests", site.find_request),
              Route("/requests/{id}", site.request_status)]
    if staff_token is not None:
        routes += [Route("/staff", site.staff_page),
                   Route("/staff/sign-in", site.sign_in, methods=["POST"]),
                   Route("/staff/sign-out", site.sign_out, methods=["POST"]),
                   Route("/staff/requests/{id}/verify", site.verify, methods=["POST"]),
                   Route("/staff/requests/{id}/reject", site.reject, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={HTTPException: site.error_page,
                                                        Exception: site.error_page})


def serve(release: Path, home: Path | None, host: str, port: int,
          staff_token: str | None) -> None:
    """Serve the page with uvicorn until interrupted."""
    import uvicorn

    app = create_app(release, home, staff_token)
    staff = "on, at /staff" if staff_token else f"off (${STAFF_TOKEN_ENV} is not set)"
    print(f"curate serve: {resolve_release(release)} on http://{host}:{port}/; staff view "
          f"{staff}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, server_header=False)

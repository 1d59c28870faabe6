"""Template families: short snippets with PII slots, in four kinds.

- ``text``: prose lines, written as comments/docstrings of the host language (or plain lines in
  Markdown, reStructuredText and text files);
- ``code``: statements (assignments, calls, fixtures) that each programming language spells in
  its own syntax (:mod:`pii.synth.syntax`);
- ``kv``: a section of key/value settings, written as YAML, TOML, INI, JSON, .env, properties,
  XML, docker-compose, Kubernetes secret, shell exports or a map in code;
- ``raw``: lines in one fixed format (setup.py, package.json, pom.xml, ssh config, logs, SQL,
  CLI invocations, ...).

Slots are written ``«KIND»`` or ``«KIND.n»``. Upper-case kinds are PII (labelled with the entity of
:data:`pii.synth.values.SLOT_LABELS`); lower-case kinds are hard negatives (never labelled) or
fillers. One slot text names one value within a block; ``NAME``/``GIVEN``/``EMAIL``/
``EMAIL_OBF``/``USERNAME`` with the same index belong to one person. In fixtures ``#`` stands for
the row number.

Train/test: the variants of every family are numbered in the order written here; variant ``i``
is a test template when ``i % 3 == 2`` (:data:`TEST_EVERY`), so test templates never occur in
training. One family per entity (:data:`HELD_OUT_FAMILIES`) is test-only, all its variants: its
shapes never reach training or validation, so the test split's spans from it measure how the
detector does on a kind of text it has never seen (the brief's "one template family per entity
held out").

Families written for the model's second release (:data:`VALIDATION_FAMILIES`), after the first
release's test split was scored, have no test templates, so ``test.jsonl`` stays byte-identical
and the two releases' test figures compare; their every third variant is a validation template
instead (in validation documents only, never in training), so the validation split measures
shapes that neither the model nor the rules were written from, as the test split does.
"""

from __future__ import annotations

import dataclasses
import re

from pii.synth.values import FILLER_KINDS, NEGATIVE_KINDS, SLOT_LABELS

SLOT = re.compile(r"«([A-Za-z_0-9]+)(?:\.([0-9#]+))?»")
TEST_EVERY = 3  # every third variant of a family (index 2, 5, 8, ...) is held out for test
# One family per entity whose every variant is a test template (see the module docstring). Each is
# a family whose entity other families also carry, so training still sees the entity.
HELD_OUT_FAMILIES: dict[str, str] = {
    "EMAIL": "contact",
    "IP_ADDRESS": "code_ip",
    "KEY": "kv_api",
    "PASSWORD": "netrc",
    "NAME": "person_mention",
    "USERNAME": "profile_url",
}
# Families of the model's second release (2026-12-07; issue 8: usernames in changelogs, review
# trailers, issue threads, owners' notes, console sessions, account settings, passwd and sudoers
# lines, VCS logs). Their variant i is a validation template when i % 3 == 2, else training.
VALIDATION_FAMILIES = frozenset({
    "changelog_credit", "review_trailer", "issue_thread", "doc_owner", "console_session",
    "code_account", "kv_accounts", "system_files", "vcs_log",
})
# Slots of one person (by index): the name, the given name alone, handles derived from them.
PERSON_SLOTS = frozenset({"NAME", "GIVEN", "EMAIL", "EMAIL_OBF", "USERNAME"})


@dataclasses.dataclass(frozen=True)
class Template:
    """One variant of a family. ``body`` depends on ``kind`` (see the module docstring)."""

    id: str
    family: str
    kind: str
    body: tuple
    format: str
    split: str
    labels: frozenset[str]
    negatives: frozenset[str]
    needs: frozenset[str]  # dialect features a code rendering needs: list, map, env


def S(pattern: str) -> tuple:
    """A string value."""
    return ("s", pattern)


def N(pattern: str) -> tuple:
    """A bare value (number, boolean)."""
    return ("n", pattern)


def L(*patterns: str) -> tuple:
    """A list of strings."""
    return ("l", patterns)


def M(pattern: str) -> tuple:
    """A string that may span lines (private keys, certificates)."""
    return ("m", pattern)


def E(variable: str) -> tuple:
    """An environment look-up (a hard negative: no value in the text)."""
    return ("e", variable)


def MAP(*pairs: tuple[str, tuple]) -> tuple:
    """A map literal of (key, value) pairs."""
    return ("map", pairs)


def assign(name: str, node: tuple) -> tuple:
    return ("assign", name, node)


def call(fn: str, *args: tuple) -> tuple:
    return ("call", fn, args)


def fixture(name: str, rows: int, *pairs: tuple[str, tuple]) -> tuple:
    """A list of ``rows`` maps; ``#`` in the slots of ``pairs`` becomes the row number."""
    return ("fixture", name, rows, pairs)


# -- text: prose in comments, docstrings, documentation ------------------------------------------
_TEXT = {
    "author_line": (
        "Author: «NAME» <«EMAIL»>",
        "@author «NAME»",
        "Written by «NAME» («EMAIL»)",
        ":author: «NAME» <«EMAIL»>",
        "Maintainer: «NAME» <«EMAIL»>",
        "Created on «date» by «NAME»",
        "Authors: «NAME», «NAME.2» and «NAME.3»",
        "Original author: «NAME» (github.com/«USERNAME»)",
        "Module maintained by «NAME» -- «EMAIL_OBF»",
        "Author(s): «NAME» <«EMAIL»>, «NAME.2» <«EMAIL.2»>",
        "Rewritten in «year» by «NAME».",
        "@author «NAME» <«EMAIL»>",
        "Implementation: «NAME», «year»",
        "«NAME» <«EMAIL»>, «year»",
        "Authored-by: «NAME» <«EMAIL»>",
    ),
    "copyright_person": (
        "Copyright (c) «year» «NAME»",
        "Copyright «years» «NAME» <«EMAIL»>",
        "(C) «year» «NAME». All rights reserved.",
        "SPDX-FileCopyrightText: «year» «NAME» <«EMAIL»>",
        "Copyright © «years» «NAME» and «NAME.2»",
        "Copyright «year» «NAME» (@«USERNAME»)",
        ("This file is part of «project».", "Copyright (C) «years» «NAME»."),
        "Portions copyright «year» «NAME»",
        ("Copyright (c) «years», «NAME»", "Licensed under the MIT license."),
    ),
    "contact": (
        "Questions? Contact «NAME» at «EMAIL».",
        "Send bug reports to «EMAIL_OBF»",
        "For access to the staging data ask «GIVEN» («EMAIL»).",
        "Contact: «EMAIL»",
        "Maintained by «NAME» - please reach out at «EMAIL_OBF»",
        "If this breaks, ping «GIVEN» («USERNAME» on Slack).",
        "Owner: «EMAIL»",
        "Escalation: «NAME» <«EMAIL»>, backup «NAME.2» <«EMAIL.2»>",
        "Please direct questions to «EMAIL_OBF» or open an issue.",
    ),
    "handle_mention": (
        "TODO(«USERNAME»): remove this once the «word» migration lands",
        "FIXME @«USERNAME» this breaks on empty input",
        "cc @«USERNAME» @«USERNAME.2»",
        "Thanks to @«USERNAME» for the fix (#«num»)",
        "XXX(«USERNAME»): temporary workaround",
        "Reported by @«USERNAME» in issue #«num»",
        "Per discussion with «NAME» (@«USERNAME»).",
        "HACK(«USERNAME»): the «word» service returns 500 on retries",
        "Assigned to @«USERNAME»; reviewed by @«USERNAME.2»",
        "NOTE(«USERNAME»): keep in sync with «word».py",
        "Ported from @«USERNAME»'s gist",
        "Blame «USERNAME» if this breaks :)",
    ),
    "person_mention": (
        "Algorithm adapted from a note by «NAME».",
        "Based on feedback from «NAME» and «NAME.2».",
        "«NAME» suggested this workaround.",
        "Ported from «NAME»'s original Perl script.",
        "Reviewed-by: «NAME» <«EMAIL»>",
        "Signed-off-by: «NAME» <«EMAIL»>",
        "Co-authored-by: «NAME» <«EMAIL»>",
        "Thanks to «NAME» for the benchmark numbers.",
        "See the thesis of «NAME» («year») for the derivation.",
        "As explained by «GIVEN» in the design review.",
        "Credits: «NAME», «NAME.2»",
        "Idea from «NAME»; implementation by «NAME.2».",
    ),
    "server_note": (
        "Production database lives on «IP»",
        "staging: «IPV4» (ssh «USERNAME»@«IPV4»)",
        "Fallback server: «IPV6»",
        "Whitelisted addresses: «IPV4», «IPV4.2», «IPV4.3»",
        "Blocked «IP» after repeated failed logins",
        "The old mirror at «IPV4»:«port» is deprecated.",
        "Requests from «IP» are rate-limited more aggressively.",
        "Ask «NAME» before restarting the box at «IPV4».",
        "Upstream NTP: «IPV4»; DNS: «public_resolver»",
    ),
    "credential_note": (
        "temporary password for the test account: «PASSWORD»",
        "login: «USERNAME» / «PASSWORD»",
        "API key (do not share): «KEY»",
        "The default password is «PASSWORD», change it after install!",
        "CI token: «KEY_GITHUB»",
        "Use «USERNAME»:«PASSWORD» for the staging dashboard.",
        "Slack bot token «KEY_SLACK» (rotate quarterly)",
        "Old key was «KEY», revoked on «date».",
        "pw for the vpn: «PASSWORD»",
    ),
    "home_path": (
        "Data is read from /home/«USERNAME»/datasets/«project»",
        "Default location: C:\\Users\\«USERNAME»\\AppData\\Local\\«project»",
        "Tested with /Users/«USERNAME»/src/«project»/build",
        "Log files end up in /home/«USERNAME»/.cache/«project»/logs",
        "Run from ~«USERNAME»/bin on the build host",
        "Copied from /Users/«USERNAME»/Downloads/«project».tar.gz",
    ),
    "profile_url": (
        "See https://github.com/«USERNAME» for more tools.",
        "Follow updates at https://twitter.com/«USERNAME»",
        "Fork of https://github.com/«USERNAME»/«project»",
        "Profile: https://gitlab.com/«USERNAME»",
        "Original gist: https://gist.github.com/«USERNAME»/«git_sha»",
        "https://www.linkedin.com/in/«USERNAME»",
        "Fediverse: https://«domain»/@«USERNAME»",
        "Packaged by https://launchpad.net/~«USERNAME»",
        "Keybase: keybase.io/«USERNAME»",
    ),
    # hard negatives
    "neg_copyright_org": (
        "Copyright (c) «year» «organisation»",
        "Copyright «years» «organisation». All rights reserved.",
        "SPDX-FileCopyrightText: «year» «organisation»",
        "(C) «organisation» «years»",
        "Copyright © «year» «organisation» and contributors",
        "Licensed to «organisation» under one or more contributor license agreements.",
    ),
    "neg_algorithms": (
        "Implements «algorithm_name» over the adjacency list.",
        "Uses «algorithm_name»; see «algorithm_function»() below.",
        "Falls back to «algorithm_name» when the input is small.",
        "Port of the «software_name» implementation of «algorithm_name».",
        "Complexity is dominated by «algorithm_name».",
        "Equivalent to «algorithm_function» in the reference «software_name» code.",
    ),
    "neg_stock_people": (
        "Example: «stock_name» <«reserved_email»>",
        "e.g. name = «stock_name», email = «reserved_email»",
        "Replace «stock_name» with the real author.",
        "Contact: «reserved_email»",
        "Sample record: «stock_name», «non_public_ip»",
        "Author: «stock_name»",
        "Use «stock_name» as the sample customer.",
        "Default sender: «reserved_email»",
        "e.g. «reserved_email» or «reserved_email.2»",
    ),
    "neg_lookalikes": (
        "Clone with: git clone «git_remote»",
        "Requires «package_spec» or newer.",
        "Retina assets: «asset_name»",
        "Pinned to «package_spec» until the regression is fixed.",
        "Mirror: «git_remote»",
        "Icon at «asset_name» is used on high-DPI screens.",
        "High-DPI logo: «asset_name»",
        "Remote: «git_remote»",
        "Bump to «package_spec» and push to «git_remote».",
    ),
    "neg_hashes": (
        "Fixed in commit «git_sha».",
        "sha256: «sha256_digest»",
        "Session ids are UUIDs such as «uuid».",
        "Stored as a bcrypt hash, e.g. «bcrypt»",
        "Reverts «git_sha» («date»)",
        "Verify the download: md5 «md5_digest»",
        "Checksum: md5 «md5_digest»",
        "go.sum pins «go_module» v«semver» «gosum_hash»",
        "Fixed in «git_sha» (sha256 of the wheel: «sha256_digest»).",
        "Travis setting: secure: «ci_encrypted»",
        "Inline logo: «data_uri»",
        "Hashed with bcrypt: «bcrypt»",
        "Verify with sha256 «sha256_digest»",
        "Reverts «git_sha».",
        "Encrypted for CI: secure: «ci_encrypted»",
        "Session ids look like «uuid».",
        "Short commit: «git_sha»",
        "Logo as a data URI: «data_uri»",
        "Pinned by digest sha256:«sha256_digest»",
        "Release notes for «git_sha»",
        "go.sum entry: «go_module» v«semver» «gosum_hash»",
    ),
    "neg_addresses": (
        "Bind to «non_public_ip» in development.",
        "Uses «public_resolver» as a fallback resolver.",
        "Tested with version «version4».",
        "OID «oid» identifies the signature algorithm.",
        "The VM gets «non_public_ip» from the DHCP pool.",
        "Documentation examples use «non_public_ip».",
        "Tested against version «version4».",
        "Fallback DNS: «public_resolver»",
        "OID «oid»; resolver «public_resolver»",
    ),
    "neg_placeholders": (
        "Set your key: export API_KEY=«key_placeholder»",
        "password: «password_placeholder» (set via the environment)",
        "The AWS docs use «documented_example_key» as the sample access key.",
        "Replace «key_placeholder» with your own token.",
        "Log in as «system_account» on the container.",
        "Files are owned by «system_account»:«system_account».",
    ),
    # Families of the model's second release (see VALIDATION_FAMILIES): handles where people write
    # them in projects, with system accounts and code words beside them as hard negatives.
    "changelog_credit": (
        "* Fixed a crash on empty «word» lists (#«num», by @«USERNAME»)",
        "- Added «word» support. Contributed by @«USERNAME» in #«num».",
        "Thanks @«USERNAME» and @«USERNAME.2» for testing the «semver» release!",
        "«semver»: the «word» backend was rewritten (@«USERNAME»)",
        "New contributors: @«USERNAME» made their first contribution in #«num»",
        "Merged pull request #«num» from «USERNAME»/«word»-fix",
        "PR #«num» by «USERNAME», reviewed by «USERNAME.2»",
        "Bug reported by «USERNAME» on the mailing list; see #«num».",
        "Co-maintained by @«USERNAME» since «year».",
    ),
    "review_trailer": (
        "Reviewed-by: @«USERNAME»",
        "Approved-by: «USERNAME»",
        ("Tested-by: @«USERNAME»", "Acked-by: @«USERNAME.2»"),
        "Reported-by: «USERNAME» (GitHub)",
        ("Suggested-by: @«USERNAME»", "Signed-off-by: «NAME.2» <«EMAIL.2»>"),
        "Requested-by: «USERNAME» via the «word» channel",
    ),
    "issue_thread": (
        "> @«USERNAME» wrote:",
        "/assign @«USERNAME»",
        "/cc @«USERNAME» @«USERNAME.2»",
        "Duplicate of #«num» (opened by «USERNAME»)",
        "@«USERNAME» could you rebase this on main?",
        "Closing per @«USERNAME»'s comment above.",
        "LGTM, but let's wait for «USERNAME» to sign off.",
        "Bisected by @«USERNAME» to «git_sha».",
        "@«USERNAME» @«USERNAME.2» any objections to merging «word»?",
    ),
    "doc_owner": (
        "Owner: «USERNAME»",
        "Maintainer (GitHub): «USERNAME»",
        "Point of contact: «USERNAME» on Slack",
        "Last edited by «USERNAME» on «date»",
        "Page the on-call («USERNAME») before changing this.",
        "Ask «USERNAME» before touching the «word» schema.",
        "Deprecated: «USERNAME» plans to drop this in «semver».",
        "Runs as «system_account»; escalate to «USERNAME» if it fails.",
        "Questions about «word» go to «USERNAME» or «USERNAME.2».",
    ),
    "console_session": (
        "«USERNAME»@«host»:~/«project»$ make test",
        "[«USERNAME»@«host» «project»]$ ./configure --prefix=/opt/«project»",
        "$ sudo -u «USERNAME» «project» --serve",
        "$ chown -R «USERNAME»:«USERNAME» /srv/«project»",
        "$ su - «USERNAME»",
        "$ git clone git@«domain»:«USERNAME»/«project».git",
        "$ psql -h «IPV4» -U «USERNAME» «word»",
        "$ crontab -u «USERNAME» -e",
        "$ sudo -u «system_account» «project» migrate  # then hand it back to «USERNAME»",
    ),
}

# -- code: statements spelled per language ----------------------------------------------------
_CODE = {
    "code_password": (
        (assign("password", S("«PASSWORD»")),),
        (assign("db_user", S("«USERNAME»")), assign("db_password", S("«PASSWORD»"))),
        (assign("smtp_password", S("«PASSWORD»")),),
        (assign("admin_pass", S("«PASSWORD»")),),
        (assign("pwd", S("«PASSWORD»")), assign("host", S("«IP»"))),
        (assign("mail_user", S("«EMAIL»")), assign("mail_pass", S("«PASSWORD»"))),
        (assign("default_password", S("«PASSWORD»")),),
        (assign("ftp_login", S("«USERNAME»")), assign("ftp_passwd", S("«PASSWORD»"))),
        (assign("keystore_password", S("«PASSWORD»")),),
    ),
    "code_key": (
        (assign("api_key", S("«KEY»")),),
        (
            assign("aws_access_key_id", S("«KEY_AWS_ID»")),
            assign("aws_secret_access_key", S("«KEY_AWS_SECRET»")),
        ),
        (assign("github_token", S("«KEY_GITHUB»")),),
        (assign("slack_bot_token", S("«KEY_SLACK»")),),
        (assign("stripe_secret_key", S("«KEY_STRIPE»")),),
        (assign("google_maps_key", S("«KEY_GOOGLE»")),),
        (assign("secret_key", S("«KEY_GENERIC»")),),
        (assign("openai_api_key", S("«KEY_OPENAI»")),),
        (assign("client_id", S("«num»")), assign("client_secret", S("«KEY_GENERIC»"))),
        (assign("sendgrid_api_key", S("«KEY_SENDGRID»")),),
        (assign("auth_token", S("«KEY_JWT»")),),
        (assign("npm_token", S("«KEY_NPM»")),),
        (assign("twilio_api_key", S("«KEY_TWILIO»")),),
        (assign("bot_token", S("«KEY_TELEGRAM»")),),
        (assign("mailgun_key", S("«KEY_MAILGUN»")),),
        (assign("gitlab_token", S("«KEY_GITLAB»")),),
        (assign("jwt_secret", S("«KEY_GENERIC»")),),
        (assign("access_token", S("«KEY»")),),
    ),
    "code_private_key": (
        (assign("private_key", M("«KEY_PEM»")),),
        (assign("ssh_key", M("«KEY_PEM»")),),
        (assign("signing_key", M("«KEY_PEM»")),),
        (assign("tls_key", M("«KEY_PEM»")), assign("tls_cert", M("«certificate»"))),
    ),
    "code_connection": (
        (
            assign(
                "database_url", S("postgresql://«USERNAME»:«PASSWORD_URL»@«IPV4»:5432/«project»")
            ),
        ),
        (assign("mongo_uri", S("mongodb://«USERNAME»:«PASSWORD_URL»@«IPV4»:27017/admin")),),
        (assign("redis_url", S("redis://:«PASSWORD_URL»@«IPV4»:6379/0")),),
        (assign("broker_url", S("amqp://«USERNAME»:«PASSWORD_URL»@«host»:5672//")),),
        (
            assign(
                "connection_string",
                S("Server=«IPV4»;Database=«project»;User Id=«USERNAME»;Password=«PASSWORD»;"),
            ),
        ),
        (
            assign(
                "jdbc_url",
                S("jdbc:mysql://«IPV4»:3306/«project»?user=«USERNAME»&password=«PASSWORD_URL»"),
            ),
        ),
        (assign("ftp_url", S("ftp://«USERNAME»:«PASSWORD_URL»@«IPV4»/pub/")),),
        (assign("proxy", S("http://«USERNAME»:«PASSWORD_URL»@«IPV4»:3128")),),
        (
            assign(
                "storage_connection",
                S(
                    "DefaultEndpointsProtocol=https;AccountName=«project»;"
                    "AccountKey=«KEY_AZURE»;EndpointSuffix=core.windows.net"
                ),
            ),
        ),
        (assign("mysql_dsn", S("«USERNAME»:«PASSWORD_URL»@tcp(«IPV4»:3306)/«project»")),),
        (
            assign(
                "repo_url",
                S("https://«USERNAME»:«KEY_GITHUB»@github.com/«project»/«project.2».git"),
            ),
        ),
        (
            assign(
                "sqlalchemy_uri", S("mysql+pymysql://«USERNAME»:«PASSWORD_URL»@[«IPV6»]/«project»")
            ),
        ),
        (assign("sentry_dsn", S("https://«KEY_HEX»@o«num».ingest.sentry.io/«num.2»")),),
        (
            assign(
                "azure_storage",
                S("DefaultEndpointsProtocol=https;AccountName=«project»;AccountKey=«KEY_AZURE»"),
            ),
        ),
    ),
    "code_call": (
        (call("client.login", S("«USERNAME»"), S("«PASSWORD»")),),
        (call("smtp.login", S("«EMAIL»"), S("«PASSWORD»")),),
        (call("ssh.connect", S("«IPV4»"), N("22"), S("«USERNAME»")),),
        (call("connect_db", S("«IP»"), S("«USERNAME»"), S("«PASSWORD»")),),
        (call("set_api_key", S("«KEY»")),),
        (call("send_mail", S("«EMAIL»"), S("Weekly report"), S("«EMAIL.2»")),),
        (call("authenticate", S("«USERNAME»"), S("«KEY_GENERIC»")),),
        (call("add_admin", S("«NAME»"), S("«EMAIL»")),),
        (call("allow_ip", S("«IP»")),),
    ),
    "code_person": (
        (assign("author", S("«NAME»")), assign("author_email", S("«EMAIL»"))),
        (assign("maintainer", S("«NAME» <«EMAIL»>")),),
        (assign("admin_email", S("«EMAIL»")),),
        (assign("support_contact", S("«EMAIL»")),),
        (assign("reviewers", L("«USERNAME»", "«USERNAME.2»")),),
        (assign("owner", S("«NAME»")),),
        (assign("notify", L("«EMAIL»", "«EMAIL.2»")),),
        (assign("default_user", S("«USERNAME»")),),
        (assign("git_author", S("«NAME» <«EMAIL»>")),),
    ),
    "code_fixture": (
        (fixture("users", 3, ("name", S("«NAME.#»")), ("email", S("«EMAIL.#»"))),),
        (fixture("accounts", 2, ("username", S("«USERNAME.#»")), ("password", S("«PASSWORD.#»"))),),
        (
            fixture(
                "test_users",
                3,
                ("id", N("«num.#»")),
                ("login", S("«USERNAME.#»")),
                ("ip", S("«IP.#»")),
            ),
        ),
        (
            fixture(
                "contacts",
                2,
                ("full_name", S("«NAME.#»")),
                ("handle", S("«USERNAME.#»")),
                ("mail", S("«EMAIL.#»")),
            ),
        ),
        (
            fixture(
                "sessions",
                2,
                ("user", S("«EMAIL.#»")),
                ("remote_addr", S("«IP.#»")),
                ("token", S("«KEY_GENERIC.#»")),
            ),
        ),
        (
            fixture(
                "seed_users",
                3,
                ("first_name", S("«GIVEN.#»")),
                ("email", S("«EMAIL.#»")),
                ("active", N("true")),
            ),
        ),
    ),
    "code_ip": (
        (assign("server_ip", S("«IPV4»")),),
        (assign("allowed_hosts", L("«IPV4»", "«IPV4.2»", "localhost")),),
        (assign("upstream", S("«IPV6»")),),
        (assign("peers", L("«IP»", "«IP.2»")),),
        (assign("bind_address", S("«IPV4»")),),
        (assign("endpoint", S("http://«IPV4»:«port»/api")),),
    ),
    "code_log": (
        (call("logger.info", S("User «USERNAME» logged in from «IP»")),),
        (call("log.warn", S("Failed login for «EMAIL» from «IPV4»")),),
        (call("print", S("Connecting to «IPV4» as «USERNAME»...")),),
        (call("logging.debug", S("Sending invoice to «NAME» <«EMAIL»>")),),
        (call("logger.error", S("Token «KEY» rejected for «USERNAME»")),),
        (call("audit.record", S("password reset by «EMAIL»"), S("«IP»")),),
    ),
    "code_headers": (
        (assign("headers", MAP(("Authorization", S("Bearer «KEY_JWT»")))),),
        (assign("headers", MAP(("X-API-Key", S("«KEY»")), ("Accept", S("application/json")))),),
        (assign("auth", MAP(("user", S("«USERNAME»")), ("pass", S("«PASSWORD»")))),),
        (assign("headers", MAP(("Authorization", S("token «KEY_GITHUB»")))),),
        (
            assign(
                "credentials",
                MAP(("client_email", S("«EMAIL»")), ("private_key_id", S("«KEY_HEX»"))),
            ),
        ),
        (assign("basic_auth", MAP(("username", S("«EMAIL»")), ("password", S("«PASSWORD»")))),),
    ),
    # hard negatives
    "neg_code_placeholders": (
        (assign("api_key", E("API_KEY")),),
        (assign("password", S("«empty_value»")),),
        (assign("secret", S("«key_placeholder»")),),
        (assign("db_password", E("DB_PASSWORD")),),
        (assign("aws_access_key_id", S("«documented_example_key»")),),
        (assign("token", S("«key_placeholder»")), assign("password", S("«password_placeholder»"))),
        (assign("github_token", E("GITHUB_TOKEN")),),
        (assign("admin_password", S("«empty_value»")),),
        (assign("db_user", S("«system_account»")), assign("db_password", E("PGPASSWORD"))),
    ),
    "neg_code_hashes": (
        (assign("expected_sha256", S("«sha256_digest»")),),
        (assign("commit", S("«git_sha»")),),
        (assign("request_id", S("«uuid»")),),
        (assign("password_hash", S("«bcrypt»")),),
        (assign("integrity", S("«sri_hash»")),),
        (assign("public_key", S("«ssh_public_key»")),),
        (assign("md5sum", S("«md5_digest»")),),
        (assign("logo", S("«data_uri»")),),
        (assign("ca_cert", M("«certificate»")),),
    ),
    "neg_code_addresses": (
        (assign("host", S("«non_public_ip»")),),
        (assign("dns_servers", L("«public_resolver»", "«public_resolver.2»")),),
        (assign("version", S("«version4»")),),
        (assign("test_email", S("«reserved_email»")),),
        (assign("oid", S("«oid»")),),
        (assign("remote", S("«git_remote»")),),
        (call("bind", S("«non_public_ip»"), N("«port»")),),
        (assign("dependency", S("«package_spec»")),),
        (assign("default_user", S("«system_account»")),),
    ),
    "neg_code_names": (
        (call("«algorithm_function»", S("graph")),),
        (assign("author", S("«stock_name»")),),
        (assign("method", S("«algorithm_name»")),),
        (assign("copyright", S("Copyright «year» «organisation»")),),
        (assign("placeholder_name", S("«stock_name»")),),
        (assign("vendor", S("«organisation»")),),
    ),
    "code_account": (
        (assign("owner", S("«USERNAME»")),),
        (assign("run_as_user", S("«USERNAME»")), assign("group", S("«system_account»"))),
        (assign("github_user", S("«USERNAME»")), assign("repo", S("«project»"))),
        (assign("assignees", L("«USERNAME»", "«USERNAME.2»")),),
        (assign("ssh_user", S("«USERNAME»")), assign("ssh_host", S("«IPV4»"))),
        (call("get_user", S("«USERNAME»")),),
        (assign("author_handle", S("«USERNAME»")),),
        (call("add_collaborator", S("«project»"), S("«USERNAME»")),),
        (
            assign("maintainer_login", S("«USERNAME»")),
            assign("service_user", S("«system_account»")),
        ),
    ),
}

# -- kv: a section of settings ----------------------------------------------------------------
_KV = {
    "kv_database": (
        (
            "database",
            (
                ("host", S("«IPV4»")),
                ("port", N("5432")),
                ("name", S("«project»")),
                ("user", S("«USERNAME»")),
                ("password", S("«PASSWORD»")),
            ),
        ),
        (
            "db",
            (("host", S("«host»")), ("username", S("«USERNAME»")), ("password", S("«PASSWORD»"))),
        ),
        (
            "postgres",
            (
                ("user", S("«system_account»")),
                ("password", S("«PASSWORD»")),
                ("host", S("«non_public_ip»")),
            ),
        ),
        (
            "mysql",
            (
                ("server", S("«IP»")),
                ("login", S("«USERNAME»")),
                ("passwd", S("«PASSWORD»")),
                ("database", S("«project»")),
            ),
        ),
        ("mongodb", (("uri", S("mongodb://«USERNAME»:«PASSWORD_URL»@«IPV4»:27017/«project»")),)),
        (
            "datasource",
            (
                ("url", S("jdbc:postgresql://«IPV4»:5432/«project»")),
                ("username", S("«USERNAME»")),
                ("password", S("«PASSWORD»")),
            ),
        ),
        ("redis", (("host", S("«IPV4»")), ("port", N("6379")), ("password", S("«PASSWORD»")))),
        ("cache", (("url", S("redis://:«PASSWORD_URL»@«host»:6379/1")),)),
        (
            "replica",
            (
                ("host", S("«IPV6»")),
                ("user", S("«USERNAME»")),
                ("password", S("«PASSWORD»")),
                ("sslmode", S("require")),
            ),
        ),
    ),
    "kv_mail": (
        (
            "smtp",
            (
                ("host", S("smtp.«domain»")),
                ("port", N("587")),
                ("username", S("«EMAIL»")),
                ("password", S("«PASSWORD»")),
            ),
        ),
        ("mail", (("from", S("«NAME» <«EMAIL»>")), ("reply_to", S("«EMAIL.2»")))),
        ("email", (("admin", S("«EMAIL»")), ("notify", L("«EMAIL.2»", "«EMAIL.3»")))),
        (
            "mailer",
            (("user", S("«USERNAME»")), ("pass", S("«PASSWORD»")), ("sender", S("«EMAIL»"))),
        ),
        ("alerts", (("recipients", L("«EMAIL»", "«EMAIL.2»")), ("enabled", N("true")))),
        ("notifications", (("owner", S("«NAME»")), ("owner_email", S("«EMAIL»")))),
    ),
    "kv_api": (
        ("api", (("endpoint", S("https://api.«domain»/v1")), ("key", S("«KEY»")))),
        (
            "aws",
            (
                ("access_key_id", S("«KEY_AWS_ID»")),
                ("secret_access_key", S("«KEY_AWS_SECRET»")),
                ("region", S("eu-west-1")),
            ),
        ),
        ("github", (("user", S("«USERNAME»")), ("token", S("«KEY_GITHUB»")))),
        ("slack", (("bot_token", S("«KEY_SLACK»")), ("channel", S("«word»-alerts")))),
        ("stripe", (("secret_key", S("«KEY_STRIPE»")), ("currency", S("eur")))),
        (
            "oauth",
            (
                ("client_id", S("«num»")),
                ("client_secret", S("«KEY_GENERIC»")),
                ("redirect_uri", S("https://«domain»/callback")),
            ),
        ),
        ("google", (("api_key", S("«KEY_GOOGLE»")),)),
        ("openai", (("api_key", S("«KEY_OPENAI»")), ("model", S("gpt-4o")))),
        (
            "jwt",
            (("secret", S("«KEY_GENERIC»")), ("algorithm", S("HS256")), ("expires", N("3600"))),
        ),
        ("service_account", (("private_key_id", S("«KEY_HEX»")), ("private_key", M("«KEY_PEM»")))),
        ("sendgrid", (("api_key", S("«KEY_SENDGRID»")),)),
        ("telegram", (("bot_token", S("«KEY_TELEGRAM»")), ("chat_id", N("«num»")))),
    ),
    "kv_servers": (
        ("servers", (("primary", S("«IPV4»")), ("backup", S("«IPV4.2»")))),
        ("network", (("allowed_ips", L("«IP»", "«IP.2»")), ("dns", L("«public_resolver»")))),
        ("upstream", (("address", S("«IPV6»")), ("port", N("«port»")))),
        (
            "ssh",
            (
                ("host", S("«IPV4»")),
                ("user", S("«USERNAME»")),
                ("key_file", S("/home/«USERNAME»/.ssh/id_ed25519")),
            ),
        ),
        ("cluster", (("nodes", L("«IPV4»", "«IPV4.2»", "«IPV4.3»")),)),
        ("proxy", (("http", S("http://«USERNAME»:«PASSWORD_URL»@«IPV4»:3128")),)),
    ),
    "kv_people": (
        (
            "project",
            (("name", S("«project»")), ("maintainer", S("«NAME»")), ("contact", S("«EMAIL»"))),
        ),
        ("owners", (("team_lead", S("«NAME»")), ("oncall", S("«USERNAME»")))),
        ("git", (("user_name", S("«NAME»")), ("user_email", S("«EMAIL»")))),
        (
            "admin",
            (("username", S("«USERNAME»")), ("email", S("«EMAIL»")), ("password", S("«PASSWORD»"))),
        ),
        ("reviewers", (("required", L("«USERNAME»", "«USERNAME.2»")),)),
        ("author", (("name", S("«NAME»")), ("url", S("https://github.com/«USERNAME»")))),
    ),
    # hard negatives and plain settings
    "neg_kv": (
        (
            "database",
            (
                ("host", S("«non_public_ip»")),
                ("user", S("«system_account»")),
                ("password", S("«password_placeholder»")),
            ),
        ),
        ("api", (("key", S("«key_placeholder»")), ("base_url", S("https://api.«domain»")))),
        ("aws", (("access_key_id", S("«documented_example_key»")), ("region", S("us-east-1")))),
        (
            "build",
            (
                ("checksum", S("sha256:«sha256_digest»")),
                ("commit", S("«git_sha»")),
                ("version", S("«version4»")),
            ),
        ),
        ("contact", (("email", S("«reserved_email»")), ("name", S("«stock_name»")))),
        (
            "resolver",
            (
                ("nameservers", L("«public_resolver»", "«public_resolver.2»")),
                ("search", S("«domain»")),
            ),
        ),
        ("auth", (("password", S("«empty_value»")), ("password_hash", S("«bcrypt»")))),
        ("app", (("secret_key", E("SECRET_KEY")), ("instance_id", S("«uuid»")))),
        ("deploy", (("remote", S("«git_remote»")), ("user", S("«system_account»")))),
    ),
    "plain_kv": (
        ("server", (("port", N("«port»")), ("workers", N("4")), ("debug", N("false")))),
        ("logging", (("level", S("info")), ("file", S("/var/log/«project».log")))),
        ("cache", (("backend", S("redis")), ("ttl", N("300")))),
        ("features", (("beta", N("false")), ("max_upload_mb", N("«num»")))),
        ("paths", (("data", S("/srv/«project»/data")), ("tmp", S("/tmp/«project»")))),
        (
            "http",
            (("timeout", N("30")), ("retries", N("3")), ("user_agent", S("«project»/«semver»"))),
        ),
    ),
    "kv_accounts": (
        (
            "deploy",
            (("user", S("«USERNAME»")), ("host", S("«IPV4»")),
             ("path", S("/home/«USERNAME»/«project»"))),
        ),
        ("ci", (("bot_account", S("«USERNAME»")), ("token", S("«KEY_GITHUB»")))),
        ("service", (("run_as", S("«system_account»")), ("owner", S("«USERNAME»")))),
        ("ftp", (("login", S("«USERNAME»")), ("password", S("«PASSWORD»")))),
        ("notifications", (("slack_handle", S("@«USERNAME»")), ("email", S("«EMAIL»")))),
        ("registry", (("username", S("«USERNAME»")), ("url", S("https://registry.«domain»")))),
    ),
}

# -- raw: fixed-format lines -----------------------------------------------------------------
_RAW = {
    "pkg_python": (
        (
            "python",
            (
                "setup(",
                '    name="«project»",',
                '    author="«NAME»",',
                '    author_email="«EMAIL»",',
                ")",
            ),
        ),
        ("python", ('__author__ = "«NAME»"', '__email__ = "«EMAIL»"')),
        (
            "python",
            (
                "setup(",
                "    name='«project»',",
                "    maintainer='«NAME»',",
                "    maintainer_email='«EMAIL»',",
                "    version='«semver»',",
                ")",
            ),
        ),
        (
            "python",
            ('__author__ = "«NAME» <«EMAIL»>"', '__copyright__ = "Copyright «year» «NAME»"'),
        ),
        (
            "python",
            ("ADMINS = [", "    ('«NAME»', '«EMAIL»'),", "    ('«NAME.2»', '«EMAIL.2»'),", "]"),
        ),
        ("python", ('__maintainer__ = "«NAME»"', '__credits__ = ["«NAME»", "«NAME.2»"]')),
    ),
    "pkg_metadata": (
        (
            "toml",
            (
                "[project]",
                'name = "«project»"',
                'authors = [{ name = "«NAME»", email = "«EMAIL»" }]',
            ),
        ),
        ("json", ('  "author": "«NAME» <«EMAIL»> (https://github.com/«USERNAME»)",',)),
        (
            "xml",
            (
                "<developers>",
                "  <developer>",
                "    <id>«USERNAME»</id>",
                "    <name>«NAME»</name>",
                "    <email>«EMAIL»</email>",
                "  </developer>",
                "</developers>",
            ),
        ),
        (
            "toml",
            (
                "[package]",
                'name = "«project»"',
                'version = "«semver»"',
                'authors = ["«NAME» <«EMAIL»>"]',
            ),
        ),
        ("ruby", ('spec.authors = ["«NAME»"]', 'spec.email = ["«EMAIL»"]')),
        (
            "json",
            (
                '  "contributors": [',
                '    { "name": "«NAME»", "email": "«EMAIL»" },',
                '    { "name": "«NAME.2»", "url": "https://github.com/«USERNAME.2»" }',
                "  ],",
            ),
        ),
        ("toml", ("[tool.poetry]", 'authors = ["«NAME» <«EMAIL»>", "«NAME.2» <«EMAIL.2»>"]')),
        (
            "text",
            (
                "Source: «project»",
                "Maintainer: «NAME» <«EMAIL»>",
                "Uploaders: «NAME.2» <«EMAIL.2»>",
            ),
        ),
        ("shell", ("# Maintainer: «NAME» <«EMAIL_OBF»>", "pkgname=«project»", "pkgver=«semver»")),
        (
            "json",
            (
                '  "authors": [',
                '    { "name": "«NAME»", "email": "«EMAIL»", "role": "Developer" }',
                "  ],",
            ),
        ),
        ("xml", ("<authors>«NAME»</authors>", "<owners>«USERNAME»</owners>")),
        ("yaml", ("author: «NAME» <«EMAIL»>", "homepage: https://github.com/«USERNAME»/«project»")),
    ),
    "authors_file": (
        (
            "text",
            (
                "# This is the list of «project»'s significant contributors.",
                "«NAME» <«EMAIL»>",
                "«NAME.2» <«EMAIL.2»>",
                "«NAME.3» <«EMAIL.3»>",
            ),
        ),
        (
            "text",
            (
                "Contributors",
                "============",
                "",
                "* «NAME» (@«USERNAME»)",
                "* «NAME.2» (@«USERNAME.2»)",
            ),
        ),
        ("text", ("«NAME» <«EMAIL»>", "«NAME.2»")),
        ("text", ("Lead developer: «NAME» <«EMAIL»>", "Documentation: «NAME.2»")),
        ("text", ("- «NAME» -- «EMAIL_OBF»", "- «NAME.2» -- «EMAIL_OBF.2»")),
        (
            "text",
            ("# Names should be added as: Name <email>", "«organisation»", "«NAME» <«EMAIL»>"),
        ),
    ),
    "git_config": (
        ("git-config", ("[user]", "\tname = «NAME»", "\temail = «EMAIL»")),
        ("git-config", ("[github]", "\tuser = «USERNAME»", "\ttoken = «KEY_GITHUB»")),
        ("git-config", ('[credential "https://«domain»"]', "\tusername = «USERNAME»")),
        (
            "git-config",
            (
                "[sendemail]",
                "\tsmtpuser = «EMAIL»",
                "\tsmtppass = «PASSWORD»",
                "\tsmtpserver = smtp.«domain»",
            ),
        ),
        (
            "git-config",
            (
                '[remote "origin"]',
                "\turl = https://«USERNAME»:«KEY_GITHUB»@github.com/«project»/«project.2».git",
            ),
        ),
        ("git-config", ("[user]", "\tname = «NAME»", "[core]", "\teditor = vim")),
    ),
    "ssh_config": (
        (
            "ssh-config",
            (
                "Host «project»",
                "    HostName «IPV4»",
                "    User «USERNAME»",
                "    IdentityFile ~/.ssh/id_ed25519",
            ),
        ),
        ("ssh-config", ("Host bastion", "  HostName «IP»", "  User «USERNAME»", "  Port «port»")),
        (
            "ssh-config",
            (
                "Host «project»-prod",
                "    HostName «IPV4»",
                "    User «system_account»",
                "    ProxyJump «USERNAME»@«IPV4.2»",
            ),
        ),
        ("ssh-config", ("Match host «IPV4»", "    User «USERNAME»")),
        (
            "ssh-config",
            (
                "Host gitlab",
                "  HostName gitlab.«domain»",
                "  User git",
                "  IdentityFile /home/«USERNAME»/.ssh/gitlab",
            ),
        ),
        ("ssh-config", ("Host *.«domain»", "  User «USERNAME»", "  ForwardAgent yes")),
    ),
    "netrc": (
        ("netrc", ("machine api.«domain»", "  login «USERNAME»", "  password «PASSWORD»")),
        ("netrc", ("machine «IPV4» login «USERNAME» password «PASSWORD»",)),
        ("netrc", ("machine github.com login «USERNAME» password «KEY_GITHUB»",)),
        ("text", ("«IPV4»:5432:«project»:«USERNAME»:«PASSWORD»",)),
        ("netrc", ("machine ftp.«domain»", "login «EMAIL»", "password «PASSWORD»")),
        ("netrc", ("default login «USERNAME» password «PASSWORD»",)),
    ),
    "log_lines": (
        (
            "log",
            (
                "«date» «time» sshd[«num»]: Accepted password for «USERNAME» from «IPV4» port «num.2» ssh2",
            ),
        ),
        (
            "log",
            ('«IPV4» - «USERNAME» [«date»:«time» +0000] "GET /api/v1/items HTTP/1.1" 200 «num»',),
        ),
        ("log", ("«date» «time» WARN auth: failed login for «EMAIL» from «IP»",)),
        ("log", ("«date»T«time»Z INFO mailer: sent receipt to=<«EMAIL»> status=sent",)),
        ("log", ("[«date» «time»] ERROR connection refused by «IPV4»:«port» (user=«USERNAME»)",)),
        (
            "log",
            (
                "«date» «time» INFO session opened for user «USERNAME» by (uid=0)",
                "«date» «time» INFO session closed for user «USERNAME»",
            ),
        ),
        (
            "log",
            ("«date» «time» sshd[«num»]: Invalid user «system_account» from «IPV4» port «num.2»",),
        ),
        ("log", ('«IPV6» - - [«date»:«time» +0000] "POST /login HTTP/2" 401 «num»',)),
        ("log", ("«date» «time» DEBUG request from «IPV4» with token=«KEY»",)),
        ("log", ("«date» «time» INFO user «NAME» (id=«num») updated their profile",)),
    ),
    "cli": (
        ("shell", ("curl -u «USERNAME»:«PASSWORD» https://api.«domain»/v1/status",)),
        ("shell", ("mysql -u «USERNAME» -p«PASSWORD» -h «IPV4» «project»",)),
        ("shell", ('psql "postgresql://«USERNAME»:«PASSWORD_URL»@«IPV4»:5432/«project»"',)),
        ("shell", ("./manage.py createsuperuser --username «USERNAME» --email «EMAIL»",)),
        ("shell", ("sshpass -p '«PASSWORD»' ssh «USERNAME»@«IPV4»",)),
        ("shell", ("export GITHUB_TOKEN=«KEY_GITHUB»",)),
        (
            "shell",
            ("git clone https://«USERNAME»:«KEY_GITHUB»@github.com/«project»/«project.2».git",),
        ),
        ("shell", ("docker login -u «USERNAME» -p «PASSWORD» registry.«domain»",)),
        ("shell", ('curl -H "Authorization: Bearer «KEY_JWT»" https://api.«domain»/me',)),
        ("shell", ("scp build.tar.gz «USERNAME»@«IPV4»:/home/«USERNAME»/releases/",)),
        (
            "shell",
            ('git config --global user.name "«NAME»"', "git config --global user.email «EMAIL»"),
        ),
        (
            "shell",
            (
                "mysqldump --host=«IPV4» --user=«USERNAME» --password=«PASSWORD» «project» > dump.sql",
            ),
        ),
        ("shell", ('curl -X POST -H "X-Api-Key: «KEY»" https://«domain»/hooks',)),
        ("shell", ("rsync -avz ./dist/ «USERNAME»@«IPV4»:/srv/«project»/",)),
        (
            "shell",
            (
                "aws configure set aws_access_key_id «KEY_AWS_ID»",
                "aws configure set aws_secret_access_key «KEY_AWS_SECRET»",
            ),
        ),
    ),
    "html_contact": (
        ("html", ('<a href="mailto:«EMAIL»">«NAME»</a>',)),
        ("html", ('<meta name="author" content="«NAME»">',)),
        (
            "html",
            (
                "<footer>",
                '  <p>Maintained by «NAME» &middot; <a href="mailto:«EMAIL»">«EMAIL»</a></p>',
                "</footer>",
            ),
        ),
        (
            "html",
            (
                '<address>Contact: <a href="https://github.com/«USERNAME»">@«USERNAME»</a></address>',
            ),
        ),
        ("html", ("<!-- deployed to «IPV4» by «USERNAME» -->",)),
        ("html", ('<input type="hidden" name="api_key" value="«KEY»">',)),
    ),
    "readme_contact": (
        (
            "markdown",
            ("## Contact", "", "«NAME» - [@«USERNAME»](https://twitter.com/«USERNAME») - «EMAIL»"),
        ),
        (
            "markdown",
            (
                "## Authors",
                "",
                "* **«NAME»** - *Initial work* - [«USERNAME»](https://github.com/«USERNAME»)",
                "* **«NAME.2»** - [«USERNAME.2»](https://github.com/«USERNAME.2»)",
            ),
        ),
        ("markdown", ("## Maintainers", "", "- «NAME» (<«EMAIL»>)")),
        ("markdown", ("Questions? Write to «EMAIL_OBF».",)),
        ("markdown", ("## Credits", "", "Thanks to «NAME» and @«USERNAME.2» for their help.")),
        ("markdown", ("Demo server: http://«IPV4»:«port»/ (login `«USERNAME»` / `«PASSWORD»`)",)),
        ("restructuredtext", (":Author: «NAME» <«EMAIL»>", ":Date: «date»")),
        ("restructuredtext", ("Authors", "-------", "", "- «NAME» <«EMAIL»>", "- «NAME.2»")),
        ("restructuredtext", (".. moduleauthor:: «NAME» <«EMAIL»>",)),
        ("restructuredtext", (".. sectionauthor:: «NAME» <«EMAIL»>",)),
        (
            "restructuredtext",
            ("Contact", "=======", "", "Mail «EMAIL_OBF» or ping ``@«USERNAME»``."),
        ),
        ("restructuredtext", (":Maintainer: «NAME»", ":Contact: «EMAIL»")),
    ),
    "dockerfile": (
        ("dockerfile", ('LABEL maintainer="«NAME» <«EMAIL»>"',)),
        ("dockerfile", ("ENV DB_PASSWORD=«PASSWORD»",)),
        ("dockerfile", ("MAINTAINER «NAME» <«EMAIL»>",)),
        ("dockerfile", ("ENV API_TOKEN=«KEY»", "ENV API_HOST=«IPV4»")),
        ("dockerfile", ('LABEL org.opencontainers.image.authors="«EMAIL»"',)),
        ("dockerfile", ('RUN echo "«USERNAME»:«PASSWORD»" | chpasswd',)),
    ),
    "sql": (
        ("sql", ("CREATE USER «USERNAME» WITH PASSWORD '«PASSWORD»';",)),
        (
            "sql",
            ("INSERT INTO users (name, email, last_ip) VALUES ('«NAME»', '«EMAIL»', '«IP»');",),
        ),
        (
            "sql",
            (
                "GRANT ALL PRIVILEGES ON «project».* TO '«USERNAME»'@'«IPV4»' IDENTIFIED BY '«PASSWORD»';",
            ),
        ),
        (
            "sql",
            (
                "INSERT INTO accounts (login, password) VALUES",
                "  ('«USERNAME»', '«PASSWORD»'),",
                "  ('«USERNAME.2»', '«PASSWORD.2»');",
            ),
        ),
        ("sql", ('ALTER USER «USERNAME» IDENTIFIED BY "«PASSWORD»";',)),
        ("sql", ("UPDATE users SET email = '«EMAIL»' WHERE username = '«USERNAME»';",)),
    ),
    "deploy_yaml": (
        (
            "yaml",
            (
                "services:",
                "  db:",
                "    image: postgres:16",
                "    environment:",
                "      POSTGRES_USER: «USERNAME»",
                '      POSTGRES_PASSWORD: "«PASSWORD»"',
            ),
        ),
        (
            "yaml",
            (
                "    environment:",
                '      - "MYSQL_ROOT_PASSWORD=«PASSWORD»"',
                "      - MYSQL_USER=«USERNAME»",
            ),
        ),
        (
            "yaml",
            (
                "  app:",
                "    environment:",
                '      SECRET_KEY: "«KEY_GENERIC»"',
                "      SENTRY_DSN: https://«KEY_HEX»@o«num».ingest.sentry.io/«num.2»",
            ),
        ),
        (
            "yaml",
            (
                "kind: Secret",
                "apiVersion: v1",
                "metadata:",
                "  name: «project»-credentials",
                "type: Opaque",
                "stringData:",
                "  username: «USERNAME»",
                '  password: "«PASSWORD»"',
            ),
        ),
        ("yaml", ("stringData:", '  api-key: "«KEY»"', '  smtp-password: "«PASSWORD»"')),
        (
            "yaml",
            (
                "env:",
                "  - name: DATABASE_URL",
                '    value: "postgres://«USERNAME»:«PASSWORD_URL»@«IPV4»:5432/«project»"',
            ),
        ),
        ("yaml", ("tls:", "  key: |", "    «KEY_PEM»")),
        (
            "yaml",
            ("notify:", "  email:", "    recipients:", "      - «EMAIL»", "      - «EMAIL.2»"),
        ),
        (
            "yaml",
            ("deploy:", "  host: «IPV4»", "  user: «USERNAME»", "  path: /home/«USERNAME»/app"),
        ),
    ),
    # hard negatives and plain lines in the same formats
    "neg_raw": (
        (
            "text",
            ("«go_module» v«semver» «gosum_hash»", "«go_module» v«semver»/go.mod «gosum_hash.2»"),
        ),
        ("yaml", ("env:", "  global:", '    - secure: "«ci_encrypted»"')),
        (
            "html",
            ('<script src="https://cdn.«domain»/app.js" integrity="«sri_hash»"></script>',),
        ),
        ("html", ('<img src="«data_uri»" alt="logo">',)),
        ("shell", ("git remote add origin «git_remote»", "npm install «package_spec»")),
        (
            "ssh-config",
            ("Host «project»", "    HostName «non_public_ip»", "    User «system_account»"),
        ),
        (
            "log",
            (
                "«date» «time» INFO listening on «non_public_ip»:«port»",
                "«date» «time» INFO resolver «public_resolver» reachable",
            ),
        ),
        ("text", ("«ssh_public_key» deploy-key",)),
        (
            "git-config",
            ("[core]", "\tautocrlf = input", '[remote "origin"]', "\turl = «git_remote»"),
        ),
        (
            "markdown",
            (
                "Install with `pip install «project»==«semver»`.",
                "Report issues to «reserved_email».",
            ),
        ),
        (
            "dotenv",
            ("API_KEY=«key_placeholder»", "DB_PASSWORD=«empty_value»", "DB_HOST=«non_public_ip»"),
        ),
        ("log", ("«date» «time» INFO worker «uuid» started in «num»ms",)),
        (
            "text",
            (
                "md5 («project».tar.gz) = «md5_digest»",
                "sha256 («project».tar.gz) = «sha256_digest»",
            ),
        ),
        (
            "netrc",
            ("machine «domain»", "  login «system_account»", "  password «password_placeholder»"),
        ),
        (
            "json",
            (
                '  "integrity": "«sri_hash»",',
                '  "resolved": "https://registry.npmjs.org/«project»/-/«project»-«semver».tgz",',
            ),
        ),
        ("yaml", ("ca_bundle: |", "  «certificate»")),
        ("sql", ("SELECT * FROM users WHERE email LIKE '%@«domain»' AND created > '«date»';",)),
        ("ssh-config", ("Host *", "    ServerAliveInterval 60", "    User «system_account»")),
        ("log", ("«date» «time» WARN retrying «word» job (attempt «num»)",)),
        ("git-config", ("[core]", "\teditor = vim", "[pull]", "\trebase = true")),
        ("netrc", ("machine «domain»", "  login «system_account»", "  password «empty_value»")),
        ("log", ("«date» «time» INFO build «git_sha» finished in «num»s",)),
        ("text", ("See the LICENSE file for the terms of use.",)),
        (
            "dockerfile",
            ("FROM python:3.12-slim", "USER «system_account»", "ARG API_KEY=«key_placeholder»"),
        ),
    ),
    "system_files": (
        ("text", ("«USERNAME»:x:«num»:«num»:«NAME»:/home/«USERNAME»:/bin/bash",)),
        ("text", ("«USERNAME» ALL=(ALL) NOPASSWD: ALL",)),
        ("shell", ("sudo -u «USERNAME» pg_dump «word» > backup.sql",)),
        ("text", ("AllowUsers «USERNAME» «USERNAME.2»", "PermitRootLogin no")),
        ("yaml", ("assignees:", "  - «USERNAME»", "reviewers:", "  - «USERNAME.2»")),
        ("text", ("«system_account»:x:«num»:«num»::/var/lib/«project»:/usr/sbin/nologin",
                  "«USERNAME»:x:«num.2»:«num.2»:«NAME»:/home/«USERNAME»:/bin/zsh")),
    ),
    "vcs_log": (
        ("log", ("commit «git_sha»", "Author: «USERNAME» <«EMAIL»>", "Date:   «date»")),
        ("text", ("«git_sha» («USERNAME» «date» «time») fix «word» parsing",)),
        ("log", ("remote: «USERNAME» pushed to branch main of «project»",)),
        ("text", ("r«num» | «USERNAME» | «date» «time» | 2 lines",)),
        ("log", ("«date» «time» [«project»] build #«num» started by «USERNAME»",)),
        ("text", ("/docs/ @«USERNAME»", "*.py @«USERNAME» @«USERNAME.2»")),
    ),
}


def _slot_kinds(patterns: list[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The entities and the hard-negative kinds the patterns' slots carry."""
    labels, negatives = set(), set()
    for pattern in patterns:
        for base, _ in SLOT.findall(pattern):
            if base in SLOT_LABELS:
                labels.add(SLOT_LABELS[base])
            elif base in NEGATIVE_KINDS:
                negatives.add(base)
            elif base not in FILLER_KINDS:
                raise ValueError(f"unknown slot «{base}» in template pattern {pattern!r}")
    return frozenset(labels), frozenset(negatives)


def _node_patterns(node: tuple) -> list[str]:
    kind, value = node
    if kind in ("s", "n", "m"):
        return [value]
    if kind == "l":
        return list(value)
    if kind == "map":
        return [p for _, child in value for p in _node_patterns(child)]
    return []  # "e": an environment look-up carries no slot


def _node_needs(node: tuple) -> set[str]:
    kind, value = node
    if kind == "l":
        return {"list"}
    if kind == "e":
        return {"env"}
    if kind == "map":
        return {"map"}.union(*(_node_needs(child) for _, child in value))
    return set()


def _statement_parts(statement: tuple) -> tuple[list[str], set[str]]:
    """Slot patterns and dialect needs of one code statement."""
    if statement[0] == "assign":
        return _node_patterns(statement[2]), _node_needs(statement[2])
    if statement[0] == "call":
        return (
            [statement[1]] + [p for a in statement[2] for p in _node_patterns(a)],
            set().union(*(_node_needs(a) for a in statement[2])),
        )
    pairs = statement[3]  # fixture
    return (
        [p for _, node in pairs for p in _node_patterns(node)],
        {"list", "map"}.union(*(_node_needs(node) for _, node in pairs)),
    )


def _build(family: str, kind: str, index: int, variant) -> Template:
    needs: set[str] = set()
    fmt = ""
    if kind == "text":
        body = (variant,) if isinstance(variant, str) else tuple(variant)
        patterns = list(body)
    elif kind == "code":
        body = tuple(variant)
        patterns = []
        for statement in body:
            found, wanted = _statement_parts(statement)
            patterns += found
            needs |= wanted
    elif kind == "kv":
        body = variant
        patterns = [p for _, node in variant[1] for p in _node_patterns(node)]
        needs = set().union(*(_node_needs(node) for _, node in variant[1]))
    else:
        fmt, body = variant
        patterns = list(body)
    labels, negatives = _slot_kinds(patterns)
    if kind in ("code", "kv") and any(n[0] == "e" for n in _all_nodes(kind, body)):
        negatives = negatives | {"env_lookup"}
    return Template(
        id=f"{family}/{index:02d}",
        family=family,
        kind=kind,
        body=body,
        format=fmt,
        split=_split(family, index),
        labels=labels,
        negatives=negatives,
        needs=frozenset(needs),
    )


def _split(family: str, index: int) -> str:
    """Which documents variant ``index`` of ``family`` may appear in: train (training and
    validation), test, or validation (validation only)."""
    every_third = index % TEST_EVERY == TEST_EVERY - 1
    if family in VALIDATION_FAMILIES:
        return "validation" if every_third else "train"
    return "test" if family in HELD_OUT_FAMILIES.values() or every_third else "train"


def _all_nodes(kind: str, body: tuple) -> list[tuple]:
    """Every value node of a code or kv body, maps opened."""
    if kind == "kv":
        stack = [node for _, node in body[1]]
    else:
        stack = []
        for statement in body:
            if statement[0] == "assign":
                stack.append(statement[2])
            elif statement[0] == "call":
                stack.extend(statement[2])
            else:
                stack.extend(node for _, node in statement[3])
    nodes = []
    while stack:
        node = stack.pop()
        nodes.append(node)
        if node[0] == "map":
            stack.extend(child for _, child in node[1])
    return nodes


def all_templates() -> tuple[Template, ...]:
    """Every template variant of every family, in a fixed order."""
    built = []
    for kind, families in (("text", _TEXT), ("code", _CODE), ("kv", _KV), ("raw", _RAW)):
        for family, variants in families.items():
            if len(variants) < TEST_EVERY:
                raise ValueError(
                    f"family {family} has {len(variants)} variants; "
                    f"at least {TEST_EVERY} are needed for a train/test split"
                )
            built += [_build(family, kind, i, v) for i, v in enumerate(variants)]
    return tuple(built)


TEMPLATES: tuple[Template, ...] = all_templates()

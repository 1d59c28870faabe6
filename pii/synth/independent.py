"""Hard negatives for the test split from sources independent of the policy.

``values.py`` restates ``pii/policy.py``'s own lists, so a test split whose hard negatives come
from it tests those lists against themselves. For the test split, the kinds in :data:`KINDS` draw
their values instead from

- the shards (source ``"shards"``): values found in the files of the test-split repositories
  (hex digests next to a digest word, UUIDs, four-part versions, image data URIs, private and
  documentation addresses), never next to a secret word and never found in a training
  repository's files;
- the standards that define them: the tables below, each with its citation; where a standard
  defines ranges or a grammar rather than values (addresses, versions, images), values are
  generated inside them with fixed seeds.

The other kinds still come from ``values.py``; stats.json counts the test negatives by source.
This module imports neither ``pii.policy`` nor ``pii.synth.values``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import random
import re
import struct
import uuid
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq

from pii.synth.contexts import repo_split

SHARDS = "shards"
# kind -> source -> values (sources in draw order, shards first; no value in two sources).
Pools = dict[str, dict[str, tuple[str, ...]]]

# -- standards ---------------------------------------------------------------------------------
# RFC 5322 Appendix A (A.1.1-A.4): the example messages' addresses, all under names reserved by
# RFC 2606 (example.com/.net/.org, .example, .test).
RFC5322_ADDRESSES = (
    "jdoe@machine.example",
    "mjones@machine.example",
    "mary@example.net",
    "john.q.public@example.com",
    "mary@x.test",
    "jdoe@example.org",
    "one@y.test",
    "boss@nil.test",
    "sysservices@example.net",
    "pete@silly.example",
    "c@a.test",
    "joe@where.test",
    "jdoe@one.test",
    "smith@home.example",
    "j-brown@other.example",
    "jdoe@node.example",
)
# RFC 2606 §2-3 and RFC 6761 §6.2-6.5: second-level example domains and the reserved TLDs
# .test, .example, .invalid, .localhost (any name under them).
RFC2606_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "ci.test",
    "host.invalid",
    "localhost",
)
# Address blocks reserved by the standards (generated addresses inside them).
ADDRESS_BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("RFC 1918", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),  # private use
    ("RFC 5737", ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")),  # documentation
    ("RFC 3849", ("2001:db8::/32",)),  # IPv6 documentation
    # loopback: RFC 1122 §3.2.1.3, RFC 4291 §2.5.3
    ("RFC 1122/4291", ("127.0.0.0/8", "::1/128")),
)
# RFC 4122: nil UUID (§4.1.7), the URN example (§3), name-space IDs (Appendix C).
RFC4122_UUIDS = (
    "00000000-0000-0000-0000-000000000000",
    "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b812-9dad-11d1-80b4-00c04fd430c8",
    "6ba7b814-9dad-11d1-80b4-00c04fd430c8",
)
# RFC 9562: max UUID (§5.10); the v3 and v5 test vectors of Appendix A.2 and A.4 (DNS
# name space, "www.example.com"), computed here.
RFC9562_UUIDS = (
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    str(uuid.uuid3(uuid.NAMESPACE_DNS, "www.example.com")),
    str(uuid.uuid5(uuid.NAMESPACE_DNS, "www.example.com")),
)
# RFC 1321 §A.5: the MD5 test suite's inputs (digests computed here, as the RFC prints them).
RFC1321_INPUTS = (
    "",
    "a",
    "abc",
    "message digest",
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "1234567890" * 8,
)
# RFC 6234 §8.5 (and FIPS 180-2's examples): TEST1, TEST2_1 and TEST3 (one million "a").
RFC6234_INPUTS = (
    "abc",
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "a" * 1_000_000,
)
# Git's object IDs of the empty tree and the empty blob: the hash of "<type> 0\0" (git
# hash-object; SHA-1, and SHA-256 in Documentation/technical/hash-function-transition.txt).
GIT_EMPTY_OBJECTS = (b"tree 0\0", b"blob 0\0")
GIT_ABBREVIATIONS = (7, 12)  # git's default short form (core.abbrev) and a longer one
# Linux Standard Base Core specification, "Users & Groups" chapter, "User & Group Names": the
# required (root, bin, daemon) and optional user names.
LSB_USERS = (
    "root",
    "bin",
    "daemon",
    "adm",
    "lp",
    "sync",
    "shutdown",
    "halt",
    "mail",
    "news",
    "uucp",
    "operator",
    "nobody",
)
# Documented example credentials.
AWS_EXAMPLE_KEYS = (  # docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)
STRIPE_SAMPLE_KEYS = (
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",  # docs.stripe.com/get-started/api-request
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",  # docs.stripe.com/api/authentication
)
# RFC 7519 §3.1: the example JWT (the JWS of RFC 7515 Appendix A.1, HMAC key published there).
RFC7519_JWT = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQog"
    "Imh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
GENERATED_PER_BLOCK = 12  # addresses drawn in each reserved block
GENERATED_VERSIONS = 32
GENERATED_IMAGES = 12


def _addresses(network: str) -> tuple[str, ...]:
    """Addresses inside a reserved block, drawn with a fixed generator."""
    net = ipaddress.ip_network(network)
    if net.num_addresses == 1:
        return (str(net.network_address),)
    rng = random.Random(f"pii-synth/independent/{network}")
    if net.version == 6:  # a subnet and a small host part: 2001:db8:1f2e::4a
        offsets = (rng.randrange(2**16) << 80 | rng.randrange(1, 2**12) for _ in range(99))
    else:
        offsets = (rng.randrange(1, net.num_addresses - 1) for _ in range(99))
    found = dict.fromkeys(str(net.network_address + o) for o in offsets)
    return tuple(list(found)[:GENERATED_PER_BLOCK])


def _pep440_versions() -> tuple[str, ...]:
    """Four-part release segments, PEP 440's ``N(.N)*`` (§Final releases), that read like IPv4."""
    rng = random.Random("pii-synth/independent/pep440")
    found = dict.fromkeys(
        ".".join(str(rng.randint(0, 30)) for _ in range(4)) for _ in range(GENERATED_VERSIONS * 2)
    )
    return tuple(list(found)[:GENERATED_VERSIONS])


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour truecolour PNG (RFC 2083: signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _png_data_uris() -> tuple[str, ...]:
    """RFC 2397 data URLs of small PNG images."""
    rng = random.Random("pii-synth/independent/png")
    uris = []
    for _ in range(GENERATED_IMAGES):
        size = rng.randint(1, 16)
        image = _png(size, size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        uris.append("data:image/png;base64," + base64.b64encode(image).decode())
    return tuple(dict.fromkeys(uris))


def _sha1(data: bytes) -> str:
    """Hex SHA-1."""
    return hashlib.sha1(data).hexdigest()


def _abbreviated(digests: list[str]) -> tuple[str, ...]:
    """Full digests and their git-style abbreviations."""
    return tuple(dict.fromkeys([*digests, *(d[:n] for d in digests for n in GIT_ABBREVIATIONS)]))


def standards() -> Pools:
    """The standards' values by kind and citation."""
    locals_ = sorted({a.split("@")[0] for a in RFC5322_ADDRESSES})
    blocks = {name: tuple(a for n in nets for a in _addresses(n)) for name, nets in ADDRESS_BLOCKS}
    return {
        "reserved_email": {
            "RFC 5322 App. A": RFC5322_ADDRESSES,
            "RFC 2606/6761": tuple(f"{lp}@{d}" for d in RFC2606_DOMAINS for lp in locals_),
        },
        "non_public_ip": blocks,
        "uuid": {"RFC 4122": RFC4122_UUIDS, "RFC 9562": RFC9562_UUIDS},
        "md5_digest": {
            "RFC 1321": tuple(hashlib.md5(s.encode()).hexdigest() for s in RFC1321_INPUTS)
        },
        "sha256_digest": {
            "RFC 6234": tuple(hashlib.sha256(s.encode()).hexdigest() for s in RFC6234_INPUTS),
            "git object format": tuple(hashlib.sha256(o).hexdigest() for o in GIT_EMPTY_OBJECTS),
        },
        "git_sha": {
            "git object format": _abbreviated([_sha1(o) for o in GIT_EMPTY_OBJECTS]),
            # RFC 3174 §7.3: TEST1 and TEST2 are RFC 6234's TEST1 and TEST2_1.
            "RFC 3174": _abbreviated([_sha1(s.encode()) for s in RFC6234_INPUTS[:2]]),
        },
        "version4": {"PEP 440": _pep440_versions()},
        "system_account": {"LSB": LSB_USERS},
        "data_uri": {"RFC 2397/2083": _png_data_uris()},
        "documented_example_key": {
            "AWS docs": AWS_EXAMPLE_KEYS,
            "Stripe docs": STRIPE_SAMPLE_KEYS,
            "RFC 7519": (RFC7519_JWT,),
        },
    }


KINDS: tuple[str, ...] = tuple(sorted(standards()))

# -- harvest from the shards -------------------------------------------------------------------
_HEX = re.compile(r"(?<![0-9A-Za-z_-])(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9A-Za-z_-])")
_HEX_KIND = {32: "md5_digest", 40: "git_sha", 64: "sha256_digest"}
_DIGEST_WORD = re.compile(
    r"sha-?(?:1|256|512)|md5|hash|digest|checksum|commit|\brev\b|revision|integrity|pbkdf2|etag",
    re.IGNORECASE,
)
_SECRET_WORD = re.compile(
    r"secret|token|passw|pwd|api.?key|private|credential|bearer|auth", re.IGNORECASE
)
_UUID = re.compile(r"(?<![\w-])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![\w-])")
_DOTTED4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\w|\.\d)")
_IPV6_DOC = re.compile(r"(?<![\w:])2001:db8(?::[0-9a-f]{0,4}){1,6}(?![\w:])", re.IGNORECASE)
# A four-part number right after "version", "release", a "v" or a version specifier's operator.
_VERSION = re.compile(
    r"(?:version\w*\s*[:=]?\s*[\"']?|release\s+|[=<>~!]=\s*|\bv)"
    r"(\d{1,3}(?:\.\d{1,3}){3})(?!\w|\.\d)",
    re.IGNORECASE,
)
_DATA_URI = re.compile(r"data:(?:image|font)/[\w.+-]+;base64,[A-Za-z0-9+/]{16,}={0,2}")
MAX_DATA_URI_CHARS = 1000  # icons, not photographs
_NETWORKS = tuple(ipaddress.ip_network(n) for _, nets in ADDRESS_BLOCKS for n in nets)


def _reserved_address(value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in net for net in _NETWORKS if net.version == address.version)


def _base64_ok(uri: str) -> bool:
    try:
        base64.b64decode(uri.split(",", 1)[1], validate=True)
    except ValueError:
        return False
    return len(uri) <= MAX_DATA_URI_CHARS


def _candidates(line: str) -> list[tuple[str, str]]:
    """(kind, value) look-alikes on one line."""
    found = []
    if _DIGEST_WORD.search(line):
        found += [(_HEX_KIND[len(m)], m) for m in _HEX.findall(line) if not m.isdigit()]
    found += [("uuid", m) for m in _UUID.findall(line)]
    versions = _VERSION.findall(line)
    found += [("version4", m) for m in versions]
    found += [
        ("non_public_ip", m)
        for m in _DOTTED4.findall(line)
        if m not in versions and _reserved_address(m)
    ]
    found += [("non_public_ip", m) for m in _IPV6_DOC.findall(line) if _reserved_address(m)]
    found += [("data_uri", m) for m in _DATA_URI.findall(line) if _base64_ok(m)]
    return found


def _read_shards(shards_dir: str | Path) -> list[tuple[str, str]]:
    """(repo, content) of every file of the shards, sorted."""
    rows: list[tuple[str, str]] = []
    for file in sorted(Path(shards_dir).rglob("*.parquet")):
        table = pq.read_table(file, columns=["repo", "content"])
        rows += zip(table.column("repo").to_pylist(), table.column("content").to_pylist())
    return sorted((repo, content) for repo, content in rows if repo and content)


def harvest(shards_dir: str | Path) -> dict[str, tuple[str, ...]]:
    """Look-alikes of the test-split repositories' files, by kind: none that appears next to a
    secret word (on its line or the line before) anywhere in them, or in a training repository's
    files."""
    rows = _read_shards(shards_dir)
    train_text = "\n".join(content for repo, content in rows if repo_split(repo) == "train")
    found: dict[str, set[str]] = defaultdict(set)
    secret: set[str] = set()
    for repo, content in rows:
        if repo_split(repo) != "test":
            continue
        previous = ""
        for line in content.split("\n"):
            for kind, value in _candidates(line):
                found[kind].add(value)
                if _SECRET_WORD.search(previous + "\n" + line):
                    secret.add(value)
            previous = line
    return {
        kind: tuple(sorted(v for v in values if v not in secret and v not in train_text))
        for kind, values in sorted(found.items())
    }


def pools(shards_dir: str | Path) -> Pools:
    """Harvested values first, then the standards'; a value belongs to its first source."""
    harvested = harvest(shards_dir)
    out: Pools = {}
    for kind, by_source in standards().items():
        seen: set[str] = set()
        sources = {SHARDS: harvested.get(kind, ())} | by_source
        out[kind] = {}
        for source, values in sources.items():
            fresh = tuple(v for v in dict.fromkeys(values) if v not in seen)
            seen.update(fresh)
            if fresh:
                out[kind][source] = fresh
    return out


def source_counts(records: list[dict], pools: Pools, fallback: str, env_kind: str) -> dict:
    """Test negatives by source (and by kind and source); ``fallback`` names the source of kinds
    without pools, ``env_kind`` the kind the renderer writes itself (environment look-ups)."""
    owner = {(kind, v): s for kind, by in pools.items() for s, vs in by.items() for v in vs}
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for record in records:
        for negative in record["negatives"]:
            kind = negative["kind"]
            value = record["text"][negative["start"] : negative["end"]]
            if kind == env_kind:
                source = "renderer"
            elif kind in pools:
                source = owner.get((kind, value), "unknown")
            else:
                source = fallback
            by_kind[kind][source] += 1
    total: Counter = Counter()
    for counts in by_kind.values():
        total.update(counts)
    return {
        "total": dict(sorted(total.items())),
        "by_kind": {k: dict(sorted(c.items())) for k, c in sorted(by_kind.items())},
    }

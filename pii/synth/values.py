"""Random values for the synthetic PII data.

Positives (people, e-mails, public addresses, secrets, passwords, handles) are drawn fresh at
generation time, so no real person's data and no real secret is ever written. Hard negatives are
the look-alikes that the policy of issue 4 says are *not* PII: reserved e-mail domains, private
and documentation addresses, hashes, UUIDs, public keys, placeholders, system accounts,
organisations, algorithm names and stock placeholder names.

Every draw takes a ``random.Random``; names come from Faker, re-seeded from that generator for
each person, so the values depend only on the caller's seed.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import json
import random
import re
import string
import uuid

from faker import Faker
from faker.decode import unidecode

from pii.entities import EMAIL, IP_ADDRESS, KEY, NAME, PASSWORD, USERNAME

# Name locales, their name order and weight. Order "gf": given then family name; "fg": family
# then given (Hungarian, Vietnamese); "fg-tight": family then given without a space (Chinese,
# Japanese, Korean); "latin": the locale's names romanised (how such names usually appear in
# code); "latin-rev": romanised, family name first. Weights: chosen here so that no culture
# dominates (measured on the demo build: 28 % of NAME spans are in one of 12 non-Latin scripts);
# locales whose Faker data falls back to en_US (ar_EG, tl_PH, en_AU, am_ET, ... measured here with
# Faker 40) are left out.
NAME_LOCALES: tuple[tuple[str, str, int], ...] = (
    ("en_US", "gf", 6),
    ("en_GB", "gf", 2),
    ("en_IN", "gf", 2),
    ("en_NG", "gf", 1),
    ("en_NZ", "gf", 1),
    ("ga_IE", "gf", 1),
    ("de_DE", "gf", 3),
    ("de_AT", "gf", 1),
    ("fr_FR", "gf", 3),
    ("fr_CA", "gf", 1),
    ("es_ES", "gf", 2),
    ("es_MX", "gf", 2),
    ("it_IT", "gf", 2),
    ("pt_BR", "gf", 3),
    ("pt_PT", "gf", 1),
    ("nl_NL", "gf", 2),
    ("sv_SE", "gf", 1),
    ("da_DK", "gf", 1),
    ("no_NO", "gf", 1),
    ("fi_FI", "gf", 1),
    ("pl_PL", "gf", 2),
    ("cs_CZ", "gf", 1),
    ("sk_SK", "gf", 1),
    ("sl_SI", "gf", 1),
    ("hr_HR", "gf", 1),
    ("ro_RO", "gf", 1),
    ("lt_LT", "gf", 1),
    ("lv_LV", "gf", 1),
    ("hu_HU", "fg", 1),
    ("tr_TR", "gf", 2),
    ("az_AZ", "gf", 1),
    ("id_ID", "gf", 2),
    ("vi_VN", "fg", 2),
    ("yo_NG", "gf", 1),
    ("zu_ZA", "gf", 1),
    ("sw", "gf", 1),
    ("tw_GH", "gf", 1),
    ("ru_RU", "gf", 3),
    ("uk_UA", "gf", 2),
    ("bg_BG", "gf", 1),
    ("el_GR", "gf", 1),
    ("ka_GE", "gf", 1),
    ("hy_AM", "gf", 1),
    ("ar_AA", "gf", 2),
    ("fa_IR", "gf", 1),
    ("he_IL", "gf", 1),
    ("hi_IN", "gf", 2),
    ("bn_BD", "gf", 1),
    ("ne_NP", "gf", 1),
    ("ta_IN", "gf", 1),
    ("th_TH", "gf", 1),
    ("zh_CN", "fg-tight", 3),
    ("zh_TW", "fg-tight", 1),
    ("ja_JP", "fg-tight", 2),
    ("ko_KR", "fg-tight", 2),
    ("zh_CN", "latin", 3),
    ("ja_JP", "latin", 2),
    ("ko_KR", "latin-rev", 1),
    ("ru_RU", "latin", 2),
    ("uk_UA", "latin", 1),
    ("el_GR", "latin", 1),
)

# Stock placeholder people (policy: not PII); generated names equal to one are drawn again.
STOCK_NAMES: tuple[str, ...] = (
    "John Doe",
    "Jane Doe",
    "Max Mustermann",
    "Erika Mustermann",
    "Joe Bloggs",
    "Jan Kowalski",
    "Mario Rossi",
    "Juan Pérez",
    "Jean Dupont",
    "Fulano de Tal",
    "Taro Yamada",
    "Otto Normalverbraucher",
    "Ivan Ivanov",
    "Иван Иванов",
    "山田太郎",
    "山田花子",
    "张三",
    "李四",
    "홍길동",
)
_STOCK_KEYS = frozenset(n.casefold() for n in STOCK_NAMES)
_PERSON_DRAWS = 100  # a stock name twice in a row is already rare (Faker's data has few)

# System and service accounts (policy: not USERNAME).
SYSTEM_ACCOUNTS: tuple[str, ...] = (
    "root",
    "postgres",
    "www-data",
    "nobody",
    "admin",
    "ubuntu",
    "ec2-user",
    "daemon",
    "git",
    "mysql",
    "nginx",
    "jenkins",
    "administrator",
    "guest",
    "centos",
    "debian",
    "apache",
    "sa",
    "user",
    "test",
    "vagrant",
    "docker",
    "redis",
    "elastic",
    "oracle",
)
_SYSTEM_SET = frozenset(SYSTEM_ACCOUNTS)

# Well-known public DNS resolvers (policy: not IP_ADDRESS): Google, Cloudflare, Quad9, OpenDNS,
# Level3, AdGuard, as published by each operator.
PUBLIC_RESOLVERS: tuple[str, ...] = (
    "8.8.8.8",
    "8.8.4.4",
    "1.1.1.1",
    "1.0.0.1",
    "9.9.9.9",
    "149.112.112.112",
    "208.67.222.222",
    "208.67.220.220",
    "4.2.2.2",
    "4.2.2.1",
    "94.140.14.14",
    "2001:4860:4860::8888",
    "2001:4860:4860::8844",
    "2606:4700:4700::1111",
    "2606:4700:4700::1001",
    "2620:fe::fe",
)
_RESOLVER_SET = frozenset(PUBLIC_RESOLVERS)

# Address blocks that are never PII (RFC 1918, 5737, 3849, 6598, 3927, 4193, 4291, 5771).
NON_PUBLIC_NETS: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "192.0.2.0/24",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/24",
    "::1/128",
    "fe80::/64",
    "fd00::/8",
    "2001:db8::/32",
    "ff02::/120",
)
_DOC_V6 = ipaddress.ip_network("2001:db8::/32")
_6TO4_AND_TEREDO = (ipaddress.ip_network("2002::/16"), ipaddress.ip_network("2001::/32"))

# Vendors' documented example credentials (AWS docs) and placeholders (policy: not KEY/PASSWORD).
DOCUMENTED_EXAMPLE_KEYS: tuple[str, ...] = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)
KEY_PLACEHOLDERS: tuple[str, ...] = (
    "YOUR_API_KEY",
    "<your-api-key>",
    "<token>",
    "${API_TOKEN}",
    "{{ api_key }}",
    "xxxxxxxxxxxxxxxxxxxx",
    "your-secret-here",
    "REPLACE_ME",
    "<SECRET>",
    "$GITHUB_TOKEN",
    "%(secret_key)s",
    "XXXX-XXXX-XXXX",
    "<insert key here>",
    "${{ secrets.API_KEY }}",
)
PASSWORD_PLACEHOLDERS: tuple[str, ...] = (
    "<password>",
    "${DB_PASSWORD}",
    "********",
    "YOUR_PASSWORD",
    "{{ db_password }}",
    "<your-password>",
    "$PASSWORD",
    "%(password)s",
    "xxxxxx",
    "${POSTGRES_PASSWORD}",
)

ALGORITHM_NAMES: tuple[str, ...] = (
    "Dijkstra's algorithm",
    "Levenshtein distance",
    "Floyd-Warshall",
    "Bellman-Ford",
    "Knuth-Morris-Pratt",
    "Boyer-Moore",
    "Fisher-Yates shuffle",
    "Kruskal's algorithm",
    "Prim's algorithm",
    "Tarjan's algorithm",
    "Kalman filter",
    "Gaussian elimination",
    "Newton-Raphson iteration",
    "Runge-Kutta method",
    "Cholesky decomposition",
    "Hamming distance",
    "Jaccard similarity",
    "Pearson correlation",
    "Box-Muller transform",
    "Miller-Rabin test",
    "Euclid's algorithm",
    "Horner's method",
    "Simpson's rule",
    "Bresenham's line algorithm",
    "Huffman coding",
    "Lempel-Ziv-Welch",
    "Viterbi algorithm",
    "Smith-Waterman alignment",
    "Needleman-Wunsch",
    "Damerau-Levenshtein distance",
    "Sieve of Eratosthenes",
    "Karatsuba multiplication",
    "Strassen's algorithm",
    "Hopcroft-Karp",
    "Edmonds-Karp",
    "Ford-Fulkerson",
    "Gauss-Seidel iteration",
    "Cooley-Tukey FFT",
    "Bloom filter",
)
ALGORITHM_FUNCTIONS: tuple[str, ...] = (
    "smith_normal_form",
    "levenshtein_distance",
    "dijkstra_shortest_path",
    "floyd_warshall",
    "kruskal_mst",
    "hamming_weight",
    "box_muller",
    "gauss_seidel",
    "fisher_yates_shuffle",
    "cholesky_solve",
    "tarjan_scc",
    "huffman_encode",
    "viterbi_decode",
    "bresenham_line",
    "miller_rabin",
    "karatsuba",
    "jaccard_index",
    "pearson_r",
    "kalman_update",
)
NAMED_SOFTWARE: tuple[str, ...] = (
    "Pascal",
    "Haskell",
    "Ada",
    "Julia",
    "Hadoop",
    "Jenkins",
    "Kafka",
    "Cassandra",
    "Gauss",
    "Hypothesis",
    "Sphinx",
    "Django",
    "Flask",
    "Jinja",
    "Mercurial",
    "Gradle",
    "Ansible",
)
_WELL_KNOWN_ORGS: tuple[str, ...] = (
    "Google LLC",
    "Microsoft Corporation",
    "The Apache Software Foundation",
    "Mozilla Foundation",
    "Red Hat, Inc.",
    "Meta Platforms, Inc. and affiliates",
    "Python Software Foundation",
    "The Linux Foundation",
    "Amazon.com, Inc. or its affiliates",
    "JetBrains s.r.o.",
)
_PROJECT_WORDS: tuple[str, ...] = (
    "atlas",
    "borealis",
    "cinder",
    "drift",
    "ember",
    "fjord",
    "granite",
    "harbor",
    "ion",
    "juniper",
    "kestrel",
    "lumen",
    "magnet",
    "nimbus",
    "orbit",
    "pylon",
    "quartz",
    "rivet",
    "sable",
    "tundra",
    "umbra",
    "vertex",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
    "beacon",
    "cobalt",
    "delta",
    "falcon",
    "gizmo",
    "helix",
    "indigo",
    "jolt",
    "krypton",
    "lattice",
)
_SERVICE_HOSTS: tuple[str, ...] = (
    "db.internal",
    "cache.local",
    "api.{domain}",
    "smtp.{domain}",
    "mail.{domain}",
    "{project}-db.{domain}",
    "queue.{domain}",
    "ldap.{domain}",
)

_B64 = string.ascii_letters + string.digits + "+/"
_B64URL = string.ascii_letters + string.digits + "-_"
_ALNUM = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"
_BCRYPT = "./" + string.ascii_letters + string.digits
# Symbols a password may hold in any of the generator's quoting contexts (no quotes, backslash,
# '#', '$', '%', '&', '<', '>', '@', ':', '/', whitespace), and in a URL's user info.
_PASSWORD_SYMBOLS = "!*-_.+=~^"
_URL_PASSWORD_SYMBOLS = "!*-_.~"
_LEET = str.maketrans("aeios", "43105")
_PASSWORD_WORDS: tuple[str, ...] = (
    "sunshine",
    "dragon",
    "monkey",
    "shadow",
    "falcon",
    "tiger",
    "summer",
    "winter",
    "coffee",
    "banana",
    "rocket",
    "silver",
    "purple",
    "ginger",
    "pepper",
    "maple",
    "orange",
    "thunder",
    "cactus",
    "pirate",
    "walrus",
    "hammer",
    "violet",
    "kitten",
    "mango",
    "cobalt",
    "lizard",
)


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _b64url_json(obj: dict) -> str:
    """Compact JSON, base64url-encoded without padding (a JWT segment)."""
    return (
        base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )


def _ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits of a (romanised) name part."""
    return re.sub(r"[^a-z0-9]", "", unidecode(text).lower())


@dataclasses.dataclass(frozen=True)
class Person:
    """One synthetic person: the name as written, and handles derived from it."""

    name: str
    given: str
    locale: str
    username: str
    email: str


class ValueFactory:
    """Draws positive values and hard negatives. Faker instances are built once per locale."""

    def __init__(self) -> None:
        self._fakers: dict[str, Faker] = {}
        self._locales = [(loc, order) for loc, order, _ in NAME_LOCALES]
        self._locale_weights = [w for _, _, w in NAME_LOCALES]

    def faker(self, locale: str, rng: random.Random) -> Faker:
        """The locale's Faker, re-seeded from ``rng`` (so results depend only on ``rng``)."""
        if locale not in self._fakers:
            self._fakers[locale] = Faker(locale)
        fake = self._fakers[locale]
        fake.seed_instance(rng.getrandbits(64))
        return fake

    # -- people -------------------------------------------------------------------------------
    def person(self, rng: random.Random) -> Person:
        """A person from a weighted locale, never a stock placeholder name."""
        for _ in range(_PERSON_DRAWS):
            locale, order = rng.choices(self._locales, weights=self._locale_weights)[0]
            given, family = self._name_parts(locale, order, rng)
            name = self._written_name(given, family, order, rng)
            if name.casefold() not in _STOCK_KEYS:
                break
        else:
            raise RuntimeError(f"{_PERSON_DRAWS} draws of Faker names were all stock names")
        username = self.username_for(given, family, locale, rng)
        return Person(
            name=name,
            given=given,
            locale=locale,
            username=username,
            email=self._email_for(given, family, username, locale, rng),
        )

    def _name_parts(self, locale: str, order: str, rng: random.Random) -> tuple[str, str]:
        fake = self.faker(locale, rng)
        male = rng.random() < 0.5
        if order == "latin" and locale in ("zh_CN", "ja_JP"):
            given, family = fake.first_romanized_name(), fake.last_romanized_name()
        elif male:
            given, family = fake.first_name_male(), fake.last_name_male()
        else:
            given, family = fake.first_name_female(), fake.last_name_female()
        if order in ("latin", "latin-rev") and not given.isascii():
            given, family = unidecode(given).title(), unidecode(family).title()
        # U+2019 instead of an ASCII apostrophe (O'Brien, Дем'янчук) keeps names inside any quote.
        return given.replace("'", "\u2019"), family.replace("'", "\u2019")

    @staticmethod
    def _written_name(given: str, family: str, order: str, rng: random.Random) -> str:
        if order == "fg-tight":
            return family + given
        if order in ("fg", "latin-rev"):
            return f"{family} {given}"
        roll = rng.random()
        # Shares of "G. M. Family", "G. Family" and "Family, Given": chosen here, not measured.
        if roll < 0.08 and given[:1].isupper():
            return f"{given} {rng.choice(string.ascii_uppercase)}. {family}"
        if roll < 0.13 and given[:1].isupper():
            return f"{given[0]}. {family}"
        if roll < 0.18:
            return f"{family}, {given}"
        return f"{given} {family}"

    def username_for(self, given: str, family: str, locale: str, rng: random.Random) -> str:
        """A handle derived from the name (or Faker's for scripts that do not romanise well)."""
        g, f = _ascii_word(given), _ascii_word(family)
        if len(g) < 2 or len(f) < 2:
            base = re.sub(r"[^a-z0-9._-]", "", self.faker(locale, rng).user_name().lower())
        else:
            base = rng.choice(
                (
                    f"{g}{f}",
                    f"{g[0]}{f}",
                    f"{g}.{f}",
                    f"{g}_{f}",
                    f"{f}{g[0]}",
                    f"{g}-{f}",
                    f"{g}{f[0]}",
                    f"{g}",
                    f"{f}.{g}",
                    f"{g[:3]}{f[:3]}",
                )
            )
        if rng.random() < 0.3 or len(base) < 4:
            base += str(rng.choice((rng.randint(1, 99), rng.randint(1970, 2012))))
        if base in _SYSTEM_SET or len(base) < 3:
            base = f"{base}{rng.randint(100, 999)}"
        return base

    def _email_for(
        self, given: str, family: str, username: str, locale: str, rng: random.Random
    ) -> str:
        g, f = _ascii_word(given), _ascii_word(family)
        local = username
        if len(g) >= 2 and len(f) >= 2 and rng.random() < 0.5:
            local = rng.choice((f"{g}.{f}", f"{g[0]}{f}", f"{g}", f"{f}.{g}", f"{g}_{f}"))
        return f"{local}@{self.email_domain(locale, rng)}"

    def email_domain(self, locale: str, rng: random.Random) -> str:
        """A free-mail, company or university domain (never a reserved one)."""
        fake = self.faker(locale if rng.random() < 0.5 else "en_US", rng)
        roll = rng.random()
        if roll < 0.45:
            return fake.free_email_domain()
        if roll < 0.85:
            return fake.domain_name()
        return (
            f"{rng.choice(('cs', 'math', 'physics', 'mail', 'students'))}.{fake.domain_word()}.edu"
        )

    def obfuscated_email(self, email: str, rng: random.Random) -> str:
        """``jane at mail dot com`` and its bracketed and upper-case kin."""
        local, domain = email.split("@", 1)
        at, dot = rng.choice(
            (
                (" at ", " dot "),
                (" [at] ", " [dot] "),
                (" (at) ", " (dot) "),
                (" AT ", " DOT "),
                ("{at}", "{dot}"),
                (" at ", "."),
            )
        )
        return local + at + domain.replace(".", dot)

    # -- addresses -----------------------------------------------------------------------------
    @staticmethod
    def public_ipv4(rng: random.Random) -> str:
        """A random globally routable unicast IPv4 address, not a public resolver."""
        while True:
            address = ipaddress.IPv4Address(rng.getrandbits(32))
            if (
                address.is_global
                and not address.is_multicast
                and not address.is_reserved
                and str(address) not in _RESOLVER_SET
            ):
                return str(address)

    @staticmethod
    def public_ipv6(rng: random.Random) -> str:
        """A random global unicast IPv6 address (2000::/3), compressed form."""
        while True:
            address = ipaddress.IPv6Address((0b001 << 125) | rng.getrandbits(125))
            if rng.random() < 0.5:  # real addresses often have zero runs: a /64 and a small host
                address = ipaddress.IPv6Address((int(address) >> 64 << 64) | rng.getrandbits(16))
            if (
                address.is_global
                and address not in _DOC_V6
                and not any(address in net for net in _6TO4_AND_TEREDO)
                and str(address) not in _RESOLVER_SET
            ):
                return str(address)

    def public_ip(self, rng: random.Random) -> str:
        # IPv4 : IPv6 about 4 : 1, chosen here (IPv6 is rarer in code), not measured.
        return self.public_ipv6(rng) if rng.random() < 0.2 else self.public_ipv4(rng)

    # -- secrets -------------------------------------------------------------------------------
    @staticmethod
    def password(rng: random.Random, url_safe: bool = False) -> str:
        """A password in one of several human styles."""
        symbols = _URL_PASSWORD_SYMBOLS if url_safe else _PASSWORD_SYMBOLS
        style = rng.randrange(6)
        if style == 0:  # word + digits (+ symbol)
            word = rng.choice(_PASSWORD_WORDS)
            word = word.capitalize() if rng.random() < 0.5 else word
            tail = rng.choice(symbols) if rng.random() < 0.5 else ""
            return word + str(rng.randint(1, 2025)) + tail
        if style == 1:  # random printable
            return _chars(rng, _ALNUM + symbols, rng.randint(10, 20))
        if style == 2:  # passphrase
            return rng.choice("-_.").join(rng.sample(_PASSWORD_WORDS, rng.randint(3, 4)))
        if style == 3:  # leet-speak
            word = rng.choice(_PASSWORD_WORDS).translate(_LEET)
            return word.capitalize() + rng.choice(symbols) + str(rng.randint(10, 99))
        if style == 4:  # alphanumeric with case
            return _chars(rng, _ALNUM, rng.randint(8, 16))
        return rng.choice(_PASSWORD_WORDS) + rng.choice(symbols) + _chars(rng, _ALNUM, 4)

    @staticmethod
    def pem_private_key(rng: random.Random) -> str:
        """A private-key block with a random base64 body (lines joined by "\\n")."""
        kind = rng.choices(
            ("RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY"),
            weights=(2, 3, 3, 3),
        )[0]
        prefix, body_len, width = {
            "RSA PRIVATE KEY": ("MIIEpAIBAAKCAQEA", 1588, 64),
            "EC PRIVATE KEY": ("MHcCAQEEI", 220, 64),
            "PRIVATE KEY": ("MC4CAQAwBQYDK2VwBCIEI", 64, 64),
            "OPENSSH PRIVATE KEY": (
                "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
                396,
                70,
            ),
        }[kind]
        body = prefix + _chars(rng, _B64, body_len - len(prefix)) + rng.choice(("", "=", "=="))
        lines = [body[i : i + width] for i in range(0, len(body), width)]
        return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----"])

    @staticmethod
    def jwt(rng: random.Random) -> str:
        """A signed JWT with a plausible header and claims and a random signature."""
        alg = rng.choice(("HS256", "HS512", "RS256"))
        now = rng.randint(1_500_000_000, 1_750_000_000)
        claims = {
            "sub": str(rng.randint(1, 10**9)),
            "iat": now,
            "exp": now + rng.choice((900, 3600, 86400)),
        }
        if rng.random() < 0.5:
            claims["scope"] = rng.choice(("read", "read write", "admin", "user"))
        signature = _chars(rng, _B64URL, {"HS256": 43, "HS512": 86, "RS256": 342}[alg])
        header = {"alg": alg, "typ": "JWT"}
        return f"{_b64url_json(header)}.{_b64url_json(claims)}.{signature}"

    @staticmethod
    def provider_key(rng: random.Random, provider: str) -> str:
        """A token in a provider's published format, random characters."""
        if provider == "aws_id":
            return rng.choice(("AKIA", "AKIA", "ASIA")) + _chars(
                rng, string.ascii_uppercase + "234567", 16
            )
        if provider == "aws_secret":
            return _chars(rng, _B64, 40)
        if provider == "github":
            if rng.random() < 0.25:
                return "github_pat_" + _chars(rng, _ALNUM, 22) + "_" + _chars(rng, _ALNUM, 59)
            return rng.choice(("ghp_", "ghp_", "gho_", "ghs_", "ghu_")) + _chars(rng, _ALNUM, 36)
        if provider == "gitlab":
            return "glpat-" + _chars(rng, _B64URL, 20)
        if provider == "slack":
            team, user = _chars(rng, string.digits, 11), _chars(rng, string.digits, 13)
            if rng.random() < 0.5:
                return f"xoxb-{team}-{user}-{_chars(rng, _ALNUM, 24)}"
            return f"xoxp-{team}-{_chars(rng, string.digits, 11)}-{user}-{_chars(rng, _HEX, 32)}"
        if provider == "stripe":
            return rng.choice(("sk_live_", "rk_live_", "sk_test_")) + _chars(
                rng, _ALNUM, rng.choice((24, 99))
            )
        if provider == "google":
            return "AIza" + _chars(rng, _B64URL, 35)
        if provider == "openai":
            return rng.choice(("sk-", "sk-proj-")) + _chars(rng, _ALNUM, 48)
        if provider == "sendgrid":
            return "SG." + _chars(rng, _B64URL, 22) + "." + _chars(rng, _B64URL, 43)
        if provider == "twilio":
            return "SK" + _chars(rng, _HEX, 32)
        if provider == "npm":
            return "npm_" + _chars(rng, _ALNUM, 36)
        if provider == "mailgun":
            return "key-" + _chars(rng, _HEX, 32)
        if provider == "telegram":
            return f"{rng.randint(10**8, 10**10 - 1)}:AA{_chars(rng, _B64URL, 33)}"
        if provider == "hex":
            return _chars(rng, _HEX, 32)
        if provider == "azure":
            return _chars(rng, _B64, 86) + "=="
        if provider == "generic":
            return rng.choice(
                (
                    lambda: _chars(rng, _HEX, rng.choice((32, 40, 64))),
                    lambda: _chars(rng, _B64, rng.choice((32, 44))) + rng.choice(("", "=")),
                    lambda: _chars(rng, _ALNUM, rng.randint(24, 48)),
                    lambda: _chars(rng, string.ascii_lowercase + string.digits + "!^*(-_=+)", 50),
                )
            )()
        if provider == "jwt":
            return ValueFactory.jwt(rng)
        if provider == "pem":
            return ValueFactory.pem_private_key(rng)
        raise ValueError(f"unknown key provider {provider!r}")

    # -- hard negatives ------------------------------------------------------------------------
    def negative(self, kind: str, rng: random.Random) -> str:
        """A value of one hard-negative kind (see NEGATIVE_KINDS; env look-ups excluded)."""
        try:
            draw = _NEGATIVE_DRAWS[kind]
        except KeyError:
            raise ValueError(f"unknown hard-negative kind {kind!r}") from None
        return draw(self, rng)

    def organisation(self, rng: random.Random) -> str:
        roll = rng.random()
        project = rng.choice(_PROJECT_WORDS).capitalize()
        if roll < 0.3:
            return self.faker(
                rng.choice(("en_US", "de_DE", "fr_FR", "es_ES", "it_IT")), rng
            ).company()
        if roll < 0.5:
            return rng.choice(_WELL_KNOWN_ORGS)
        return rng.choice(
            (
                f"The {project} Authors",
                f"{project} contributors",
                f"{project} Labs, Inc.",
                f"{project} Technologies GmbH",
                f"the {project} project developers",
                f"{project} Software Foundation",
            )
        )

    def filler(self, kind: str, rng: random.Random) -> str:
        """A value that is neither PII nor a hard negative (years, ports, domains, ...)."""
        if kind == "year":
            return str(rng.randint(1995, 2025))
        if kind == "num":
            return str(rng.randint(2, 9999))
        if kind == "port":
            return str(
                rng.choice((22, 80, 443, 3306, 5432, 6379, 8000, 8080, 8443, 9000, 27017, 5672))
            )
        if kind == "project":
            return rng.choice(_PROJECT_WORDS)
        if kind == "domain":
            return self.faker("en_US", rng).domain_name()
        if kind == "host":
            return rng.choice(_SERVICE_HOSTS).format(
                domain=self.filler("domain", rng), project=self.filler("project", rng)
            )
        if kind == "semver":
            return f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        if kind == "date":
            return f"{rng.randint(2015, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if kind == "time":
            return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        if kind == "word":
            return rng.choice(
                (
                    "cache",
                    "worker",
                    "scheduler",
                    "auth",
                    "billing",
                    "search",
                    "api",
                    "sync",
                    "export",
                    "import",
                    "report",
                    "ingest",
                    "mailer",
                    "queue",
                )
            )
        if kind == "years":
            first = rng.randint(1995, 2022)
            return f"{first}-{rng.randint(first + 1, 2025)}"
        if kind == "go_module":
            return f"github.com/{rng.choice(_PROJECT_WORDS)}/{rng.choice(_PROJECT_WORDS)}"
        raise ValueError(f"unknown filler kind {kind!r}")


def _private_ip(_: ValueFactory, rng: random.Random) -> str:
    net = ipaddress.ip_network(rng.choice(NON_PUBLIC_NETS))
    if net.num_addresses <= 2:
        return str(net.network_address)
    return str(net.network_address + rng.randrange(1, min(net.num_addresses - 1, 2**32)))


def _reserved_email(factory: ValueFactory, rng: random.Random) -> str:
    local = rng.choice(
        (
            "jane",
            "john.doe",
            "user",
            "test",
            "alice",
            "bob",
            "noreply",
            "admin",
            "someone",
            "foo",
            "me",
            "support",
            "dev",
        )
    )
    project = factory.filler("project", rng)
    domain = rng.choice(
        (
            "example.com",
            "example.org",
            "example.net",
            "mail.example.com",
            f"{project}.example",
            f"{project}.test",
            f"{project}.invalid",
            "localhost",
            "test.invalid",
        )
    )
    return f"{local}@{domain}"


def _git_remote(factory: ValueFactory, rng: random.Random) -> str:
    host = rng.choice(("github.com", "gitlab.com", "bitbucket.org", "codeberg.org"))
    return f"git@{host}:{factory.filler('project', rng)}/{factory.filler('project', rng)}.git"


def _package_spec(factory: ValueFactory, rng: random.Random) -> str:
    project, semver = factory.filler("project", rng), factory.filler("semver", rng)
    return rng.choice(
        (
            f"{project}@{semver}",
            f"@{factory.filler('project', rng)}/{project}@^{semver}",
            f"{project}@latest",
            f"{project}-cli@~{semver}",
        )
    )


def _oid(_: ValueFactory, rng: random.Random) -> str:
    return rng.choice(
        (
            f"1.3.6.1.4.1.{rng.randint(1000, 60000)}.{rng.randint(1, 20)}.{rng.randint(1, 9)}",
            f"2.5.4.{rng.randint(3, 12)}",
            "1.2.840.113549.1.1.11",
            "1.2.840.10045.4.3.2",
            f"1.3.6.1.2.1.{rng.randint(1, 30)}.{rng.randint(1, 9)}.0",
        )
    )


def _ssh_public_key(_: ValueFactory, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + _chars(rng, _B64, 47)
    return "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + _chars(rng, _B64, 338) + "="


def _certificate(_: ValueFactory, rng: random.Random) -> str:
    kind = rng.choice(("CERTIFICATE", "CERTIFICATE", "PUBLIC KEY"))
    head = "MIIDdzCCAl+gAwIBAgIE" if kind == "CERTIFICATE" else "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"
    body = head + _chars(rng, _B64, rng.choice((300, 420)))
    return "\n".join(
        [
            f"-----BEGIN {kind}-----",
            *(body[i : i + 64] for i in range(0, len(body), 64)),
            f"-----END {kind}-----",
        ]
    )


_NEGATIVE_DRAWS = {
    "reserved_email": _reserved_email,
    "git_remote": _git_remote,
    "package_spec": _package_spec,
    "asset_name": lambda f, rng: rng.choice(
        (
            f"{f.filler('project', rng)}-logo@2x.png",
            f"icon-{f.filler('word', rng)}@3x.webp",
            "banner@2x.jpg",
        )
    ),
    "non_public_ip": _private_ip,
    "public_resolver": lambda f, rng: rng.choice(PUBLIC_RESOLVERS),
    "version4": lambda f, rng: ".".join(str(rng.randint(0, 20)) for _ in range(4)),
    "oid": _oid,
    "git_sha": lambda f, rng: _chars(rng, _HEX, rng.choice((40, 40, 7, 12))),
    "sha256_digest": lambda f, rng: _chars(rng, _HEX, 64),
    "md5_digest": lambda f, rng: _chars(rng, _HEX, 32),
    "uuid": lambda f, rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "bcrypt": lambda f, rng: (
        f"$2{rng.choice('aby')}${rng.choice((10, 12))}$" + _chars(rng, _BCRYPT, 53)
    ),
    "sri_hash": lambda f, rng: rng.choice(
        (f"sha384-{_chars(rng, _B64, 64)}", f"sha512-{_chars(rng, _B64, 86)}==")
    ),
    "gosum_hash": lambda f, rng: f"h1:{_chars(rng, _B64, 43)}=",
    "ssh_public_key": _ssh_public_key,
    "certificate": _certificate,
    "ci_encrypted": lambda f, rng: _chars(rng, _B64, 340) + "==",
    "data_uri": lambda f, rng: (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA" + _chars(rng, _B64, rng.randint(60, 200))
    ),
    "documented_example_key": lambda f, rng: rng.choice(DOCUMENTED_EXAMPLE_KEYS),
    "key_placeholder": lambda f, rng: rng.choice(KEY_PLACEHOLDERS),
    "password_placeholder": lambda f, rng: rng.choice(PASSWORD_PLACEHOLDERS),
    "empty_value": lambda f, rng: "",
    "system_account": lambda f, rng: rng.choice(SYSTEM_ACCOUNTS),
    "organisation": lambda f, rng: f.organisation(rng),
    "algorithm_name": lambda f, rng: rng.choice(ALGORITHM_NAMES),
    "algorithm_function": lambda f, rng: rng.choice(ALGORITHM_FUNCTIONS),
    "software_name": lambda f, rng: rng.choice(NAMED_SOFTWARE),
    "stock_name": lambda f, rng: rng.choice(STOCK_NAMES),
}
# Environment look-ups (os.environ["X"], process.env.X, ${X}) are written by the renderer, which
# knows the host's syntax; they are hard negatives of this kind.
ENV_LOOKUP = "env_lookup"
NEGATIVE_KINDS: tuple[str, ...] = tuple(sorted([*_NEGATIVE_DRAWS, ENV_LOOKUP]))
FILLER_KINDS: tuple[str, ...] = (
    "year",
    "years",
    "num",
    "port",
    "project",
    "domain",
    "host",
    "semver",
    "date",
    "time",
    "word",
    "go_module",
)

# The entity a positive slot's value carries.
SLOT_LABELS: dict[str, str] = {
    "NAME": NAME,
    "GIVEN": NAME,
    "EMAIL": EMAIL,
    "EMAIL_OBF": EMAIL,
    "USERNAME": USERNAME,
    "IP": IP_ADDRESS,
    "IPV4": IP_ADDRESS,
    "IPV6": IP_ADDRESS,
    "PASSWORD": PASSWORD,
    "PASSWORD_URL": PASSWORD,
    **{
        f"KEY_{p.upper()}": KEY
        for p in (
            "aws_id",
            "aws_secret",
            "github",
            "gitlab",
            "slack",
            "stripe",
            "google",
            "openai",
            "sendgrid",
            "twilio",
            "npm",
            "mailgun",
            "telegram",
            "azure",
            "hex",
            "generic",
            "jwt",
            "pem",
        )
    },
    "KEY": KEY,
}
# Providers drawn for a bare KEY slot, with weights: chosen here so that the frequent real-world
# formats (AWS, GitHub, generic hex/base64, JWT) dominate; not measured.
KEY_PROVIDERS: tuple[tuple[str, int], ...] = (
    ("aws_id", 3),
    ("aws_secret", 2),
    ("github", 4),
    ("gitlab", 1),
    ("slack", 2),
    ("stripe", 2),
    ("google", 3),
    ("openai", 2),
    ("sendgrid", 1),
    ("twilio", 1),
    ("npm", 1),
    ("mailgun", 1),
    ("telegram", 1),
    ("generic", 6),
    ("jwt", 3),
    ("pem", 1),
)

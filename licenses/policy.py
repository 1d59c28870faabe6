"""The licence policy: which SPDX expressions are permissive, and the stage that applies it.

:func:`classify` reads an SPDX expression with ``license_expression`` and decides:

- no expression, or only non-licence amendments (:data:`NEUTRAL_IDS`) → ``no_license``;
- ``A AND B``: permissive only if every part is (amendments left aside);
- ``A OR B``: permissive if at least one alternative is (the licensee may choose it);
- ``A WITH exception``: permissive only if ``A`` is (an exception only adds permissions);
- an id on the allow-list (``licenses/permissive.txt``) is permissive; an id not on it takes the
  class of its category in ScanCode's licence database (:data:`CATEGORY_CLASSES`); an unknown id
  or an expression that does not parse → ``non_permissive``: when in doubt, keep it out.

:class:`LicensePolicyStage` keeps the configured classes. It sees a repository's records
together (BY_KEY ``repo``), so that an issue, which carries no file licence, takes its
repository's (``licenses.issue_license = "repository"``): the licence of the repository's root,
read off its file records in the same build (the input manifest's licence, or the decision of
the root's licence files that every file without a closer one carries). A repository with no
such record in the build gives its issues ``no_license``, its ``details`` saying why.
"""
from __future__ import annotations

import functools
from importlib import resources
from typing import Iterable, Iterator

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
)

import pyarrow as pa

from pipeline.config import LicenseConfig
from pipeline.ingest.issues import KIND as ISSUE_KIND
from pipeline.reasons import Reason, exclude
from pipeline.schema import to_batch
from pipeline.stage import Partitioning, Stage

# Amendments that do not change a licence's type: contributor agreements, trademark and
# export notices, warranty disclaimers. The Stack v2's list ("non_license_whitelist" in
# bigcode-project/the-stack-v2, the_stack/3_file_dataset/get_license_types.py).
NEUTRAL_IDS = frozenset(
    i.lower()
    for i in (
        "LicenseRef-scancode-dco-1.1",
        "LicenseRef-scancode-generic-cla",
        "LicenseRef-scancode-google-cla",
        "LicenseRef-scancode-jetty-ccla-1.1",
        "LicenseRef-scancode-newton-king-cla",
        "LicenseRef-scancode-generic-exception",
        "LicenseRef-scancode-generic-export-compliance",
        "LicenseRef-scancode-generic-tos",
        "LicenseRef-scancode-generic-trademark",
        "LicenseRef-scancode-warranty-disclaimer",
    )
)

# One parser of licence expressions for the package (ids of any spelling: ScanCode's SPDX
# symbols map them).
LICENSING = Licensing()

# ScanCode's licence categories (the ``category`` of each licence in scancode-toolkit's
# licence database) and the class an id outside the allow-list takes from its category. Only
# permissive and public-domain texts keep code; every other category, and an id ScanCode does
# not know, is non-permissive (issue 10).
CATEGORY_CLASSES = {
    "Permissive": "permissive",
    "Public Domain": "permissive",
    "Copyleft": "non_permissive",
    "Copyleft Limited": "non_permissive",
    "Proprietary Free": "non_permissive",
    "Commercial": "non_permissive",
    "Source-available": "non_permissive",
    "Patent License": "non_permissive",
    "Free Restricted": "non_permissive",
    "CLA": "non_permissive",
    "Unstated License": "non_permissive",
}


@functools.cache
def permissive_ids() -> frozenset[str]:
    """The allow-list (lowercased SPDX / LicenseRef ids) from ``licenses/permissive.txt``."""
    text = resources.files("licenses").joinpath("permissive.txt").read_text(encoding="utf-8")
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(i.lower() for i in ids if i)


@functools.cache
def scancode_categories() -> dict[str, str]:
    """Lowercased SPDX id and ``LicenseRef-scancode-`` id -> ScanCode category, from the
    installed scancode-toolkit's licence database (loaded with its index: free where the
    index is loaded already, as in the ingest stage)."""
    from licensedcode.cache import get_licenses_db

    categories: dict[str, str] = {}
    for key, licence in sorted(get_licenses_db().items()):
        ids = [f"licenseref-scancode-{key}", licence.spdx_license_key or "",
               *(licence.other_spdx_license_keys or ())]
        for spdx_id in ids:
            if spdx_id:
                categories.setdefault(spdx_id.lower(), licence.category)
    return categories


def is_permissive_id(key: str) -> bool:
    """Whether a licence id (lowercase) is permissive: on the allow-list, else by the class of
    its ScanCode category."""
    if key in permissive_ids():
        return True
    return CATEGORY_CLASSES.get(scancode_categories().get(key, ""), "non_permissive") == "permissive"


# The ScanCode categories of free licences. Free licence texts name other free licences in
# passing (the Python licence's GPL-compatibility table, MPL-2.0's "Secondary Licenses"), so a
# short match of one of them beside a full licence text is a mention. No free licence text
# names proprietary, commercial or unknown terms in passing: ScanCode's rules for those (1,415
# proprietary-license and commercial-license rules in scancode-toolkit 32.5, most of them
# notices of 5 to 30 tokens: "This is commercial software", "provided for non-commercial
# use only") match the terms a file itself sets (issue 10: a vendor's terms of service that
# quote MIT and BSD notices lost their 4-token commercial notice as a mention).
FREE_CATEGORIES = frozenset({"Permissive", "Public Domain", "Copyleft", "Copyleft Limited"})
# ScanCode's pointer to another file ("see the LICENSE file"): no terms of its own.
UNKNOWN_REFERENCE = "LicenseRef-scancode-unknown-license-reference"


def _sets_unfree_terms(key: str) -> bool:
    if key in NEUTRAL_IDS or key in permissive_ids() or key == UNKNOWN_REFERENCE.lower():
        return False
    return scancode_categories().get(key) not in FREE_CATEGORIES


@functools.lru_cache(maxsize=65_536)
def names_unfree_terms(expression: str) -> bool:
    """Whether a non-permissive expression names proprietary, commercial, source-available,
    restricted, unstated or unknown terms (an id outside :data:`FREE_CATEGORIES`, the
    allow-list and the amendments); an expression whose OR offers a permissive choice does
    not (the licensee may take that choice)."""
    if classify(expression) != "non_permissive":
        return False
    try:
        symbols = LICENSING.license_symbols(expression, decompose=True)
    except ExpressionError:
        return True
    return any(_sets_unfree_terms(symbol.key.lower()) for symbol in symbols)


def _permissive(node) -> bool | None:
    """True/False for a licence (sub)expression; None when it holds only amendments."""
    if isinstance(node, LicenseWithExceptionSymbol):
        return _permissive(node.license_symbol)
    if isinstance(node, LicenseSymbol):
        key = node.key.lower()
        if key in NEUTRAL_IDS:
            return None
        return is_permissive_id(key)
    verdicts = [v for v in (_permissive(arg) for arg in node.args) if v is not None]
    if not verdicts:
        return None
    if isinstance(node, AND):
        return all(verdicts)
    if isinstance(node, OR):
        return any(verdicts)
    raise ValueError(f"unexpected licence expression node: {node!r}")


@functools.lru_cache(maxsize=65_536)
def classify(expression: str | None) -> str:
    """``permissive`` | ``no_license`` | ``non_permissive`` for an SPDX expression."""
    if expression is None or not expression.strip():
        return "no_license"
    try:
        parsed = LICENSING.parse(expression)
    except ExpressionError:
        return "non_permissive"
    if parsed is None:
        return "no_license"
    verdict = _permissive(parsed)
    if verdict is None:
        return "no_license"
    return "permissive" if verdict else "non_permissive"


def combine_and(expressions) -> str | None:
    """AND of the distinct expressions, sorted (deterministic); None when there are none."""
    distinct = sorted({e for e in expressions if e})
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    return " AND ".join(e if " " not in e else f"({e})" for e in distinct)


ISSUE_LICENSES = ("repository", "none")  # the values of LicenseConfig.issue_license


def _is_root_licence(record: dict) -> bool:
    """Whether ``record`` carries its repository's root licence: the manifest's, or that of
    licence files at the root."""
    source = record.get("license_source")
    return record["kind"] != ISSUE_KIND and source is not None and (
        source == "metadata" or all("/" not in path for path in source.split(";")))


def repository_licences(records: Iterable[dict]) -> dict[str, dict]:
    """Repository -> the licence fields its issues take: those of a record carrying the root's
    licence (all such records of a repository agree); ``no_license`` with a ``details`` note
    for a repository that has records but none of them does."""
    found: dict[str, dict] = {}
    for record in records:
        if record["kind"] == ISSUE_KIND or found.get(record["repo"], {}).get("license_source"):
            continue
        found[record["repo"]] = ({field: record[field] for field in
                                  ("license", "license_class", "license_source")}
                                 if _is_root_licence(record) else
                                 {"license_class": "no_license", "license_source": None})
    return found


class LicensePolicyStage(Stage):
    """Excludes records whose ``license_class`` is not kept by the config, after giving each
    issue its repository's licence (see the module docstring)."""

    name = "licenses"
    config_sections = ("licenses",)
    code = ("licenses", "pipeline.reasons")
    reasons = (Reason.NON_PERMISSIVE, Reason.NO_LICENSE)
    partitioning = Partitioning.BY_KEY
    key = "repo"

    def __init__(self, config: LicenseConfig):
        if config.issue_license not in ISSUE_LICENSES:
            raise ValueError(f"licenses.issue_license must be one of {list(ISSUE_LICENSES)}, "
                             f"got {config.issue_license!r}")
        self.config = config

    def process_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """``process`` over whole repositories: batches come sorted by repository, so the rows
        are cut where a repository ends, every ``batch_size`` rows or so."""
        pending: list[dict] = []
        for batch in batches:
            pending += batch.to_pylist()
            if len(pending) >= self.resources.batch_size:
                cut = len(pending)
                while cut and pending[cut - 1]["repo"] == pending[-1]["repo"]:
                    cut -= 1
                if cut:
                    yield to_batch(self.process(pending[:cut]))
                    pending = pending[cut:]
        if pending:
            yield to_batch(self.process(pending))

    def process(self, records: list[dict]) -> list[dict]:
        """``records``: every record of each of their repositories."""
        licences = repository_licences(records)
        out = []
        for record in records:
            details: dict[str, object] = {}
            if record["kind"] == ISSUE_KIND:
                if self.config.issue_license == "none":
                    out.append(record)
                    continue
                record = {**record, "license": None, "license_source": None,
                          **licences.get(record["repo"], {"license_class": "no_license"})}
                if record["license_source"] is None:
                    details["issue_license"] = (
                        "no file of the repository in the build" if record["repo"] not in
                        licences else "no licence at the repository's root")
            license_class = record.get("license_class") or "no_license"
            if license_class not in self.config.keep_classes:
                reason = (Reason.NO_LICENSE if license_class == "no_license"
                          else Reason.NON_PERMISSIVE)
                record = exclude(record, reason, self.name, license=record.get("license"),
                                 license_source=record.get("license_source"), **details)
            out.append(record)
        return out

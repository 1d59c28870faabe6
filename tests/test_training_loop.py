"""curate train on a tiny release, CPU: exact resume, falling loss, a checkpoint transformers
loads (issue 13)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from training_release import write_release

from jobs.cli import main
from training.config import DataConfig, load_train_config
from training.loop import latest_checkpoint, lr_factor, train

CONFIG = dataclasses.replace(
    load_train_config("tiny"), steps=8, batch_size=2, warmup_steps=2, checkpoint_every=4,
    eval_every=4, log_every=4, data=DataConfig(seq_len=64, shuffle_buffer=16,
                                               heldout_fraction=0.1))


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return write_release(tmp_path_factory.mktemp("release"))


def _losses(out: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {row["step"]: row["loss"] for row in rows if "loss" in row}


def test_schedule_warms_up_then_decays_to_min_lr():
    config = load_train_config("small")
    factors = [lr_factor(step, config) for step in range(config.steps)]
    assert factors[0] == pytest.approx(1 / config.warmup_steps)
    assert factors[config.warmup_steps] == pytest.approx(1.0)
    assert factors[-1] == pytest.approx(config.min_lr / config.lr, rel=0.01)
    assert all(a >= b for a, b in zip(factors[config.warmup_steps:],
                                      factors[config.warmup_steps + 1:]))


def test_resume_gives_the_same_batches_and_losses_as_an_uninterrupted_run(release, tmp_path):
    whole = train(release, tmp_path / "whole", CONFIG, device="cpu")
    interrupted = train(release, tmp_path / "parts", CONFIG, device="cpu", stop_at=4)
    assert interrupted["step"] == 4 and "samples" not in interrupted
    resumed = train(release, tmp_path / "parts", CONFIG, device="cpu", resume=True)
    assert resumed["step"] == whole["step"] == 8
    assert _losses(tmp_path / "parts") == _losses(tmp_path / "whole")
    assert resumed["heldout"] == whole["heldout"]
    weights = [torch.load(latest_checkpoint(tmp_path / name) / "trainer.pt")["optimizer"]
               for name in ("whole", "parts")]
    assert all(torch.equal(a["exp_avg"], b["exp_avg"])
               for a, b in zip(weights[0]["state"].values(), weights[1]["state"].values()))


def test_loss_falls_and_the_checkpoint_loads_and_generates(release, tmp_path, capsys):
    out = tmp_path / "run"
    config = tmp_path / "train.toml"
    config.write_text('preset = "tiny"\neval_every = 10\n[data]\nheldout_fraction = 0.1\n')
    assert main(["train", "--release", str(release), "--out", str(out), "--config", str(config),
                 "--device", "cpu", "--max-steps", "20"]) == 0
    printed = capsys.readouterr()
    assert "--- completion sample ---" in printed.out and "--- infill sample ---" in printed.out
    assert "tokens/s ETA" in printed.err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [row["loss"] for row in rows if "loss" in row]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5
    heldout = [row["heldout"] for row in rows if "heldout" in row]
    assert [row["step"] for row in rows if "heldout" in row] == [0, 10, 20]
    assert set(heldout[-1]) == {"go", "javascript", "python"}
    assert all(heldout[-1][k] < heldout[0][k] for k in heldout[-1])
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    from transformers import AutoModelForCausalLM, AutoTokenizer

    checkpoint = latest_checkpoint(out)
    assert (checkpoint / "model.safetensors").is_file()
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint))
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    assert model.config.model_type == "gpt_bigcode" and model.config.multi_query
    prompt = tokenizer("def add_3(a, b):\n", return_tensors="pt")
    output = model.generate(**prompt, max_new_tokens=8, do_sample=False,
                            pad_token_id=tokenizer.eos_token_id)
    assert output.shape[1] > prompt["input_ids"].shape[1]

"""StarCoder's architecture: GPTBigCode with multi-query attention, built from a config (no
download)."""
from __future__ import annotations

from transformers import GPTBigCodeConfig, GPTBigCodeForCausalLM

from training.config import ModelConfig
from training.tokenizer import SPECIAL_TOKENS

EOS_ID = SPECIAL_TOKENS.index("<|endoftext|>")


def model_config(config: ModelConfig, vocab_size: int) -> GPTBigCodeConfig:
    """GPTBigCode as StarCoder: multi-query attention, learned absolute positions, a 4x MLP
    with tanh-approximated GELU (Li et al. 2023, §5.2; bigcode/starcoder config.json)."""
    return GPTBigCodeConfig(
        vocab_size=vocab_size, n_positions=config.n_positions, n_embd=config.n_embd,
        n_layer=config.n_layer, n_head=config.n_head, n_inner=4 * config.n_embd,
        multi_query=True, activation_function="gelu_pytorch_tanh",
        resid_pdrop=config.dropout, embd_pdrop=config.dropout, attn_pdrop=config.dropout,
        bos_token_id=EOS_ID, eos_token_id=EOS_ID, pad_token_id=EOS_ID)


def build_model(config: ModelConfig, vocab_size: int) -> GPTBigCodeForCausalLM:
    """A freshly initialised model (seed torch first for the same weights)."""
    return GPTBigCodeForCausalLM(model_config(config, vocab_size))


def parameter_count(model) -> int:
    return sum(parameter.numel() for parameter in model.parameters())

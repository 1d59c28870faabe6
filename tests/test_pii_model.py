"""The NER encoder: tokenizer offsets, MLM pretraining, fine-tuning, windowed batched inference,
foreign label maps, and the Presidio recognizer. Tiny models on generated data, CPU, one thread."""
from __future__ import annotations

import copy
import dataclasses
import json
import random
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from transformers import (
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForTokenClassification,
)

from pii.entities import ENTITIES, Span
from pii.labelled import read_labelled
from pii.model import SIZES, NerModel, finetune, pretrain, resolve_size
from pii.model.labels import (
    Tag,
    bio_labels,
    decode_spans,
    parse_label_map,
    spans_to_tags,
)
from pii.model.pretrain import mask_tokens, masked_lm_loss, pack_windows
from pii.model.recognizer import NerRecognizer
from pii.model.runtime import resolve_device
from pii.model.sizes import ModelSize, bert_config
from pii.model.tokenizer import encode_with_offsets, train_tokenizer
from pii.model.training import save_checkpoint
from pii.model.windows import plan_windows, window_starts

THREADS = 1  # the test machine is shared
WORDS = ["def", "return", "self", "value", "import", "print", "for", "in", "if", "else", "data",
         "x", "=", "1", "()", "{", "}", "函数", "变量", "🎉", "naïve", "Ωmega", "日本語"]
NON_ASCII = "名前 = '山田太郎'  # 🎉 emoji, naïve café\r\n\tΩ≈ç√ 𝔘𝔫𝔦 end"
PATTERN = "kim@mail.dev"  # the one entity the windowing model is overfitted to


def _code_texts(rng: random.Random, count: int) -> list[str]:
    def lines() -> str:
        return "\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 9)))
                         for _ in range(rng.randint(3, 20)))
    return [lines() for _ in range(count)]


def _write_jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
                    encoding="utf-8")


def _labelled_records(rng: random.Random, count: int) -> list[dict]:
    """Code-like documents with all six entities at known offsets."""
    def value(label: str) -> str:
        letters = "abcdefghijklmnopqrstuvwxyz"
        def word(n: int) -> str:
            return "".join(rng.choice(letters) for _ in range(n))
        return {"EMAIL": lambda: f"{word(5)}@{word(4)}.org",
                "NAME": lambda: f"{word(5).title()} {word(7).title()}",
                "KEY": lambda: "".join(rng.choice(letters.upper() + "0123456789") for _ in range(24)),
                "PASSWORD": lambda: word(6) + str(rng.randint(10, 99)) + "!",
                "USERNAME": lambda: "@" + word(6),
                "IP_ADDRESS": lambda: ".".join(str(rng.randint(11, 220)) for _ in range(4))}[label]()
    templates = {"EMAIL": "# mail: {}\n", "NAME": "# Author: {}\n", "KEY": "API_KEY = '{}'\n",
                 "PASSWORD": "password = \"{}\"\n", "USERNAME": "# thanks {} for the fix\n",
                 "IP_ADDRESS": "host = '{}'\n"}
    records = []
    for index in range(count):
        text, spans = "", []
        for _ in range(rng.randint(2, 6)):
            if rng.random() < 0.5:
                text += " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))) + "\n"
                continue
            label = rng.choice(ENTITIES)
            before, after = templates[label].split("{}")
            entity = value(label)
            text += before
            spans.append({"start": len(text), "end": len(text) + len(entity), "label": label})
            text += entity + after
        records.append({"id": f"doc{index}", "text": text, "spans": spans})
    return records


def _pattern_text(rng: random.Random, words: int, pattern_every: int) -> tuple[str, list[Span]]:
    """Filler words (non-ASCII among them) with PATTERN at random places, never two in a row."""
    text, spans, since = "", [], pattern_every
    for _ in range(words):
        text += rng.choice([" ", " ", "\n"]) if text else ""
        if since >= 2 and rng.random() < 1 / pattern_every:
            spans.append(Span(len(text), len(text) + len(PATTERN), "EMAIL", detector="ner"))
            text += PATTERN
            since = 0
        else:
            text += rng.choice(WORDS)
            since += 1
    return text, spans


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """A tiny encoder pretrained with MLM from Parquet shards, and its log."""
    shards = tmp_path_factory.mktemp("shards")
    texts = _code_texts(random.Random(1), 240)
    for part, chunk in enumerate((texts[:120], texts[120:])):
        (shards / f"lang{part}").mkdir()
        pq.write_table(pa.table({"content": chunk + [""], "path": [f"f{i}" for i in range(len(chunk) + 1)]}),
                       shards / f"lang{part}" / "part-00000.parquet")
    out = tmp_path_factory.mktemp("pretrained")
    log = pretrain(shards, out, size="tiny", steps=40, batch_size=8, seq_len=64, lr=2e-3, seed=0,
                   threads=THREADS, device="cpu", log_every=5)
    return out, log, texts


@pytest.fixture(scope="module")
def pattern_model(tmp_path_factory):
    """A tiny model fine-tuned (no pretraining) until it tags PATTERN, with 32-token windows."""
    rng = random.Random(2)
    records = []
    for index in range(160):
        text, spans = _pattern_text(rng, rng.randint(8, 24), pattern_every=6)
        records.append({"id": str(index), "text": text,
                        "spans": [{"start": s.start, "end": s.end, "label": s.label} for s in spans]})
    data = tmp_path_factory.mktemp("pattern") / "train.jsonl"
    _write_jsonl(data, records)
    out = tmp_path_factory.mktemp("pattern_model")
    log = finetune(data, out, size="tiny", steps=150, batch_size=16, max_len=32, lr=3e-3, seed=0,
                   threads=THREADS, device="cpu", log_every=10)
    return out, log


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    yield
    torch.set_num_threads(before)


# --- tokenizer -------------------------------------------------------------------------------

def test_tokenizer_gives_exact_character_offsets_for_non_ascii_text(tmp_path):
    tokenizer = train_tokenizer(_code_texts(random.Random(0), 50) + [NON_ASCII], vocab_size=400)
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path, local_files_only=True)
    (ids,), (offsets,) = encode_with_offsets(loaded, [NON_ASCII])
    assert (ids, offsets) == tuple(x[0] for x in encode_with_offsets(tokenizer, [NON_ASCII]))
    # the Rust tokenizer's own batch gives what transformers' call gives
    texts = [NON_ASCII, "", "# by Ada <ada@mail.org>\n\tx = 1"]
    through_transformers = loaded(texts, add_special_tokens=False, return_offsets_mapping=True)
    assert encode_with_offsets(loaded, texts) == (through_transformers["input_ids"], [
        [tuple(pair) for pair in mapping] for mapping in through_transformers["offset_mapping"]])
    assert len(ids) > len(NON_ASCII) / 3  # multi-byte characters are split into byte tokens
    # tokens sharing one offset pair hold exactly the bytes of that stretch of text
    covered = []
    for start, end in sorted(set(offsets)):
        group = [token for token, offset in zip(ids, offsets) if offset == (start, end)]
        assert loaded.decode(group) == NON_ASCII[start:end]
        covered.extend(range(start, end))
    assert covered == list(range(len(NON_ASCII)))
    framed = loaded(NON_ASCII)["input_ids"]
    assert framed[0] == loaded.cls_token_id and framed[-1] == loaded.sep_token_id


def test_tokenizer_rejects_a_vocabulary_without_merges():
    with pytest.raises(ValueError, match="no room for merges"):
        train_tokenizer(["x"], vocab_size=200)


# --- sizes -----------------------------------------------------------------------------------

def test_sizes_table_and_shapes():
    base = SIZES["base"]
    assert (base.layers, base.hidden, base.heads, base.ffn) == (12, 768, 12, 3072)  # StarEncoder
    custom = resolve_size("3x192")
    assert (custom.layers, custom.hidden, custom.heads, custom.ffn) == (3, 192, 3, 768)
    assert resolve_size(SIZES["tiny"]) is SIZES["tiny"]
    for bad in ("huge", "3x100", "x"):
        with pytest.raises(ValueError):
            resolve_size(bad)
    with pytest.raises(ValueError, match="multiple of heads"):
        ModelSize("odd", layers=1, hidden=65, heads=2, ffn=4, vocab_size=300)
    small = SIZES["small"]
    config = bert_config(small, small.vocab_size, 0, id2label=dict(enumerate(bio_labels())))
    params = sum(p.numel() for p in BertForTokenClassification(config).parameters())
    assert params * 2 <= 25_000_000  # the default model ships in fp16 under 25 MB


# --- pretraining ------------------------------------------------------------------------------

def test_pretraining_loss_falls_and_output_loads(pretrained):
    out, log, _ = pretrained
    losses = [entry["loss"] for entry in log["log"]]
    assert [entry["step"] for entry in log["log"]] == list(range(5, 41, 5))
    assert losses[-1] < 0.8 * losses[0]
    saved = json.loads((out / "train_log.json").read_text())
    assert saved["log"] == log["log"] and saved["seed"] == 0 and saved["args"]["seq_len"] == 64
    assert saved["data"]["texts"] == 240  # the empty contents were skipped
    assert saved["tokens_per_s"] > 0
    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    model = AutoModelForMaskedLM.from_pretrained(out, local_files_only=True)
    assert model.config.vocab_size == len(tokenizer) == saved["data"]["vocab_size"]
    assert (out / "model.safetensors").is_file()


def test_packing_keeps_every_token_between_cls_and_sep():
    docs = [np.arange(10, 17, dtype=np.int32), np.arange(20, 23, dtype=np.int32)]
    packed = pack_windows(docs, seq_len=6, cls_id=2, sep_id=3, pad_id=0)
    assert packed.tolist() == [[2, 10, 11, 12, 13, 3], [2, 14, 15, 16, 3, 3],
                               [2, 20, 21, 22, 3, 3]]
    tail = pack_windows([np.arange(10, 13, dtype=np.int32)], seq_len=8, cls_id=2, sep_id=3, pad_id=0)
    assert tail.tolist() == [[2, 10, 11, 12, 3, 3, 0, 0]]


def test_masking_follows_bert_proportions():
    ids = torch.randint(5, 1000, (200, 500))
    special = torch.zeros_like(ids, dtype=torch.bool)
    special[:, 0] = True
    inputs, labels = mask_tokens(ids, special, 4, 1000, 5, torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert not chosen[:, 0].any() and bool((labels[chosen] == ids[chosen]).all())
    assert chosen.float().mean().item() == pytest.approx(0.15 * 499 / 500, abs=0.005)
    masked = (inputs[chosen] == 4).float().mean().item()
    kept = (inputs[chosen] == ids[chosen]).float().mean().item()
    assert masked == pytest.approx(0.8, abs=0.01) and kept == pytest.approx(0.1 + 0.1 / 995, abs=0.01)
    assert bool((inputs[~chosen] == ids[~chosen]).all())


def test_masked_lm_loss_equals_the_full_head_loss(pretrained):
    out, _, texts = pretrained
    tokenizer = AutoTokenizer.from_pretrained(out, local_files_only=True)
    model = AutoModelForMaskedLM.from_pretrained(out, local_files_only=True).eval()
    ids = torch.tensor([tokenizer(text, truncation=True, max_length=40, padding="max_length")["input_ids"]
                        for text in texts[:4]])
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    inputs, labels = mask_tokens(ids, special, tokenizer.mask_token_id, len(tokenizer), 5,
                                 torch.Generator().manual_seed(0))
    assert 0 < int((labels != -100).sum()) and not bool((labels[special] != -100).any())
    batch = {"input_ids": inputs, "attention_mask": (ids != tokenizer.pad_token_id).long(), "labels": labels}
    with torch.no_grad():
        assert float(masked_lm_loss(model, batch)) == pytest.approx(float(model(**batch).loss), rel=1e-5)
        assert float(masked_lm_loss(model, {**batch, "labels": torch.full_like(labels, -100)})) == 0.0


def test_pretraining_is_deterministic_under_a_seed(pretrained, tmp_path):
    out, log, texts = pretrained
    again = pretrain(texts, tmp_path, size="tiny", steps=40, batch_size=8, seq_len=64, lr=2e-3,
                     seed=0, threads=THREADS, device="cpu", log_every=5)
    assert again["log"] == log["log"]
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_pretraining_rejects_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError):
        pretrain(tmp_path / "missing", tmp_path / "out", size="tiny")
    with pytest.raises(ValueError, match="no Parquet files"):
        pretrain(tmp_path, tmp_path / "out", size="tiny")
    pq.write_table(pa.table({"text": ["x"]}), tmp_path / "a.parquet")
    with pytest.raises(ValueError, match="no 'content' column"):
        pretrain(tmp_path, tmp_path / "out", size="tiny")


# --- fine-tuning ------------------------------------------------------------------------------

def test_finetuning_from_the_pretrained_encoder_lowers_the_loss(pretrained, tmp_path):
    data = tmp_path / "train.jsonl"
    _write_jsonl(data, _labelled_records(random.Random(3), 48))
    runs = [finetune(data, tmp_path / name, init_dir=pretrained[0], steps=36, batch_size=8,
                     max_len=64, lr=2e-3, seed=0, threads=THREADS, device="cpu", log_every=6)
            for name in ("ner", "again")]
    log = runs[0]
    losses = [entry["loss"] for entry in log["log"]]
    assert losses[-1] < 0.6 * losses[0]
    assert runs[1]["log"] == log["log"]  # deterministic under a seed
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == \
        (tmp_path / "ner" / "model.safetensors").read_bytes()
    config = json.loads((tmp_path / "ner" / "config.json").read_text())
    assert config["id2label"]["0"] == "O" and config["label2id"]["B-EMAIL"] == 1
    assert set(config["label2id"]) == {"O"} | {f"{p}-{e}" for e in ENTITIES for p in "BI"}
    assert log["data"]["spans"] and log["data"]["documents"] == 48
    assert sum(log["data"]["spans"].values()) > 48
    assert NerModel.from_dir(tmp_path / "ner", device="cpu").entities == tuple(sorted(ENTITIES))


def test_finetuning_rejects_bad_labelled_data(tmp_path):
    cases = {"not JSON": "x", "do not fit a text": '{"id": "a", "text": "ab", "spans": '
             '[{"start": 0, "end": 5, "label": "NAME"}]}',
             "unknown PII entity": '{"id": "a", "text": "ab", "spans": '
             '[{"start": 0, "end": 1, "label": "PHONE"}]}',
             "needs 'id'": '{"text": "ab", "spans": []}'}
    for message, line in cases.items():
        path = tmp_path / "bad.jsonl"
        path.write_text('{"id": "ok", "text": "fine", "spans": []}\n' + line + "\n")
        with pytest.raises(ValueError, match=message) as error:
            read_labelled(path)
        assert "bad.jsonl:2" in str(error.value)
    good = tmp_path / "good.jsonl"
    _write_jsonl(good, [{"id": "a", "text": "b", "spans": []}])
    with pytest.raises(ValueError, match="both given"):
        finetune(good, tmp_path / "o", init_dir=tmp_path, size="tiny")


# --- labels and decoding ----------------------------------------------------------------------

def test_spans_to_tags_marks_first_token_b_and_counts_shared_tokens():
    label2id = {label: index for index, label in enumerate(bio_labels())}
    offsets = [(0, 4), (4, 5), (5, 9), (9, 13), (13, 13)]
    tags, shared = spans_to_tags(offsets, [Span(5, 13, "EMAIL"), Span(3, 6, "NAME")], label2id)
    assert [bio_labels()[t] for t in tags] == ["B-NAME", "I-NAME", "I-NAME", "B-EMAIL", "O"]
    assert shared == 1


def test_decoding_is_tolerant_and_strips_whitespace():
    tags = parse_label_map({0: "O", 1: "B-NAME", 2: "I-NAME", 3: "I-AMBIGUOUS", 4: "B-EMAIL"})
    text = "hi  Ann Lee, x@y.z"
    offsets = [(0, 2), (2, 5), (5, 7), (7, 11), (11, 12), (12, 14), (14, 18)]
    spans = decode_spans(text, offsets, [0, 2, 2, 2, 0, 4, 3], [0.9, 0.5, 0.7, 0.6, 0.9, 0.8, 0.9], tags)
    assert [(s.start, s.end, s.label) for s in spans] == [(4, 11, "NAME"), (13, 14, "EMAIL")]
    assert spans[0].score == pytest.approx(0.6) and spans[0].detector == "ner"
    # a B- on another byte token of the same character continues the entity
    same_char = decode_spans("é", [(0, 1), (0, 1)], [1, 1], [1.0, 1.0], tags)
    assert [(s.start, s.end) for s in same_char] == [(0, 1)]
    # a B- that touches the entity before it continues it; one after a gap starts anew
    assert decode_spans("a b", [(0, 1), (1, 3)], [1, 1], [1.0, 1.0], tags) == [
        Span(0, 3, "NAME", 1.0, "ner")]
    assert decode_spans("a\nb", [(0, 1), (2, 3)], [1, 1], [1.0, 1.0], tags) == [
        Span(0, 1, "NAME", 1.0, "ner"), Span(2, 3, "NAME", 1.0, "ner")]
    # ... but one of the same kind after blanks on the same line is the same name
    assert decode_spans("Carly Martin", [(0, 5), (6, 12)], [1, 1], [1.0, 1.0], tags) == [
        Span(0, 12, "NAME", 1.0, "ner")]
    # a handle split at one inner punctuation character is one handle; a name is not joined so
    handle_tags = parse_label_map({0: "O", 1: "B-USERNAME", 2: "B-NAME"})
    offsets = [(0, 7), (7, 8), (8, 17)]
    assert decode_spans("synnove.ellingsen", offsets, [1, 0, 1], [1.0] * 3, handle_tags) == [
        Span(0, 17, "USERNAME", 1.0, "ner")]
    assert len(decode_spans("synnove.ellingsen", offsets, [2, 0, 2], [1.0] * 3,
                            handle_tags)) == 2
    # the entity's tokens vote on its kind: a stray I-EMAIL inside a name stays in the name
    voted = decode_spans("Mai Nam", [(0, 1), (1, 3), (3, 5), (5, 7)], [1, 5, 2, 2],
                         [0.9, 0.6, 0.8, 0.7], parse_label_map(
                             {0: "O", 1: "B-NAME", 2: "I-NAME", 3: "B-EMAIL", 4: "X", 5: "I-EMAIL"}))
    assert [(s.start, s.end, s.label) for s in voted] == [(0, 7, "NAME")]
    assert voted[0].score == pytest.approx((0.9 + 0.8 + 0.7) / 4)
    # an edge inside a word moves to the word's end: "Tervo" whose "vo" was left outside
    snapped = decode_spans("by Heikki Tervo.", [(0, 2), (2, 9), (9, 13), (13, 15), (15, 16)],
                           [0, 1, 2, 0, 0], [0.9] * 5, tags)
    assert [(s.start, s.end) for s in snapped] == [(3, 15)]
    # a token without characters does not break an entity; an outside token does
    assert decode_spans("ab cd", [(0, 2), (2, 2), (2, 5)], [1, 0, 2], [1.0] * 3, tags) == [
        Span(0, 5, "NAME", 1.0, "ner")]
    assert decode_spans("ab,cd", [(0, 2), (2, 3), (3, 5)], [2, 0, 2], [1.0] * 3, tags) == [
        Span(0, 2, "NAME", 1.0, "ner"), Span(3, 5, "NAME", 1.0, "ner")]


def test_foreign_label_names_map_to_our_entities():
    tags = parse_label_map({"0": "O", "1": "B-EMAIL_ADDRESS", "2": "I-IP", "3": "S-PER",
                            "4": "B_USER_NAME", "5": "PASSWORD", "6": "B-ORG"})
    assert tags == [Tag(None, False), Tag("EMAIL", True), Tag("IP_ADDRESS", False),
                    Tag("NAME", True), Tag("USERNAME", True), Tag("PASSWORD", False),
                    Tag(None, False)]
    with pytest.raises(ValueError, match="names none of the PII entities"):
        parse_label_map({0: "LABEL_0", 1: "LABEL_1"})
    with pytest.raises(ValueError, match="label ids"):
        parse_label_map({0: "O", 2: "B-NAME"})


# --- windows ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n_tokens,length,overlap", [(1, 30, 8), (30, 30, 8), (31, 30, 8),
                                                     (500, 30, 8), (97, 30, 0), (1000, 510, 128)])
def test_every_token_is_owned_once_with_context_on_both_sides(n_tokens, length, overlap):
    windows = plan_windows(7, n_tokens, length, overlap)
    owners = np.zeros(n_tokens, dtype=int)
    for window in windows:
        assert window.doc == 7 and window.length == min(length, n_tokens)
        owned = np.arange(window.start, window.end)[window.owned]
        owners[owned] += 1
        for token in owned:
            assert token - window.start >= min(overlap // 2, token)
            assert window.end - 1 - token >= min(overlap // 2, n_tokens - 1 - token)
    assert owners.tolist() == [1] * n_tokens
    assert window_starts(0, length, overlap) == []
    with pytest.raises(ValueError):
        window_starts(10, 8, 8)


def test_windowed_predictions_land_on_the_right_characters(pattern_model):
    out, log = pattern_model
    assert log["log"][-1]["loss"] < 0.1 * log["log"][0]["loss"]
    model = NerModel.from_dir(out, device="cpu", window=32, overlap=8)
    text, expected = _pattern_text(random.Random(4), 400, pattern_every=5)
    (offsets,) = encode_with_offsets(model.tokenizer, [text])[1]
    assert len(offsets) > 10 * model.window
    # some entities straddle a window edge, and some take their tokens' labels from two windows
    windows = plan_windows(0, len(offsets), model.body, model.overlap)
    owner = np.zeros(len(offsets), dtype=int)
    for index, window in enumerate(windows):
        owner[window.start:window.end][window.owned] = index
    tokens_of = [[i for i, (a, b) in enumerate(offsets) if a < s.end and b > s.start] for s in expected]
    assert any(any(w.start in t[1:] or w.end in t[1:] for w in windows) for t in tokens_of)
    assert any(len(set(owner[t])) > 1 for t in tokens_of)
    short, short_expected = _pattern_text(random.Random(5), 6, pattern_every=2)
    predicted = model.predict([text, "", short, NON_ASCII + "\n" + PATTERN], batch_size=5)
    assert predicted[0] == [Span(s.start, s.end, s.label, p.score, "ner")
                            for s, p in zip(expected, predicted[0])]
    assert len(predicted[0]) == len(expected) > 40
    assert all(text[s.start:s.end] == PATTERN for s in predicted[0])
    assert predicted[1] == []
    assert [(s.start, s.end) for s in predicted[2]] == [(s.start, s.end) for s in short_expected]
    # after CJK, emoji, accented letters, CR LF, a tab and astral-plane letters
    tail = (len(NON_ASCII) + 1, len(NON_ASCII) + 1 + len(PATTERN), "EMAIL")
    assert tail in [(s.start, s.end, s.label) for s in predicted[3]]
    # one text at a time gives the same spans as all texts batched together
    for text_alone, batched in zip([text, short], [predicted[0], predicted[2]]):
        alone = model.predict([text_alone], batch_size=5)[0]
        assert [(s.start, s.end, s.label) for s in alone] == [(s.start, s.end, s.label) for s in batched]
        # int8 dynamic quantisation (the CPU default) scales activations per batch: scores
        # move in the fifth decimal with the company a window keeps; in float32 they do not
        assert [s.score for s in alone] == pytest.approx([s.score for s in batched], abs=1e-3)
    exact = NerModel.from_dir(out, device="cpu", window=32, overlap=8, int8=False)
    together = exact.predict([text, short], batch_size=5)
    assert [exact.predict([t], batch_size=5)[0] for t in (text, short)] == [
        [dataclasses.replace(s, score=pytest.approx(s.score, abs=1e-5)) for s in spans]
        for spans in together]


def test_save_and_load_round_trip_gives_identical_predictions(pattern_model, tmp_path):
    out, _ = pattern_model
    model = NerModel.from_dir(out, device="cpu", window=32, overlap=8, int8=False)
    texts = [_pattern_text(random.Random(seed), 60, pattern_every=4)[0] for seed in range(6)]
    before = model.predict(texts)
    shutil.copytree(out, tmp_path / "copy")
    assert NerModel.from_dir(tmp_path / "copy", device="cpu", window=32, overlap=8, int8=False).predict(texts) == before
    save_checkpoint(copy.deepcopy(model.model), model.tokenizer, tmp_path / "half", "float16", {})
    assert (tmp_path / "half" / "model.safetensors").stat().st_size < \
        0.6 * (out / "model.safetensors").stat().st_size
    half = NerModel.from_dir(tmp_path / "half", device="cpu", window=32, overlap=8, int8=False)
    assert {p.dtype for p in half.model.parameters()} == {torch.float32}
    after = half.predict(texts)
    assert [[(s.start, s.end, s.label) for s in spans] for spans in after] == \
        [[(s.start, s.end, s.label) for s in spans] for spans in before]
    assert [s.score for spans in after for s in spans] == \
        pytest.approx([s.score for spans in before for s in spans], abs=1e-2)


def test_load_is_cached_per_directory_and_device(pattern_model):
    out, _ = pattern_model
    first = NerModel.load(out, device="cpu", window=32, overlap=8)
    assert NerModel.load(str(out), device="cpu", window=32, overlap=8) is first
    assert NerModel.load(out, device="cpu", window=32, overlap=4) is not first
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        first.predict(["a", None])
    with pytest.raises(FileNotFoundError):
        NerModel.load(out / "missing")


def test_devices():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            resolve_device("cuda")
        assert resolve_device("auto").type == "cpu"


# --- foreign checkpoints ----------------------------------------------------------------------

STARPII_LABELS = ["O"] + [f"{p}-{e}" for e in ("AMBIGUOUS", "EMAIL", "IP_ADDRESS", "KEY", "NAME",
                                                "PASSWORD", "USERNAME") for p in "BI"]


def _constant_checkpoint(directory, id2label: dict[int, str], always: str) -> None:
    """A BERT token classifier that tags every token ``always`` (a starpii-like label map)."""
    tokenizer = train_tokenizer(_code_texts(random.Random(0), 30), vocab_size=300)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, id2label=id2label,
                        label2id={label: index for index, label in id2label.items()})
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[config.label2id[always]] = 10.0
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def test_starpii_like_checkpoint_maps_known_labels_and_ignores_others(tmp_path):
    id2label = dict(enumerate(STARPII_LABELS))
    text = "  ssh alice@host \n"
    expected_score = np.exp(10) / (np.exp(10) + len(STARPII_LABELS) - 1)
    _constant_checkpoint(tmp_path / "name", id2label, "I-NAME")
    model = NerModel.from_dir(tmp_path / "name", device="cpu")
    assert model.entities == tuple(sorted(ENTITIES))
    (span,) = model.predict([text])[0]
    assert (span.start, span.end, span.label) == (2, 16, "NAME")
    assert span.score == pytest.approx(expected_score, rel=1e-4)
    _constant_checkpoint(tmp_path / "ambiguous", id2label, "B-AMBIGUOUS")
    assert NerModel.from_dir(tmp_path / "ambiguous", device="cpu").predict([text]) == [[]]
    synonyms = {0: "O", 1: "B-EMAIL_ADDRESS", 2: "I-EMAIL_ADDRESS", 3: "B-MISC"}
    _constant_checkpoint(tmp_path / "synonym", synonyms, "I-EMAIL_ADDRESS")
    synonym_model = NerModel.from_dir(tmp_path / "synonym", device="cpu")
    assert synonym_model.entities == ("EMAIL",)
    assert [(s.start, s.end, s.label) for s in synonym_model.predict([text])[0]] == [(2, 16, "EMAIL")]
    _constant_checkpoint(tmp_path / "foreign", {0: "O", 1: "B-ORG", 2: "I-ORG"}, "B-ORG")
    with pytest.raises(ValueError, match="names none of the PII entities"):
        NerModel.from_dir(tmp_path / "foreign", device="cpu")


# --- Presidio recognizer ----------------------------------------------------------------------

def test_recognizer_predicts_primed_texts_in_one_batch(pattern_model):
    # float32: the two copies of one text may share no batch, and int8 scores follow the batch
    model = NerModel.from_dir(pattern_model[0], device="cpu", window=32, overlap=8, int8=False)
    recognizer = NerRecognizer(model)
    assert sorted(recognizer.get_supported_entities()) == sorted(ENTITIES)
    calls = []
    predict = model.predict
    model.predict = lambda texts, batch_size: calls.append(list(texts)) or predict(texts, batch_size)
    texts = [_pattern_text(random.Random(seed), 40, pattern_every=4)[0] for seed in range(5)]
    texts.append(texts[0])  # the same text twice in one batch
    recognizer.prime(texts)
    assert len(calls) == 1 and recognizer.pending() == 6
    expected = predict(texts, 16)
    for text, spans in zip(texts, expected):
        results = recognizer.analyze(text, ["EMAIL"], None)
        assert [(r.entity_type, r.start, r.end, r.score) for r in results] == \
            [(s.label, s.start, s.end, s.score) for s in spans]
        assert all(r.recognition_metadata["recognizer_name"] == "NerRecognizer" for r in results)
        assert all(r.analysis_explanation.recognizer == "NerRecognizer" for r in results)
    assert len(calls) == 1 and recognizer.pending() == 0
    assert recognizer.analyze(texts[1], ["NAME"], None) == []  # filtered by entity
    assert len(calls) == 2  # not primed: predicted alone
    recognizer.prime(texts[:2] + [""])
    recognizer.prime(texts[2:4])  # what the last batch left unanalysed is dropped
    assert recognizer.pending() == 2
    recognizer.clear()
    assert recognizer.pending() == 0


def test_int8_is_the_cpu_default_and_keeps_the_spans(pattern_model):
    out, _ = pattern_model
    quantized = NerModel.from_dir(out, device="cpu", window=32, overlap=8)
    exact = NerModel.from_dir(out, device="cpu", window=32, overlap=8, int8=False)
    assert quantized.int8 and not exact.int8
    assert any(type(m).__module__.startswith("torch.ao.nn.quantized") for m in quantized.model.modules())
    texts = [_pattern_text(random.Random(seed), 60, pattern_every=4)[0] for seed in range(4)]
    assert [[(s.start, s.end, s.label) for s in spans] for spans in quantized.predict(texts)] == \
        [[(s.start, s.end, s.label) for s in spans] for spans in exact.predict(texts)]

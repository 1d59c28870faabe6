"""The StarPII-style NER encoder: a byte-level BPE and a BERT encoder trained here on code.

- ``pretrain(shards_dir or texts, out_dir, size=...)``: tokenizer + masked-language-model pretraining.
- ``finetune(train_jsonl, out_dir, init_dir=...)``: BIO token classification over the six entities.
- ``NerModel.load(dir, device=...)``: batched, windowed inference; any local HF token classifier.
- ``pii.model.recognizer.NerRecognizer``: the model as a batched Presidio recognizer.
Sizes are in ``pii.model.sizes.SIZES``; each function writes ``train_log.json`` next to the weights.
"""
from pii.model.finetune import finetune
from pii.model.inference import NerModel
from pii.model.pretrain import pretrain
from pii.model.sizes import DEFAULT_SIZE, SIZES, ModelSize, resolve_size

__all__ = ["DEFAULT_SIZE", "SIZES", "ModelSize", "NerModel", "finetune", "pretrain", "resolve_size"]

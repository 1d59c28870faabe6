# stack-curate: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch: the CPU build pinned here; the package itself asks for a range so GPU machines
# keep their CUDA build.
TORCH_PIN := torch==2.13.0
DEMO_OUT ?= out/demo
# pip's configured extra indexes on some machines print one warning per package: hide them.
# (grep exits 1 when it prints nothing; pipefail still reports a failing pip)
QUIET_PIP := { grep -v "^WARNING: Location" || true; }

# The PII model's recipe (pii/model/default/README.md): corpus, labelled data, pretraining,
# fine-tuning, all seeded, 2 torch threads (the CLI's default: the same weights for the same thread
# count, device and torch version). Writes pii/model/default and scores it on the validation split;
# the test split is scored once per model release, by hand (pii/model/default/README.md).
PII_CORPUS := out/pii-corpus
PII_SHARDS := $(PII_CORPUS)/releases/v1.0.0/data
PII_SYNTH := out/pii-synth
PII_PRETRAINED := out/pii-pretrain

.PHONY: setup demo test bench pii-model pii-bench java chromium clean

setup: $(STAMP)

java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "Spark needs Java 17 (or 21) and 'java' is not on PATH."; \
	  echo "Install it with:  sudo apt-get install -y openjdk-17-jre-headless   (Debian/Ubuntu)"; \
	  echo "             or:  brew install openjdk@17                           (macOS)"; \
	  exit 1; }

# The web page's browser test drives Debian's chromium (tests/test_web.py): installed with
# apt-get when missing (as root, else through sudo); Playwright never downloads a browser.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test (apt-get)..."; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

$(STAMP): pyproject.toml Makefile | java
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_PIN)" -e '.[test]' 2>&1 | $(QUIET_PIP)
	$(PY) -m pip check
	@echo "building ScanCode's licence index (once)..."
	$(PY) -c "from licensedcode.cache import get_index; get_index()"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/curate demo --out $(DEMO_OUT)

test: setup chromium
	$(PY) -m pytest -q

bench: setup
	$(PY) -m pip install -q -e '.[bench]' 2>&1 | $(QUIET_PIP)
	$(PY) bench/build_bench.py
	$(PY) bench/dedup_bench.py

# Labelled data for training and for the benchmark: the demo corpus without its PII stage.
$(PII_SYNTH)/test.jsonl: | setup
	$(VENV)/bin/curate demo --config pii/corpus.toml --out $(PII_CORPUS) --without-project
	$(VENV)/bin/curate pii synth --shards $(PII_SHARDS) --out $(PII_SYNTH) --seed 0

pii-model: $(PII_SYNTH)/test.jsonl
	$(VENV)/bin/curate pii pretrain --shards $(PII_SHARDS) --out $(PII_PRETRAINED) --seed 0
	$(VENV)/bin/curate pii train --train $(PII_SYNTH)/train.jsonl --init $(PII_PRETRAINED) \
	  --out out/pii-finetune-1 --lr 1e-3 --seed 0
	$(VENV)/bin/curate pii train --train $(PII_SYNTH)/train.jsonl --init out/pii-finetune-1 \
	  --out pii/model/default --lr 5e-4 --seed 1
	cp $(PII_PRETRAINED)/train_log.json pii/model/default/log_pretrain.json
	cp out/pii-finetune-1/train_log.json pii/model/default/log_finetune_1.json
	$(VENV)/bin/curate pii eval --gold $(PII_SYNTH)/validation.jsonl --device cpu

# Everyday PII figures on the validation split; the test split is looked at once per model
# release: make pii-bench PII_GOLD=out/pii-synth/test.jsonl
PII_GOLD ?= $(PII_SYNTH)/validation.jsonl
pii-bench: $(PII_SYNTH)/test.jsonl
	$(PY) bench/pii_bench.py --gold $(PII_GOLD) --release $(PII_CORPUS)/releases/v1.0.0
	$(PY) bench/pii_realcode.py --release $(PII_CORPUS)/releases/v1.0.0 --threads 1
	$(PY) bench/pii_realset.py --threads 1

clean:
	rm -rf $(VENV) out .pytest_cache

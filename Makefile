# Two entry points: `make run` and `make test`. Each sets up a fresh machine on its own.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit index bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned to the CPU wheel: otherwise sentence-transformers pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	@echo "setting up $(VENV) (first run, or pyproject.toml changed; log in $(VENV)/install.log)"
	@$(PIP) install -q --upgrade pip > $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@$(PIP) install -q torch==2.13.0 >> $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@$(PIP) install -q -e '.[dev]' >> $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@$(PY) -c "import bot, torch, sentence_transformers, faiss, onnxruntime, tokenizers, bm25s"
	@touch $(STAMP)

run: $(STAMP)
	@$(VENV)/bin/cnibot run

lint: $(STAMP)
	$(VENV)/bin/ruff check bot tests bench
	$(VENV)/bin/ruff format --check bot tests bench
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest

test: lint typecheck unit

index: $(STAMP)
	$(VENV)/bin/cnibot index build

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) index/*.faiss index/*.db index/*.onnx index/manifest.json

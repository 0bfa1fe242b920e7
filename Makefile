# `make run`: set up and serve the search on the bundled corpus. `make test`: set up and run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test clean-corpus evaluate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/searchapp clean --json corpus/ > var/cleaned.jsonl
	@echo "Cleaned the bundled corpus into var/cleaned.jsonl ($$(wc -l < var/cleaned.jsonl) documents)."
	@echo "The index and the search page are not built yet: this stops after cleaning."

test: $(STAMP)
	$(BIN)/python -m pytest -q

evaluate: $(STAMP)
	$(BIN)/python bench/evaluate_cleaner.py --baseline

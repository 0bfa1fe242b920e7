# `make run`: set up and serve the search on the bundled corpus. `make test`: set up and run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run PORT=8080` serves elsewhere.
PORT ?= 5000

.PHONY: run test clean-corpus evaluate

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Builds the index from corpus/ when there is none (later runs bring it up to date), then serves it.
run: $(STAMP)
	@# A page that cannot be indexed is reported; the rest is still served.
	-$(BIN)/searchapp reindex --corpus corpus --index var/index
	$(BIN)/searchapp serve --index var/index --port $(PORT)

# axe-core, the browser tests' accessibility checker, from npm as tests/package.json pins it; installed inside the
# virtualenv so the work tree stays clean. Without npm the accessibility tests skip (and fail in CI, which has it).
NPM_DIR := $(VENV)/npm
AXE := $(NPM_DIR)/node_modules/axe-core/axe.min.js

$(AXE): tests/package.json
	@command -v npm >/dev/null || { echo "npm is missing: the accessibility tests will skip (apt-get install npm)"; exit 0; }; \
	mkdir -p $(NPM_DIR) && cp tests/package.json $(NPM_DIR)/package.json && \
	npm install --prefix $(NPM_DIR) --no-audit --no-fund --loglevel=error && touch $(AXE)

# Test files run in parallel, each whole in one worker so that its module's servers and indexes are built once;
# each worker starts its own PostgreSQL cluster and chromium. Two for the two cores of CI's machine.
TEST_WORKERS ?= 2

# Lint and formatting first: they take a second and say exactly what to mend (`ruff format .` mends the second).
test: $(STAMP) $(AXE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

evaluate: $(STAMP)
	$(BIN)/python bench/evaluate_cleaner.py --baseline

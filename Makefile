# Learnloop — the two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint unit integration e2e bench deploy-check clean help

help:
	@echo "make run    - install into .venv, then start broker, database and all services (learnloop run)"
	@echo "make test   - install, lint, and run the whole test suite against real servers"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - fan-out, acknowledgement, reminder, report and xAPI ingestion benchmarks against the local stack (BENCH_ARGS="--only reports")"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/learnloop run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) lint browser-deps asyncapi-cli
	$(BIN)/python -m pytest -q -ra

# The AsyncAPI CLI (npm, pinned) that validates docs/asyncapi.yaml in the tests; installed once into .tools/.
ASYNCAPI_CLI_VERSION := 6.2.0
ASYNCAPI_DIR := .tools/asyncapi
ASYNCAPI_STAMP := $(ASYNCAPI_DIR)/.installed-$(ASYNCAPI_CLI_VERSION)

.PHONY: asyncapi-cli
asyncapi-cli: $(ASYNCAPI_STAMP)

$(ASYNCAPI_STAMP):
	@command -v npm >/dev/null || { echo "npm not found: the AsyncAPI check needs Node.js 20 and npm" >&2; exit 1; }
	npm install --prefix $(ASYNCAPI_DIR) --save-exact --no-audit --no-fund --loglevel=error @asyncapi/cli@$(ASYNCAPI_CLI_VERSION)
	@touch $@

# Debian's Chromium for the inbox page's browser test (never `playwright install`); skips quietly if it can't.
.PHONY: browser-deps
browser-deps:
	bash tests/browser/install-chromium.sh

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

clean:
	rm -rf $(VENV) var .tools .pytest_cache .mypy_cache .ruff_cache

BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python -m tests.bench.fanout $(BENCH_ARGS)

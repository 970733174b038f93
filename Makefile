# One toolchain entry point for people and CI.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
ANCHORS := packages/bench-anchors-ts
CHARACTER ?= examples/characters/sage.json

SETUP_SCRIPTS := $(sort $(wildcard scripts/setup/*.sh))

.PHONY: demo test lint bench bench-tau2-local install node-deps setup clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,local,server,langgraph,mcp]"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

$(ANCHORS)/node_modules/.installed: $(ANCHORS)/package-lock.json
	cd $(ANCHORS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-deps: $(ANCHORS)/node_modules/.installed

# Each area's test prerequisites (redis, postgres+pgvector, chromium, npm packages, tau2 data…), idempotent.
setup: install node-deps
	@for s in $(SETUP_SCRIPTS); do echo "== $$s"; VENV=$(VENV) bash $$s || exit 1; done

demo: install
	$(BIN)/elizapy models prepare
	$(BIN)/elizapy chat --character $(CHARACTER)

test: setup
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/mypy

bench: install node-deps
	$(BIN)/elizapy bench perf

# TAU-bench on the embedded local model, end to end (long: about an hour on 2 cores), then the report.
bench-tau2-local: setup
	scripts/bench/tau2-local.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

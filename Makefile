# Opora — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test webchat browser-deps proxy-deps lint format bench eval clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed

webchat/dist/index.html: $(shell find webchat/src webchat/index.html webchat/package.json -type f 2>/dev/null)
	@if command -v npm >/dev/null; then bash webchat/build.sh; \
	else echo "npm not found: the web chat UI is skipped (the API still works)"; fi

webchat: webchat/dist/index.html

## Start Opora on embedded defaults (SQLite, Qdrant Edge, bundled embeddings, sample KB indexed in the background).
run: install webchat
	$(VENV)/bin/opora serve --host $(HOST) --port $(PORT)

## Browser tests need Debian's chromium; installed here when missing.
browser-deps:
	@command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "noto color emoji" || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null)

## The proxy-mode test runs Opora behind Debian's nginx; installed here when missing (never started as a service).
proxy-deps:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Everything CI runs: lint, the web chat's unit tests (vitest), then the whole pytest suite
## (storage on SQLite and PostgreSQL, fakes for every messenger and LLM, browser tests in chromium).
test: install browser-deps proxy-deps webchat lint
	cd webchat && npm test
	$(VENV)/bin/pytest -q -ra

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

eval: install
	$(VENV)/bin/opora eval ../shared/eval/dev.jsonl

bench: install
	$(PY) -m bench.retrieval
	$(PY) -m bench.ingest
	$(PY) -m bench.providers
	$(PY) -m bench.messengers
	$(PY) -m bench.webchat
	$(PY) -m bench.hostile

clean:
	rm -rf $(VENV) data webchat/dist webchat/node_modules .pytest_cache .ruff_cache

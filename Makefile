# Opora — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test webchat browser-deps deploy-deps lint format bench eval clean

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

## Debian's nginx binary, unpacked into the venv (no service is installed or started), checks the web chat's
## nginx config in tests/deploy; the compose, Helm, Kubernetes, CI-schema and Dockerfile checkers come from the test extra.
$(VENV)/nginx/usr/sbin/nginx:
	mkdir -p $(VENV)/nginx
	cd $(VENV)/nginx && (apt-get download nginx >/dev/null 2>&1 || (apt-get update -qq && apt-get download nginx >/dev/null)) \
	  && dpkg-deb -x nginx_*.deb . && rm -f nginx_*.deb

deploy-deps: $(VENV)/nginx/usr/sbin/nginx

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Everything CI runs: lint, the web chat's unit tests (vitest), then the whole pytest suite
## (storage on SQLite and PostgreSQL, fakes for every messenger and LLM, browser tests in chromium).
test: install browser-deps deploy-deps webchat lint
	cd webchat && npm test
	$(VENV)/bin/pytest -q -ra

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

eval: install
	$(VENV)/bin/opora eval ../shared/eval/dev.jsonl

BENCHES := retrieval ingest embeddings providers messengers webchat followup_cv roles_cv feedback_replay gaps \
	hostile escalation escalation_transcript capture_threshold

bench: install
	@for b in $(BENCHES); do echo "== bench.$$b"; $(PY) -m bench.$$b || exit 1; done

clean:
	rm -rf $(VENV) data webchat/dist webchat/node_modules .pytest_cache .ruff_cache

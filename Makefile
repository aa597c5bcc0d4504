# exthost: `make run` serves, `make test` checks everything, `make bench` measures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
JS_RUNTIME := sdk/js/dist/runtime.wasm
PY_RUNTIME := sdk/python/dist/runtime.wasm
CONSOLE := console/dist/index.html
EXAMPLES := $(wildcard extensions/*/package.json)

.PHONY: install build examples run test lint typecheck bench profile clean chromium wrk

install: $(VENV)/.installed sdk/js/node_modules/.installed sdk/assemblyscript/node_modules/.installed \
	tests/compat/sdk/node_modules/.installed console/node_modules/.installed chromium

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

sdk/js/node_modules/.installed: sdk/js/package.json sdk/js/package-lock.json
	# `npm install` follows the lockfile; `npm ci` wrongly reports it out of sync
	# (npm 11 and optional per-platform packages of componentize-js/rolldown)
	cd sdk/js && npm install --no-audit --no-fund --loglevel=error
	touch $@

sdk/assemblyscript/node_modules/.installed: sdk/assemblyscript/package.json sdk/assemblyscript/package-lock.json
	cd sdk/assemblyscript && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the official @directus/sdk that tests/compat drives against a real host (pinned in its lockfile)
tests/compat/sdk/node_modules/.installed: tests/compat/sdk/package.json tests/compat/sdk/package-lock.json
	cd tests/compat/sdk && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console/node_modules/.installed: console/package.json console/package-lock.json
	# `npm install` follows the lockfile (as for sdk/js: vite's rolldown has per-platform optional packages)
	cd console && npm install --no-audit --no-fund --loglevel=error
	touch $@

# The console's browser tests (tests/console) drive Debian's Chromium; without it they are skipped.
chromium:
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y chromium || { apt-get update && apt-get install -y chromium; } \
		|| echo "chromium could not be installed: the console's browser tests will be skipped"; \
	else echo "no chromium, and no apt-get run as root to install it: the console's browser tests will be skipped"; fi

$(PY_RUNTIME): $(VENV)/.installed sdk/python/build.py sdk/python/runtime/exthost_runtime.py $(wildcard sdk/python/directus_api/*.py) $(wildcard sdk/wit/*.wit)
	$(PY) sdk/python/build.py

$(JS_RUNTIME): sdk/js/node_modules/.installed sdk/js/build.mjs $(wildcard sdk/js/src/*.js) $(wildcard sdk/wit/*.wit)
	cd sdk/js && node build.mjs

$(CONSOLE): console/node_modules/.installed console/index.html console/vite.config.ts console/tsconfig.json $(wildcard console/src/*)
	cd console && npm run build

build: install $(JS_RUNTIME) $(PY_RUNTIME) $(CONSOLE) examples

examples: install
	@for dir in $(dir $(EXAMPLES)); do $(BIN)/exthost build $$dir || exit 1; done

run: build
	$(BIN)/exthost serve

lint: install
	$(BIN)/ruff check host tests bench

typecheck: install
	$(BIN)/mypy

test: build lint typecheck
	$(BIN)/python -m pytest

# `make bench` drives HTTP with wrk (Debian's package): without it, what it measures over HTTP is skipped, saying why.
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get install -y wrk || { apt-get update && apt-get install -y wrk; } \
		|| echo "wrk could not be installed: the HTTP figures of make bench will be skipped"; \
	else echo "no wrk, and no apt-get run as root to install it: the HTTP figures of make bench will be skipped"; fi

bench: build wrk
	$(BIN)/python -m bench

# where the time of the sandboxed greet endpoint goes under wrk (docs/performance.md)
profile: build wrk
	$(BIN)/python -m bench.profile

clean:
	rm -rf $(VENV) sdk/js/node_modules tests/compat/sdk/node_modules sdk/js/dist sdk/python/dist sdk/assemblyscript/node_modules console/node_modules console/dist extensions/*/dist data .mypy_cache .ruff_cache .pytest_cache

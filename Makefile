# Baton: `make run` runs the whole system locally; `make test` runs every test. Both set themselves up.
# `make setup` and `make run` need Python 3.11+ and nothing else: no root, no apt, no browser. Only `make test` wants
# Chromium (the browser tests); its `browser` step installs it with apt-get when it can, and otherwise says how.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOURCES := contracts workers bot baton sandbox tests $(wildcard bench)
ARGS   ?=
# Where the browser tests look for Chromium (tests/browser/conftest.py reads the same variable).
CHROMIUM := $(or $(BATON_CHROMIUM),/usr/bin/chromium)
BROWSER_PACKAGES := chromium fonts-noto-color-emoji

.PHONY: setup run browser test lint typecheck schemas screenshots bench clean histories

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Baton needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1). Run: make PYTHON=python3.12 ..." >&2; \
	  exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,bench]'  # bench: tests/integration/test_bench_compare.py runs bench.compare
	$(PY) -m compileall -q contracts workers bot baton sandbox  # bytecode: a new workflow's sandbox imports load it
	touch $(STAMP)

# `make run ARGS="--port 7300 --ui-port 8300 --state-dir /tmp/baton"`: baton dev's flags (see `baton dev --help`).
run: setup
	$(VENV)/bin/baton dev $(ARGS)

# Debian's Chromium for the browser tests, never Playwright's download. Installed only as root where apt-get exists;
# anywhere else this prints one line, and the browser tests fail saying the same.
browser:
	@if [ -x "$(CHROMIUM)" ] && { ! command -v dpkg >/dev/null 2>&1 || dpkg -s fonts-noto-color-emoji >/dev/null 2>&1; }; then \
	  :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "make test: installing $(BROWSER_PACKAGES) for the browser tests (apt-get)"; \
	  { apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; } \
	    || echo "make test: apt-get could not install $(BROWSER_PACKAGES); the browser tests will fail"; \
	else \
	  echo "make test: no Chromium at $(CHROMIUM), so the browser tests will fail; install it with: sudo apt-get install -y $(BROWSER_PACKAGES) (or set BATON_CHROMIUM to a Chromium binary)"; \
	fi

test: setup browser
	$(PY) -m ruff check $(SOURCES)
	$(PY) -m mypy
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check $(SOURCES)
	$(PY) -m ruff format --check $(SOURCES)

typecheck: setup
	$(PY) -m mypy

schemas: setup
	$(PY) -m contracts export

screenshots: setup browser
	BATON_SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_sandbox_end_to_end.py tests/browser/test_sandbox_assistant.py -q

# Records the current release's replay histories into tests/histories/<version>/ (releases.toml's last entry) and
# pins them in its SHA256SUMS; a released set is never recorded over.
histories: setup
	$(PY) -m baton.releases unreleased
	BATON_RECORD_HISTORIES=1 $(PY) -m pytest -q tests/hitl/test_record_histories.py tests/integration/test_record_foundation_histories.py \
		tests/bot/test_record_feedback_history.py
	$(PY) -m baton.releases pin

bench: setup
	$(PY) -m bench.crash_waste
	$(PY) -m bench.concurrency
	$(PY) -m bench.chaos --tasks 30 --runs 5
	$(PY) -m bench.fuzz --deliveries 5200
	$(PY) -m bench.intake
	$(PY) -m bench.compare
	$(PY) -m bench.slack_history

clean:
	rm -rf $(VENV) .baton .pytest_cache .mypy_cache .ruff_cache

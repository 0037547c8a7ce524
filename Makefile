# Baton: `make run` runs the whole system locally; `make test` runs every test. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SOURCES := contracts workers bot baton sandbox tests $(wildcard bench)

.PHONY: setup run test lint typecheck schemas screenshots bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@# Browser tests drive Debian's Chromium through Playwright; `playwright install` (a download) is never used.
	dpkg -s chromium fonts-noto-color-emoji >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(VENV)/bin/baton dev

test: setup
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

screenshots: setup
	BATON_SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_sandbox_end_to_end.py -q

bench: setup
	$(PY) -m bench.crash_waste
	$(PY) -m bench.concurrency
	$(PY) -m bench.chaos --tasks 30 --runs 5
	$(PY) -m bench.fuzz --deliveries 5200

clean:
	rm -rf $(VENV) .baton .pytest_cache .mypy_cache .ruff_cache

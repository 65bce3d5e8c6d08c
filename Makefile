# TinyTrail developer entry points. `make run` and `make test` are the README's two set-up commands.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3

.PHONY: install install-test run test lint typecheck pytest bench clean browser-deps postgres-deps

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -c constraints.txt -e '.[test]'
	touch $@

# Debian's Chromium for the browser tests; installed only when we are root and it is missing.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "note: chromium missing and not root; browser tests will be skipped"; fi; \
	fi

# Debian's PostgreSQL server for the metadata-on-PostgreSQL tests, which start their own
# throwaway cluster; installed only when we are root and no server binaries are there.
postgres-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "warning: could not install postgresql; PostgreSQL tests will be skipped"; \
	  else echo "note: postgresql missing and not root; PostgreSQL tests will be skipped"; fi; \
	fi

run: install
	$(VENV)/bin/tinytrail serve

lint: install-test
	$(VENV)/bin/ruff check $(wildcard tinytrail tests bench)
	$(VENV)/bin/ruff format --check $(wildcard tinytrail tests bench)

typecheck: install-test
	$(VENV)/bin/mypy

pytest: install-test browser-deps postgres-deps
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

# The benchmark suite (not part of `make test`): the ClickHouse engine (chDB) for reference
# timings, wrk for load when we are root and it is missing; writes docs/performance.md.
bench: install-test browser-deps
	$(PIP) install -q -c constraints.txt -e '.[bench]'
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)) \
	  || echo "note: wrk not installed; bench uses its Python load generator"; }
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# cloudtwin: `make run` (default scenario), `make test`, `make bench`. Each target sets up
# .venv from nothing; the install is redone whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Extra CLI arguments: make run ARGS="scenario=burst scenario.duration_s=120"
run: $(STAMP)
	$(VENV)/bin/cloudtwin $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q tests --ignore=tests/bench

# pytest exits 5 when it collects nothing: no benchmarks yet is not a failure.
bench: $(STAMP)
	$(PY) -m pytest tests/bench --benchmark-enable --benchmark-only -q; \
	status=$$?; if [ $$status -eq 5 ]; then echo "no benchmarks collected"; exit 0; fi; exit $$status

# Removes the virtual environment and caches (numba's included); results/ is kept.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +

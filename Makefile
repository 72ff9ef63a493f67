# cloudtwin: `make run` (default scenario), `make test`, `make bench`. Each target sets up
# .venv from nothing; the install is redone whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test bench clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Extra CLI arguments: make run ARGS="scenario=burst scenario.duration_s=120"
run: $(STAMP)
	$(VENV)/bin/cloudtwin $(ARGS)

test: $(STAMP) browser
	$(PY) -m pytest -q tests --ignore=tests/bench

# The report test renders report.html in Debian's chromium (driven by playwright, which
# must not download a browser of its own). Installed when missing and possible (root with
# apt-get, as on CI); otherwise that one test is skipped and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the report test"; \
	    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	      || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "chromium not installed and cannot be installed here: the browser test will be skipped"; fi; }

# pytest exits 5 when it collects nothing: no benchmarks yet is not a failure.
bench: $(STAMP)
	$(PY) -m pytest tests/bench --benchmark-enable --benchmark-only -q; \
	status=$$?; if [ $$status -eq 5 ]; then echo "no benchmarks collected"; exit 0; fi; exit $$status

# Removes the virtual environment and caches (numba's included); results/ is kept.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +

# cloudtwin: `make run` (default scenario), `make test`, `make bench`. Each target sets up
# .venv from nothing; the install is redone whenever pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two installs: `make run` needs only .[dev]; `make test` and `make bench` add the `ray`
# extra (Hydra's Ray launcher, about 400 MB and 40 s more) for the Ray sweep test and benchmark.
STAMP := $(VENV)/.installed
STAMP_RAY := $(VENV)/.installed-ray
ARGS ?=

.PHONY: run test bench clean browser warm

$(PY):
	$(PYTHON) -m venv $(VENV)

# Installs go through uv (from PyPI into the venv; about 4x faster than pip here: a fresh
# .[dev] in 33 s against 2 min 10 s), falling back to pip where uv cannot be had.
INSTALL = { $(PY) -m pip install -q uv >/dev/null 2>&1 && $(VENV)/bin/uv pip install -q --python $(PY) -e

$(STAMP): pyproject.toml | $(PY)
	@echo "setting up .venv (once; reinstalled when pyproject.toml changes)"
	$(INSTALL) '.[dev]'; } || $(PY) -m pip install -q -e '.[dev]'
	touch $@

# .[dev,ray] includes .[dev]: `make run` afterwards installs nothing more.
$(STAMP_RAY): pyproject.toml | $(PY)
	@echo "setting up .venv with the ray extra (once; reinstalled when pyproject.toml changes)"
	$(INSTALL) '.[dev,ray]'; } || $(PY) -m pip install -q -e '.[dev,ray]'
	touch $@ $(STAMP)

# numba compiles the kernels on first use and caches them beside kernels/ (__pycache__).
# `make run` compiles the Lambda kernels the default scenario needs before it runs (about
# 13 s, once), then the other groups (messaging, fan-out, VPC: about 45 s) in a background
# process while the default scenario runs, so the first run prints its summary within a
# minute of a fresh clone and every other scenario's first run starts at once afterwards.
# Both are redone (a cache load, under a second) when a kernel changes; `make warm` does all
# of it in the foreground.
WARM := $(VENV)/.kernels-warm
WARM_ALL := $(VENV)/.kernels-warm-all
KERNEL_SRC := $(wildcard kernels/*.py)

$(WARM): $(STAMP) $(KERNEL_SRC)
	$(PY) -m sim.engine.warmup lambda
	touch $@

$(WARM_ALL): $(STAMP) $(KERNEL_SRC)
	$(PY) -m sim.engine.warmup --jobs 2
	touch $@ $(WARM)

warm: $(WARM_ALL)

# Extra CLI arguments: make run ARGS="scenario=burst scenario.duration_s=120"
run: $(WARM)
	@if [ -n "$$(find $(KERNEL_SRC) $(STAMP) -newer $(WARM_ALL) 2>/dev/null)" ] || [ ! -e $(WARM_ALL) ]; then \
	  echo "compiling the other scenarios' kernels in the background (about a minute; log: $(VENV)/warmup.log)"; \
	  ( $(PY) -m sim.engine.warmup messaging vpc --quiet && touch $(WARM_ALL) ) < /dev/null > $(VENV)/warmup.log 2>&1 & fi
	$(VENV)/bin/cloudtwin $(ARGS)

test: $(STAMP_RAY) browser
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
bench: $(STAMP_RAY)
	$(PY) -m pytest tests/bench --benchmark-enable --benchmark-only -q; \
	status=$$?; if [ $$status -eq 5 ]; then echo "no benchmarks collected"; exit 0; fi; exit $$status

# Removes the virtual environment and caches (numba's included); results/ is kept.
clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +

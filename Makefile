# Two commands for a fresh machine: `make demo` (the simulated device) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kindpulse sim --scenario demo --speed 25 --accept-prompts-after 15 --live --out out/demo

test: $(STAMP)
	$(BIN)/ruff check firmware_py tests bench
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check firmware_py tests bench

bench: $(STAMP)
	$(BIN)/python bench/peers.py
	$(BIN)/python bench/device.py

clean:
	rm -rf $(VENV) .numba_cache out

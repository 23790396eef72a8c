# Two commands for a fresh machine: `make demo` (the simulated device) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache

.PHONY: demo test lint bench clean sysdeps install uninstall

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
	$(BIN)/python bench/family.py
	$(BIN)/python bench/timing_bound.py
	$(BIN)/python bench/analyze_process.py
	$(BIN)/python bench/service.py
	$(BIN)/python bench/store.py
	$(BIN)/python bench/sim_memory.py

# System tools the integration tests use (sshd, chromium, systemd-analyze...): apt-get, as root.
# Without them those tests skip with the reason; with CI=true they fail instead.
sysdeps:
	for f in .ci/sysdeps.d/*.sh; do [ -e "$$f" ] || continue; bash "$$f" || exit 1; done

# On the Pi, as root: the service (systemd/install.sh; docs/service.md). Re-running upgrades in place.
install:
	bash systemd/install.sh

# Keeps the log, the config and the service user unless PURGE=1.
uninstall:
	bash systemd/uninstall.sh $(if $(PURGE),--purge)

clean:
	rm -rf $(VENV) .numba_cache out

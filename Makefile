# The two set-up commands of the README are `make demo` and `make test`; both create the
# virtual environment on first use. Everything installs from this checkout's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export B8760_STATE_DIR ?= $(CURDIR)/.b8760
export DAGSTER_HOME ?= $(B8760_STATE_DIR)/dagster_home

# The demo and the UI run the demo's platform (b8760_assets/demo_platform.py): the sample
# platform written under the state dir, its partitions starting at the demo's hour rather than
# years of hours before it, each Missing. Tests and `dagster dev` by hand keep sample_platform/.
demo dev: export B8760_PLATFORM_DIR ?= $(B8760_STATE_DIR)/platform

.PHONY: install chromium demo test dev bench stop clean

install: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint constraints.txt --editable '.[test]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

# The UI test drives Debian's Chromium (test_ui_browser.py): installed from Debian's packages
# when missing and apt-get can (CI runs as root); elsewhere that test skips, saying why.
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-liberation) \
		|| echo "chromium could not be installed: the browser test will skip (fail under CI)"; fi

demo: install
	$(BIN)/b8760 demo

# Lint, format and types first (seconds), then the suite (minutes); CI runs the same.
test: install chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

# Benchmarks on a private local stack (about half an hour; `BENCH_ARGS=--quick` for a smoke).
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

dev: install
	$(BIN)/b8760 local start
	$(BIN)/b8760 local platform
	$(BIN)/dagster dev --workspace workspace.yaml --host 127.0.0.1 --port 3000

stop:
	$(BIN)/b8760 local stop

clean: stop
	rm -rf $(B8760_STATE_DIR)

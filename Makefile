# The two commands of the README:
#   make smoke   install everything, then run a smoke study (SQLite, studies/smoke.db)
#   make test    install everything, then run every test (Rust and Python)
# `.ci/run` calls `make test`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup build smoke test test-rust test-python lint clean-venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# The build the commands would make themselves (tuner.simulator.build): the same cargo
# invocation, and the record of the sources it was made from, so that no later command
# rebuilds what this one built.
build: $(VENV)/.installed
	$(PY) -c "from tuner.simulator.build import ensure_binaries; ensure_binaries()"

setup: $(VENV)/.installed build

smoke: setup
	$(PY) -m tuner.study --smoke

test-rust: build
	cargo test --release --quiet

# Linters: ruff and mypy over tuner/, clippy with warnings as errors.
lint: setup
	$(VENV)/bin/ruff check tuner
	$(VENV)/bin/mypy
	cargo clippy --release --quiet --all-targets -- -D warnings

test-python: setup
	$(PY) -m pytest -q

test: setup lint test-rust test-python

clean-venv:
	rm -rf $(VENV)

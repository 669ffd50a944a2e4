# Everything a new machine needs, from pinned versions (requirements/lock.txt).
# `make grade`: set up, build the course, grade the bundled sample submissions, print the table.
# `make test`: set up and run the test suite.

PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: grade test build samples goldens lint lock env clean

$(VENV)/.installed: requirements/lock.txt pyproject.toml
	$(PYTHON) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(PYTHON) -m uv venv --quiet --allow-existing --python "$$($(PYTHON) -c 'import sys; print(sys.executable)')" $(VENV)
	$(PYTHON) -m uv pip sync --quiet --python $(VENV)/bin/python --require-hashes requirements/lock.txt
	$(PYTHON) -m uv pip install --quiet --python $(VENV)/bin/python --no-deps --editable .
	touch $@

env: $(VENV)/.installed

build: env
	d2lgrade build

grade: build
	d2lgrade grade-samples --output results

test: env
	python -m pytest

samples: build
	d2lgrade samples

goldens: env
	UPDATE_GOLDENS=1 python -m pytest tests/test_samples.py -k golden

lint: env
	ruff check d2lgrade solutions tests tools

# Re-resolve the lock from requirements/main.in (needs the package index).
lock:
	$(PYTHON) -m uv pip compile requirements/main.in --python-version 3.11 --excludes requirements/excludes.txt \
		--generate-hashes --quiet -o requirements/lock.txt

clean:
	rm -rf build results submitted autograded feedback gradebook.db

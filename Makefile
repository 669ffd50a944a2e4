# Everything a new machine needs, from pinned versions (requirements/lock.txt).
# `make grade`: set up, build what changed, grade the bundled sample submissions into a demo gradebook, print the table.
# `make test`: set up and run the test suite.

PYTHON ?= python3
# Resolved now, before PATH puts .venv/bin first (deploy/hub.mk's runtime uses it).
HOST_PYTHON := $(shell command -v $(PYTHON))
# The environment's interpreter must be readable by the sandbox user: Debian's, not pyenv's under /root.
BASE_PYTHON ?= /usr/bin/python3.11
# chromium and chromium-driver: the browser tests and the written answers' PDF; docker.io and debootstrap: `make image`;
# python3.11-venv: the private venv uv is installed into (Debian's own Python is externally managed: never pip there).
SYSTEM_PACKAGES := bubblewrap python3.11 python3.11-venv python3-seccomp chromium chromium-driver docker.io debootstrap
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# uv, in a venv of its own inside .venv/ (made by any user, offline but for uv's wheel), never in a system Python.
UV_TOOLS := $(CURDIR)/$(VENV)/.uv
UV := $(UV_TOOLS)/bin/uv
ENSURE_UV = @[ -x $(UV) ] && [ "$$($(UV) --version 2>/dev/null | cut -d' ' -f2)" = $(UV_VERSION) ] || \
	$(MAKE) --no-print-directory uv
export PATH := $(BIN):$(PATH)
# Nothing writes __pycache__ while the course runs (not into the checkout, not by the sandbox user): the environment's
# bytecode is compiled once, when it is installed (`--compile-bytecode` below), and only read afterwards. Without
# it every process (each grader, nbgrader command, kernel template) compiled its libraries again: ~0.7 s of CPU
# for one `nbgrader` command.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: grade test build samples goldens lint lock env uv clean bench bench-serve lab-student lab-instructor image image-test

$(VENV)/.installed: requirements/lock.txt pyproject.toml
	@missing=$$(tools/system_packages.sh $(SYSTEM_PACKAGES)); if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages: $$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
			{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
		else echo "make: install the system packages first: sudo apt-get install $$missing"; exit 1; fi; \
	fi
	@[ -x $(BASE_PYTHON) ] || { echo "make: $(BASE_PYTHON) is missing: install python3.11, or name another with BASE_PYTHON=..."; exit 1; }
	$(ENSURE_UV)
	$(UV) venv --quiet --allow-existing --python $(BASE_PYTHON) $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(VENV)/bin/python --require-hashes requirements/lock.txt
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps --editable .
	touch $@

# uv $(UV_VERSION) into its private venv (again, when another version is there).
uv:
	$(BASE_PYTHON) -m venv --clear $(UV_TOOLS)
	$(UV_TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

env: $(VENV)/.installed

build: env
	d2lgrade build

# Builds what changed itself (registering releases in the demo gradebook, not the course's), then grades.
grade: env
	d2lgrade grade-samples --output results/demo

test: env
	ruff check d2lgrade solutions tests tools
	python -m pytest

# JupyterLab for each role (jupyter/<role>/: which nbgrader tools its server and menus have), put on JUPYTER_CONFIG_PATH:
# the user's own ~/.jupyter stays theirs (JupyterLab saves settings and workspaces there) and the course's is only read.
# A student's lab opens in STUDENT_DIR (default: the current folder), an instructor's in the course.
STUDENT_DIR ?= $(CURDIR)
lab-student: env
	cd "$(STUDENT_DIR)" && JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student D2LGRADE_EXCHANGE=$${D2LGRADE_EXCHANGE:-$(CURDIR)/exchange} \
		jupyter lab --Exchange.root=$${D2LGRADE_EXCHANGE:-$(CURDIR)/exchange}

# Builds what changed first when the build is the user's to write; a TA who may not uses the course's build as it is.
lab-instructor: env
	@if [ -w build ] && [ -w release ] && { [ ! -e gradebook.db ] || [ -w gradebook.db ]; }; then d2lgrade build; \
	else echo "make: not rebuilding (build/, release/ or gradebook.db is not yours to write): the formgrader grades with" \
		"the course's current build; its instructor runs \`make build\` after changing source/"; fi
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/instructor jupyter lab

# Seconds per submission against `otter run`, side by side, then the similarity of 1,000 submissions (a few minutes;
# not part of `make test`).
bench: build
	python tools/bench.py s02_3 200
	python tools/bench_similarity.py s02_3 1000

# Submit -> feedback-visible latency of `d2lgrade serve` through the real exchange (idle, and a burst of 200), beside one
# `otter run` of the same notebook (2-3 minutes; as root: the sandbox).
bench-serve: build
	python tools/bench_serve.py

# The autograder images (one per assignment, Gradescope's contract; see autograder/README.md), built with Docker
# from a debootstrap'd Debian base: a few minutes the first time, seconds once its layers are cached.
image: build
	python tools/autograder_image.py build

# The images graded the way Gradescope runs them: samples of three assignments, three hostile submissions, then
# the hostile test corpus inside the image (container mode). CI runs it after `make test`.
image-test: build
	python tools/autograder_image.py test

samples: build
	d2lgrade samples

goldens: env
	UPDATE_GOLDENS=1 python -m pytest tests/test_samples.py -k golden

lint: env
	ruff check d2lgrade solutions tests tools

# Re-resolve the lock from requirements/main.in (needs the package index).
lock:
	$(ENSURE_UV)
	$(UV) pip compile requirements/main.in --python-version 3.11 --excludes requirements/excludes.txt \
		--generate-hashes --quiet -o requirements/lock.txt

clean:
	rm -rf build results submitted refused autograded feedback gradebook.db

# The class server: deploy/hub.mk
include deploy/hub.mk

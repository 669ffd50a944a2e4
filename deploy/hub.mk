# The class server (JupyterHub, the exchange, the grading service): `make hub`, `make hub-test`, `make runtime`.
# docs/running-a-term.md is the teaching team's guide; these targets are its steps.

# The student runtime: the venv every user's server, kernel and the course services run from (apart from any
# course folder, readable by all, writable by root only).
RUNTIME ?= /opt/d2lgrade/runtime
# The hub's settings; `make hub` installs deploy/hub.demo.toml there when there is none.
HUB_CONFIG ?= /etc/d2lgrade/hub.toml
# `make hub`'s logs and process ids (the four processes run in the background; systemd is not needed).
HUB_RUN ?= /var/log/d2lgrade
SHARE = $(RUNTIME)/share/d2lgrade
# The project's pinned uv for root's installs, in a venv of its own (Debian's Python refuses `pip install` into
# itself: externally managed); needs python3-venv.
UV_HOME ?= /opt/d2lgrade/uv
UV_ROOT = $(UV_HOME)/bin/uv
LOCAL_HUB = deploy/local-hub

.PHONY: runtime hub hub-stop hub-test install-units

# The lock's packages copied (not linked to root's uv cache) and compiled, then d2lgrade from a wheel of this
# checkout (a staged copy: setuptools would write build/ into the course's own build folder) WITHOUT solutions/:
# every user reads the runtime, and the references stay in the course folders (d2lgrade imports a course's own), the role set-ups,
# and deploy/ with configurable-http-proxy from npm (package-lock.json).
runtime:
	@[ "$$(id -u)" = 0 ] || { echo "make runtime: run as root (it installs $(RUNTIME) for every user)"; exit 1; }
	[ "$$($(UV_ROOT) --version 2>/dev/null | cut -d' ' -f2)" = $(UV_VERSION) ] || { $(BASE_PYTHON) -m venv --clear $(UV_HOME) && \
		$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check --root-user-action=ignore "uv==$(UV_VERSION)"; }
	install -d -m 0755 $(RUNTIME)
	$(UV_ROOT) venv --quiet --allow-existing --python $(BASE_PYTHON) $(RUNTIME)
	$(UV_ROOT) pip sync --quiet --link-mode=copy --compile-bytecode --python $(RUNTIME)/bin/python \
		--require-hashes requirements/lock.txt
	stage=$$(mktemp -d) && trap 'rm -rf "$$stage"' EXIT && \
		tar -c --exclude=__pycache__ pyproject.toml README.md d2lgrade | tar -x -C "$$stage" && \
		$(UV_ROOT) pip install --quiet --link-mode=copy --compile-bytecode --no-deps \
			--reinstall-package d2lgrade --python $(RUNTIME)/bin/python "$$stage"
	rm -rf $(SHARE) && install -d -m 0755 $(SHARE)/jupyter $(SHARE)/deploy
	for role in student ta instructor; do \
		tar -c --exclude=./lab -C jupyter/$$role . | (install -d -m 0755 $(SHARE)/jupyter/$$role && \
			tar -x -C $(SHARE)/jupyter/$$role); done
	cp -r deploy/jupyterhub_config.py deploy/bin deploy/package.json deploy/package-lock.json $(SHARE)/deploy/
	cd $(SHARE)/deploy && npm ci --omit=dev --no-audit --no-fund --loglevel=error
	chmod -R u+rwX,go+rX,go-w $(RUNTIME)
	@echo "runtime: $(RUNTIME) ($$($(RUNTIME)/bin/python -c 'import d2lgrade, jupyterhub; print("jupyterhub", jupyterhub.__version__)'))"

# The whole class server on this machine, from HUB_CONFIG (the demo: two courses, five users with passwords).
hub: runtime
	@[ -f $(HUB_CONFIG) ] || { install -d -m 0755 $(dir $(HUB_CONFIG)) && install -m 0644 deploy/hub.demo.toml $(HUB_CONFIG) \
		&& echo "installed deploy/hub.demo.toml as $(HUB_CONFIG)"; }
	$(RUNTIME)/bin/python -m d2lgrade.hub.provision --config $(HUB_CONFIG) --source $(CURDIR) $(PROVISION_OPTIONS)
	SERVE_OPTIONS="$(SERVE_OPTIONS)" $(LOCAL_HUB) start $(HUB_CONFIG) $(RUNTIME) $(HUB_RUN) $(EXCHANGE_OPTIONS)

hub-stop:
	$(LOCAL_HUB) stop $(HUB_CONFIG) $(RUNTIME) $(HUB_RUN)

# Real Unix users (d2lt…), a real hub under a temporary prefix, its own ports; everything removed at the end.
hub-test: env
	python -m pytest -n 0 -p no:cacheprovider tests/hub

# systemd: the four units (they run the runtime's copy of deploy/bin/, as `make hub` does).
install-units:
	install -m 0644 deploy/systemd/d2lgrade-*.service /etc/systemd/system/
	systemctl daemon-reload
	@echo "then: systemctl enable --now d2lgrade-exchange d2lgrade-grader d2lgrade-serve d2lgrade-hub"

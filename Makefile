# WLCC bot: the two newcomer commands are `make demo` and `make test` (see README.md).
# Every target creates the virtualenv (.venv) and installs the pinned dependencies on first use,
# and again only when pyproject.toml or constraints.txt changed; likewise the front-end packages
# (npm ci, again only when package-lock.json changed) and the files copied out of them.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# python3.11 if there is one on PATH, else python3 (checked below: 3.11 or 3.12).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.wlcc-installed
PIP := $(BIN)/python -m pip
# The front-end files, from the npm registry (package.json, package-lock.json), never a CDN:
# Leaflet is served by the console (/console/static/vendor/leaflet/), axe-core is injected into
# the pages by the browser tests. Both copies are gitignored.
NPM_STAMP := node_modules/.wlcc-installed
LEAFLET_DIR := console/static/vendor/leaflet
AXE_JS := tests/browser/vendor/axe.min.js
ASSETS := $(LEAFLET_DIR)/leaflet.js $(AXE_JS)
# What every target that runs the project needs: the virtualenv and the front-end files.
INSTALLED := $(STAMP) $(ASSETS)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# The demo always uses the embedded database, whatever DATABASE_URL says elsewhere, and the
# simulated channel (WLCC_SIMULATOR): what the bot sends on its own arrives in the chat.
DEMO_DATABASE_URL ?= sqlite:///./wlcc.db
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=
# e.g. CHAT_ARGS="--phone +6281200000002" to chat as a demo coordinator
CHAT_ARGS ?=
DEMO_SERVER_LOG ?= $(VENV)/demo-server.log

.PHONY: help install demo chat serve test lint fmt typecheck pytest bench constraints clean distclean

help: ## List the targets
	@echo "Newcomer commands:"
	@echo "  make demo    chat with the bot in this terminal and in the browser (SQLite + demo data)"
	@echo "  make test    run the whole test suite (ruff, mypy, pytest)"
	@echo
	@echo "All targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sort \
		| awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

install: $(INSTALLED) ## Create .venv, install the pinned dependencies and front-end files (idempotent)
	@true

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: neither python3.11 nor python3 is on PATH; install Python 3.11." >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' || { \
		echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); WLCC needs 3.11 or 3.12 (set PYTHON=/path/to/python3.11)." >&2; \
		exit 1; }
	@if ! $(BIN)/python -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null; then \
		echo "Creating $(VENV) with $(PYTHON)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	@echo "Installing the pinned dependencies into $(VENV) (log: $(VENV)/install.log)"
	@{ $(PIP) install -c constraints.txt pip setuptools wheel \
	  && $(PIP) install -c constraints.txt --no-build-isolation -e ".[dev]"; \
	} > $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log >&2; \
		echo "error: installing the dependencies failed (see $(VENV)/install.log)" >&2; exit 1; }
	@touch $@

# npm ci empties node_modules first, so the stamp inside it goes too and is written last.
$(NPM_STAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "error: npm is not on PATH; install Node.js 20 with npm (Debian: apt-get install nodejs npm). The console's map needs Leaflet, installed from the npm registry by npm ci." >&2; \
		exit 1; fi
	@echo "Installing the front-end packages (npm ci: leaflet, axe-core)"
	@npm ci --ignore-scripts --no-audit --no-fund --loglevel=error || { \
		echo "error: npm ci failed (see above); the console's map needs Leaflet" >&2; exit 1; }
	@touch $@

$(LEAFLET_DIR)/leaflet.js: $(NPM_STAMP)
	@rm -rf $(LEAFLET_DIR)
	@mkdir -p $(LEAFLET_DIR)
	@cp node_modules/leaflet/dist/leaflet.css $(LEAFLET_DIR)/
	@cp -R node_modules/leaflet/dist/images $(LEAFLET_DIR)/
	@cp node_modules/leaflet/dist/leaflet.js $@

$(AXE_JS): $(NPM_STAMP)
	@mkdir -p $(@D)
	@cp node_modules/axe-core/axe.min.js $@

# `make demo` serves the browser simulator and the staff console on HOST:PORT in the background
# (its log: DEMO_SERVER_LOG) while the terminal chat runs, and stops it when the chat ends. A
# port already taken is said plainly; the terminal chat starts anyway.
demo: $(INSTALLED) ## Demo data on SQLite, then chat in the terminal and in the browser (also reads piped input)
	@DATABASE_URL='$(DEMO_DATABASE_URL)' $(BIN)/wlcc demo --make
	@export DATABASE_URL='$(DEMO_DATABASE_URL)' WLCC_SIMULATOR=true; \
	server=""; \
	trap 'if [ -n "$$server" ]; then kill "$$server" 2>/dev/null || true; wait "$$server" 2>/dev/null || true; fi' EXIT; \
	if (exec 3<>"/dev/tcp/$(HOST)/$(PORT)") 2>/dev/null; then \
		echo "Port $(PORT) on $(HOST) is taken (another program, or a demo still running), so the browser simulator is not started. Use another port: make demo PORT=8001"; \
	else \
		WLCC_SENDER_ENABLED=true WLCC_QUIET_HOURS= $(BIN)/wlcc serve --host '$(HOST)' --port '$(PORT)' \
			</dev/null >'$(DEMO_SERVER_LOG)' 2>&1 & server=$$!; \
		ready=""; \
		for _ in $$(seq 1 100); do \
			kill -0 "$$server" 2>/dev/null || break; \
			if (exec 3<>"/dev/tcp/$(HOST)/$(PORT)") 2>/dev/null; then ready=1; break; fi; \
			sleep 0.3; \
		done; \
		if [ -n "$$ready" ]; then \
			echo "Browser simulator: http://$(HOST):$(PORT)/simulator — staff console: http://$(HOST):$(PORT)/console/"; \
		else \
			kill "$$server" 2>/dev/null || true; wait "$$server" 2>/dev/null || true; server=""; \
			echo "The browser simulator did not start (see $(DEMO_SERVER_LOG)); the terminal chat starts anyway."; \
		fi; \
	fi; \
	$(BIN)/wlcc chat $(CHAT_ARGS)

chat: $(INSTALLED) ## Chat in the terminal with the configured database (DATABASE_URL or .env)
	@$(BIN)/wlcc chat $(CHAT_ARGS)

serve: $(INSTALLED) ## Migrate, then serve the webhooks on HOST:PORT (default 127.0.0.1:8000)
	$(BIN)/wlcc serve --host $(HOST) --port $(PORT)

# The whole suite: every step runs even if an earlier one failed, so one run shows all problems;
# pytest's summary is the last line on success, and any failure makes the exit status non-zero.
test: $(INSTALLED) ## ruff check, ruff format --check, mypy, pytest (PostgreSQL too if TEST_DATABASE_URL)
	@failed=""; \
	echo "== ruff check"; $(BIN)/ruff check . || failed="$$failed ruff-check"; \
	echo "== ruff format --check"; $(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	echo "== mypy"; $(BIN)/mypy . || failed="$$failed mypy"; \
	if [ -n "$${TEST_DATABASE_URL:-}" ]; then \
		echo "== pytest (SQLite and PostgreSQL)"; \
	else \
		echo "== pytest (SQLite; set TEST_DATABASE_URL to add PostgreSQL)"; fi; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || failed="$$failed pytest"; \
	if [ -n "$$failed" ]; then echo "make test: FAILED:$$failed" >&2; exit 1; fi

lint: $(INSTALLED) ## ruff check, ruff format --check and mypy (no tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

typecheck: $(INSTALLED) ## mypy only
	$(BIN)/mypy .

pytest: $(INSTALLED) ## pytest only (PYTEST_ARGS="-k name -x" to narrow)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fmt: $(INSTALLED) ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED) ## Webhook benchmark against a bare FastAPI baseline (loopback only, ~1 min)
	$(BIN)/python -m bench.webhook $(BENCH_ARGS)

# Re-resolve the newest versions pyproject.toml allows, in a scratch venv, and pin them.
constraints: ## Re-resolve dependencies and rewrite constraints.txt (then run make test)
	@if [ -z "$(PYTHON)" ]; then echo "error: no python3.11 or python3 on PATH" >&2; exit 1; fi
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	.constraints-venv/bin/python -m pip install --quiet --no-build-isolation -e ".[dev]"
	{ sed -n '/^#/p' constraints.txt | sed '/^# Generated/,$$d'; \
	  echo "# Generated by \`make constraints\` with Python $$(.constraints-venv/bin/python -c 'import platform; print(platform.python_version())')."; \
	  .constraints-venv/bin/python -m pip freeze --all --exclude-editable | sort -f; \
	} > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .constraints-venv
	@echo "constraints.txt rewritten; review the diff, then run make test."

clean: ## Remove caches and build output (keeps .venv and any *.db)
	rm -rf .mypy_cache .ruff_cache .pytest_cache build dist .constraints-venv
	find . -path ./.venv -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +

distclean: clean ## clean, and remove .venv, node_modules and the copied front-end files too
	rm -rf $(VENV) node_modules $(LEAFLET_DIR) $(dir $(AXE_JS))

# Two entry points for a fresh machine: `make run` and `make test`.
# Both install what they need, Python packages only from the committed lock
# (requirements/*.txt, exported from uv.lock with hashes): a fresh clone installs
# the same versions next year. `make lock` refreshes the lock on purpose.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 0.0.0.0
PORT   ?= 6503
# Debian packages the tests drive for real (browsers, TURN relay, Redis, the
# Janus SFU and its tools, ffmpeg for recorded media).
TEST_DEBS := chromium coturn redis-server iptables faketime janus janus-tools firefox-esr ffmpeg
# The one tool that writes the lock; only `make lock` installs it.
UV_VERSION := 0.13.9
# Install exactly what the lock says (hashes checked, no dependency resolution),
# then chinwag itself from this checkout with the locked setuptools.
define install_locked
	$(BIN)/pip install -q --require-hashes --no-deps -r $(1)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
endef

.PHONY: run test test-pythons install-locked-test lock lint typecheck unit system-deps bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements/run.txt pyproject.toml | $(BIN)/python
	$(call install_locked,requirements/run.txt)
	touch $@

$(VENV)/.dev: requirements/test.txt pyproject.toml | $(BIN)/python
	$(call install_locked,requirements/test.txt)
	touch $@ $(VENV)/.runtime

# Refresh the lock on purpose (new releases, a changed pyproject.toml): resolve
# every extra for every supported Python, then export the two install lists.
lock: | $(BIN)/python
	$(BIN)/pip install -q 'uv==$(UV_VERSION)'
	$(BIN)/uv lock --upgrade
	$(BIN)/uv export --frozen --no-emit-project --extra tls --extra fast --group build \
	  -o requirements/run.txt -q
	$(BIN)/uv export --frozen --no-emit-project --extra dev --extra peer --extra redis \
	  --extra tls --extra metrics --extra fast --group build -o requirements/test.txt -q

run: $(VENV)/.runtime
	$(BIN)/chinwag serve --host $(HOST) --port $(PORT) --data-dir ./data

system-deps:
	@missing=""; for p in $(TEST_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest tests/unit -q

test: system-deps $(VENV)/.dev lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

# The unit, server and cluster tests on every supported Python this machine has
# (requires-python in pyproject.toml), each in its own .venv-3.x built from the
# same lock (its markers pick the right wheels per version). `make test` runs
# the whole suite on the default interpreter.
SUPPORTED_PYTHONS := 3.11 3.12 3.13
# Where each is looked for: pythonX.Y on PATH (a pyenv shim of an inactive
# version fails the check and is passed over), then pyenv's versions.
PYENV_ROOT ?= $(HOME)/.pyenv
PYTHONS_TESTS := tests/unit tests/server tests/cluster
test-pythons: system-deps
	@ran=""; failed=""; absent=""; for v in $(SUPPORTED_PYTHONS); do \
	  py=""; for c in $$(command -v python$$v) $$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python$$v \
	      2>/dev/null | sort -rV); do \
	    $$c -c "import sys; sys.exit(sys.version_info[:2] != ($${v%%.*}, $${v#*.}))" 2>/dev/null \
	      && { py=$$c; break; }; \
	  done; \
	  [ -n "$$py" ] || { absent="$$absent $$v"; continue; }; \
	  echo "== Python $$v: $$py"; began=$$(date +%s); \
	  if [ ! -f .venv-$$v/.dev ] || [ requirements/test.txt -nt .venv-$$v/.dev ] \
	      || [ pyproject.toml -nt .venv-$$v/.dev ]; then \
	    rm -rf .venv-$$v && $$py -m venv .venv-$$v \
	    && $(MAKE) --no-print-directory BIN=.venv-$$v/bin install-locked-test \
	    && touch .venv-$$v/.dev || exit 1; \
	  fi; \
	  if .venv-$$v/bin/pytest $(PYTHONS_TESTS) -q -p no:cacheprovider; then \
	    ran="$$ran $$v"; else failed="$$failed $$v"; fi; \
	  echo "== Python $$v: $$(( $$(date +%s) - began )) s"; \
	done; \
	echo "test-pythons: passed on$${ran:- none}; failed on$${failed:- none};" \
	  "not on this machine (skipped):$${absent:- none}"; \
	[ -n "$$ran" ] && [ -z "$$failed" ]

# The test packages of the lock into $(BIN) (used by test-pythons for each venv).
install-locked-test:
	$(call install_locked,requirements/test.txt)

# The web client's gallery (docs/web-client.md): real server, real Chromium.
screenshots: system-deps $(VENV)/.dev
	$(BIN)/python -m tests.browser.screenshots docs/images

bench: $(VENV)/.dev
	$(BIN)/python bench/relay.py

clean:
	rm -rf $(VENV) .venv-3.* build dist src/*.egg-info test-artifacts

# Two entry points for a fresh machine: `make run` and `make test`.
# Both install what they need, Python packages only from the committed lock
# (requirements/*.txt, exported from uv.lock with hashes): a fresh clone installs
# the same versions next year. `make lock` refreshes the lock on purpose.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 0.0.0.0
PORT   ?= 6503
# Debian packages the tests drive for real (browser, TURN relay, Redis).
TEST_DEBS := chromium coturn redis-server iptables faketime
# The one tool that writes the lock; only `make lock` installs it.
UV_VERSION := 0.13.9
# Install exactly what the lock says (hashes checked, no dependency resolution),
# then chinwag itself from this checkout with the locked setuptools.
define install_locked
	$(BIN)/pip install -q --require-hashes --no-deps -r $(1)
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
endef

.PHONY: run test lock lint typecheck unit system-deps bench clean screenshots

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
	$(BIN)/uv export --frozen --no-emit-project --extra tls --extra fast -o requirements/run.txt -q
	$(BIN)/uv export --frozen --no-emit-project --extra dev --extra peer --extra redis \
	  --extra tls --extra metrics --extra fast -o requirements/test.txt -q

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

# The web client's gallery (docs/web-client.md): real server, real Chromium.
screenshots: system-deps $(VENV)/.dev
	$(BIN)/python -m tests.browser.screenshots docs/images

bench: $(VENV)/.dev
	$(BIN)/python bench/relay.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info test-artifacts

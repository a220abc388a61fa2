# Two entry points for a fresh machine: `make run` and `make test`.
# Both install what they need; the venv is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 0.0.0.0
PORT   ?= 6503
# Debian packages the tests drive for real (browser, TURN relay, Redis).
TEST_DEBS := chromium coturn redis-server iptables faketime

.PHONY: run test lint typecheck unit system-deps bench clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[tls]'
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,peer,redis,tls,metrics]'
	touch $@ $(VENV)/.runtime

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

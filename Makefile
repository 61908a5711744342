# Two entry points for a fresh machine: `make up` and `make check` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := -e contracts -e shared -e services/registry -e services/employment -e services/services-orders -e services/rights -e .

.PHONY: install browser up check lint test bench chaos contracts runtime-lock pin-base-image

$(BIN)/jinguo: requirements.lock contracts/pyproject.toml shared/pyproject.toml services/*/pyproject.toml pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps $(PACKAGES)
	touch $@

install: $(BIN)/jinguo

up: install
	$(BIN)/jinguo up --demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python deploy/pin_base_image.py --check

# the browser the web tests drive: Debian's chromium and its driver, never a download
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else echo "the web tests need Debian's chromium and chromium-driver" >&2; exit 1; fi

test: install browser
	$(BIN)/pytest

check: lint test

bench: install
	$(BIN)/python bench/run_all.py

# kill the API, the projector and a NATS node under load (127.0.0.1, about a minute per database)
chaos: install
	$(BIN)/python bench/chaos.py

# after changing an event contract or an endpoint: the committed documents a partner codes
# against (tests/contracts/test_published_contracts.py holds them to the code)
contracts: install
	$(BIN)/jinguo contracts contracts/published

# after changing requirements.lock or a package's dependencies: the pins the runtime image
# installs (deploy/Dockerfile); tests/deploy/test_runtime_dependencies.py holds them to these
runtime-lock: install
	$(BIN)/python deploy/runtime_lock.py > requirements-runtime.lock.new
	mv requirements-runtime.lock.new requirements-runtime.lock

# for a release, where the registry is reachable: pins deploy/Dockerfile's base image to the
# digest its tag has today (commit the change); the release checks it with --check
pin-base-image: install
	$(BIN)/python deploy/pin_base_image.py

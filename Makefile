# Two commands on a fresh clone: `make run` and `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOME_DIR ?= .recsys
INPUT ?= data/inbox

export OPENBLAS_NUM_THREADS ?= 1

.PHONY: setup run test lint format dev sample bench screenshots clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test]'
	touch $(STAMP)

run: $(STAMP)  ## run the whole graph on the bundled sample and print a summary
	$(BIN)/recsys run --input $(INPUT) --home $(HOME_DIR)

test: lint  ## lint, then run the test suite
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff: lint and formatting (one line length, in pyproject.toml)
	$(BIN)/ruff check recsys_assets recsys_assets_tests benchmarks
	$(BIN)/ruff format --check recsys_assets recsys_assets_tests benchmarks

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix recsys_assets recsys_assets_tests benchmarks
	$(BIN)/ruff format recsys_assets recsys_assets_tests benchmarks

dev: $(STAMP)  ## open the Dagster UI on 127.0.0.1:3000 (dg dev loads the project from [tool.dg])
	mkdir -p $(HOME_DIR)/dagster && cp deployment/dagster.yaml $(HOME_DIR)/dagster/dagster.yaml
	DAGSTER_HOME=$(abspath $(HOME_DIR))/dagster $(BIN)/dg dev --host 127.0.0.1 --port 3000

sample: $(STAMP)  ## regenerate the bundled sample: the catalog and its customers' demo users file
	$(BIN)/recsys sample --out data/inbox/sample.csv --seed 7
	$(BIN)/recsys sample --users-for data/inbox/sample.csv --out data/inbox/sample-users.csv --seed 7

bench: $(STAMP)  ## time each asset on 10k, 100k and 1M generated reviews
	OPENBLAS_NUM_THREADS=1 $(BIN)/python benchmarks/bench_pipeline.py

screenshots: $(STAMP)  ## the bundled sample's email in headless Chromium at 375 and 700 px: docs/email-375.png, docs/email-700.png
	rm -rf .screenshots
	$(BIN)/python -m pytest -q -p no:cacheprovider recsys_assets_tests/test_email_browser.py --basetemp=.screenshots
	find .screenshots -name 'email-*.png' -exec cp {} docs/ \;
	rm -rf .screenshots

clean:
	rm -rf $(HOME_DIR) $(VENV)

# Every target installs first when needed; `make test` and `make serve` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install merge check-spec test lint serve bench contract clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

merge: install
	$(BIN)/python -m mock_server merge

check-spec: install
	$(BIN)/python -m mock_server merge --check

test: install
	$(BIN)/python -m mock_server merge --check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

serve: install
	$(BIN)/python -m mock_server serve $(SERVE_ARGS)

contract: install
	$(BIN)/contract-tests run $(CONTRACT_ARGS)

bench: install
	$(BIN)/python -m mock_server bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

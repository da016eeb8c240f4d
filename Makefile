# Every target installs first when needed; `make test` and `make serve` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install redis merge check-spec test lint serve serve-cluster bench contract clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The Redis store's tests run a real redis-server (Debian's package); `make serve` never needs one.
REDIS_SERVER ?= redis-server
redis:
	@command -v $(REDIS_SERVER) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing redis-server (apt-get) for the Redis store tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "make: $(REDIS_SERVER) is missing and installing it needs root and apt-get:"; \
	    echo "make: the Redis store tests will be skipped (install it: sudo apt-get install redis-server)"; \
	  fi; }

merge: install
	$(BIN)/python -m mock_server merge

check-spec: install
	$(BIN)/python -m mock_server merge --check

test: install redis
	$(BIN)/python -m mock_server merge --check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

serve: install
	$(BIN)/python -m mock_server serve $(SERVE_ARGS)

# A private redis-server (temporary directory, free loopback port) and one replica per port sharing it.
CLUSTER_PORTS ?= 8001,8002
serve-cluster: install redis
	$(BIN)/python -m mock_server cluster --ports $(CLUSTER_PORTS) -- $(SERVE_ARGS)

contract: install
	$(BIN)/contract-tests run $(CONTRACT_ARGS)

bench: install
	$(BIN)/python -m mock_server bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

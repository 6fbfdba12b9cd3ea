# The README's two commands: `make run` (the whole CRM on embedded defaults) and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
NPM    ?= npm

.PHONY: run test lint fmt bench supergraph servers-up clean token web

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

gateway/node_modules/.installed: gateway/package.json gateway/package-lock.json
	cd gateway && $(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

venv: $(VENV)/.installed
node: gateway/node_modules/.installed

# The web client: npm ci when web/node_modules is missing or older than the lock, vite build when
# web/dist is missing or older than its sources (devtools/web.py; `make run` does the same).
web: $(VENV)/.installed
	$(PY) -c 'from devtools.web import ensure_built; ensure_built()'

run: $(VENV)/.installed gateway/node_modules/.installed
	$(PY) -m devtools run

test: lint $(VENV)/.installed gateway/node_modules/.installed web
	$(PY) -m pytest

# ruff: the linter and the formatter (configured in pyproject.toml); `make fmt` applies both.
lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

fmt: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(VENV)/.installed gateway/node_modules/.installed
	$(PY) -m bench.run

# make token ROLE=partner SUB=tom@kestrel COMPANY=<id> [CONTACT=<id>] [TTL=8h]  (local key in TURNKEY_DATA_DIR)
token: $(VENV)/.installed
	@$(PY) -m devtools token --role $(or $(ROLE),admin) --sub $(or $(SUB),$(or $(USER),admin)) --ttl $(or $(TTL),8h) \
	  $(if $(COMPANY),--company $(COMPANY)) $(if $(CONTACT),--contact $(CONTACT))

# Recompose gateway/supergraph.graphql from the subgraphs' SDL (commit the result).
supergraph: $(VENV)/.installed gateway/node_modules/.installed
	$(PY) -m devtools sdl gateway/subgraphs
	cd gateway && node compose.mjs

clean:
	rm -rf $(VENV) gateway/node_modules web/node_modules web/dist .data

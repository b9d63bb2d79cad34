# The two commands a newcomer needs:
#   make serve   install (first time) and run the app on http://127.0.0.1:8000
#   make test    install (first time) and run the whole test suite
# Another port: make serve PORT=8001, make demo PORT=8001 (or HANGAR_PORT=8001 make serve).
# Needs only python3 (3.11+) and make. PDM is installed into .tools/, the project into .venv/.

PYTHON ?= python3
TOOLS := .tools
PDM := $(TOOLS)/bin/pdm
VENV := .venv
# Empty: the app's own default (HANGAR_PORT, else 8000).
PORT ?=
PORT_OPTION := $(if $(PORT),--port $(PORT))
export PDM_CHECK_UPDATE := false

.PHONY: serve test lint install demo clean

$(PDM):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "pdm==2.29.4" "hishel[httpx2]>=1.4,<2"

# compileall: with PYTHONDONTWRITEBYTECODE set (as on our CI machines) nothing is ever
# cached and every process start compiles every module again (~1.5 s a CLI start), so
# compile once here. Only a speed-up: a file that does not compile is not an error.
$(VENV)/.synced: pyproject.toml pdm.lock | $(PDM)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PDM) use --quiet -f $(VENV)/bin/python
	$(PDM) sync --quiet -G dev
	$(VENV)/bin/python -m compileall -q -j 0 $(VENV)/lib src >/dev/null 2>&1 || true
	touch $@

install: $(VENV)/.synced

serve: install
	$(VENV)/bin/hangar-bay serve $(PORT_OPTION)

demo: install
	$(VENV)/bin/hangar-bay demo $(PORT_OPTION)

test: install
	$(PDM) run test

lint: install
	$(PDM) run lint

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache

# Thin front door. Everything real lives in the nhs_league package and its CLI.
#   make report   build the reports on the embedded synthetic year (+ the real MH&C release and acute Q3 extract when ../shared is present)
#   make test     run the whole test suite
# Both create .venv from the pinned requirements when it is missing or out of date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FORCE  ?=
REPORT_ARGS ?=

.PHONY: report test bench clean-venv

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "nhs_league needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name nhs-league --display-name "nhs-league (.venv)" >/dev/null
	@# the notebooks name this kernel: installed for the user too, so papermill from a system Jupyter finds it
	$(BIN)/python -m ipykernel install --user --name nhs-league --display-name "nhs-league (.venv)" >/dev/null
	@touch $(STAMP)

# byte-compile the package first (only changed files): each report kernel imports it afresh, and
# where PYTHONDONTWRITEBYTECODE is set nothing would be cached between kernels
report: $(STAMP)
	@$(BIN)/python -m compileall -q nhs_league
	$(BIN)/nhs-league report $(if $(FORCE),--force) $(REPORT_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	@$(BIN)/python -m compileall -q nhs_league
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_bootstrap.py
	$(BIN)/python benchmarks/bench_sensitivity.py
	$(BIN)/python benchmarks/bench_report.py

clean-venv:
	rm -rf $(VENV)

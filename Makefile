# One-command set-up: `make report` and `make test` create the virtual environment themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := data/demo
STUDY ?= $(DEMO)/study.yml
RESULTS ?= results/$(shell basename "$$(dirname "$(STUDY)")")
ANALYSIS_FLAGS ?=
PYTEST_FLAGS ?=
# auto: Quarto when it is on PATH, else the qmdrender fallback; or quarto / qmdrender
RENDERER ?= auto

.PHONY: report analysis render test lint bench demo data publish venv clean distclean

report: analysis render
	@echo "report: $(CURDIR)/_output/index.html and $(CURDIR)/_output/index.pdf (from $(RESULTS))"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[report,test]'
	@touch $@

demo: $(DEMO)/study.yml

$(DEMO)/study.yml: analysis/demo.py analysis/deposit_demo.py | $(VENV)/.installed
	$(PY) -m analysis demo $(DEMO) --shape deposit

# Download the files STUDY names from its dataset's Dryad DOI (only missing or wrong ones).
data: $(VENV)/.installed
	@if [ "$(STUDY)" = "$(DEMO)/study.yml" ]; then \
	  echo "make data downloads a real study's files: make data STUDY=data/bold5000/study.yml (the demo is written by make demo)"; exit 2; fi
	$(PY) -m analysis fetch "$(STUDY)"

analysis: $(VENV)/.installed $(if $(filter $(DEMO)/study.yml,$(STUDY)),$(DEMO)/study.yml)
	$(PY) -m analysis run "$(STUDY)" --out "$(RESULTS)" $(ANALYSIS_FLAGS)

render: $(VENV)/.installed
	$(PY) tools/render.py --results "$(RESULTS)" --renderer $(RENDERER)

# Copy a run's tables and manifest to published/results/ (commit them: the Pages workflow renders them).
publish: $(VENV)/.installed
	$(PY) tools/publish_results.py "$(RESULTS)"

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	bash tools/system-deps.sh
	$(PY) -m pytest $(PYTEST_FLAGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed
	$(PY) -m bench
	$(PY) -m bench reading
	$(PY) -m bench deposit

clean:
	rm -rf results _output $(DEMO) .pytest_cache ._output.lock .quarto

distclean: clean
	rm -rf $(VENV) _bench *.egg-info

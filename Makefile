# lpft-edu: one virtualenv (.venv) shared by every target. `make lab` and `make test` are the
# two commands a newcomer needs; the rest are helpers for authors and instructors.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml changes (the stamp is older than it).
STAMP := $(VENV)/.lpft-installed
PORT ?= 8866
# Jupyter refuses to start as root (containers, CI machines) unless told it is deliberate.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
LAB_ARGS ?=
PYTEST_ARGS ?=

.PHONY: help install lab test sync launch student demos site bench smoke fake-data clean

help:
	@echo "make lab        open JupyterLab on lessons/ (installs into $(VENV) on first use)"
	@echo "make test       run the whole test suite (unit, notebooks, browser)"
	@echo "make demos      serve the Voila demos on http://127.0.0.1:$(PORT)"
	@echo "make student    write student versions (solutions stripped) to student/"
	@echo "make sync       re-pair lessons' .py sources with their .ipynb twins (no outputs)"
	@echo "make launch     refresh every lesson's Colab/Binder badges and Colab install cell"
	@echo "make site       build the course website into build/site/ (lessons executed in fast mode)"
	@echo "make smoke      lesson 3 end to end on fake data, on the CPU"
	@echo "make bench      run the benchmarks in benchmarks/"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "lpft-edu needs Python >= 3.10: run make with PYTHON=python3.11 (or newer)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,vision,dev,site]'
	@touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) lessons/

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# `make sync` re-pairs every lesson; `make sync LESSON=lessons/02_linear_theory.py` only that one.
LESSON ?=
sync: install
	$(BIN)/python -m lpft_edu.authoring sync $(LESSON)

# Badges and the Colab install cell at the top of each lesson, from lpft_edu/launch.py (REPO_URL:
# a fork edits it there, then runs this and `make student`).
launch: install
	$(BIN)/python -m lpft_edu.authoring launch $(LESSON)

# student/ is committed (Binder and Colab open it): run this after editing a lesson and commit the
# result; tests/test_student_notebooks.py fails while student/ differs from what this writes.
student: install
	$(BIN)/python -m lpft_edu.authoring student --out student

demos: install
	env -u MPLBACKEND $(BIN)/voila lessons/demos --Voila.ip=127.0.0.1 --port=$(PORT)

# Static course site, offline: every lesson executed in fast mode (a few minutes). Open
# build/site/index.html. Any Sphinx warning (broken link, failing cell) fails the build.
site: install
	$(BIN)/python site/build.py --out build/site

bench: install
	$(BIN)/python benchmarks/run_all.py

smoke: install
	$(BIN)/lpft-cifar-stl --smoke

fake-data: install
	$(BIN)/python data_scripts/make_fake_data.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts build

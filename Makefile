# Build, test, read and teach the executable book "Learning near the optimum".
#   make book     -> _build/html          full edition (exercises with folded solutions)
#   make student  -> _build/student/html  student edition (the same book without any solution)
#   make test     -> both editions if out of date, then pytest over tests/ (library, environment,
#                    links, editions, headless-browser site tests, live JupyterLab/Notebook/Voila tests)
#   make lab      -> JupyterLab at the book's root (chapters open as notebooks); make notebook: Notebook 7
#   make app      -> the dashboard of all seven explorers under Voila (no code shown)
# Works on a fresh clone with only python3, node/npm (and chromium for the browser tests).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.installed

VENDOR := assets/vendor
VENDOR_STAMP := $(VENDOR)/.installed

HTML  := _build/html
BUILT := $(HTML)/.built

# Everything whose change must trigger a rebuild before `make test`.
BOOK_SOURCES := $(shell find chapters lib -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*.ipynb_checkpoints*' 2>/dev/null) \
                $(wildcard *.md *.bib _ext/*.py) _config.yml _toc.yml

# Kernels: prefer the venv's own kernelspec over any user-level one.
export JUPYTER_PREFER_ENV_PATH := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

JB_BUILD = $(VENV)/bin/jupyter-book build . --all --warningiserror --nitpick --keep-going

STUDENT_HTML  := _build/student/html
STUDENT_BUILT := $(STUDENT_HTML)/.built

# The widgets compute their static HTML view (frames for the kernel-free site) only when this is
# set, so it is exported to book builds and deliberately not to `make lab`/`make app`/tests.
book student: export NEAROPT_STATIC_PREVIEW := 1
# Which edition _ext/student_edition.py builds (a BOOK_EDITION left in the shell must not leak in).
book: export BOOK_EDITION := full
student: export BOOK_EDITION := student

# Jupyter settings shipped with the book: `.md` chapters open as notebooks (Jupytext Notebook) by
# default, by URL and by double-click, in JupyterLab and Notebook 7 (postBuild does the same on Binder).
LABCONFIG_SRC := jupyter/labconfig/default_setting_overrides.json
LABCONFIG     := $(VENV)/etc/jupyter/labconfig/default_setting_overrides.json

# Jupyter refuses to run as root unless told; say so only when we are root (containers, CI).
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
LIVE_ENV   := env -u NEAROPT_STATIC_PREVIEW JUPYTER_PREFER_ENV_PATH=1
LAB_ARGS   ?=
APP_ARGS   ?=

.PHONY: env vendor book student test lab notebook app clean distclean

env: $(ENV_STAMP) $(LABCONFIG)

$(LABCONFIG): $(LABCONFIG_SRC) $(ENV_STAMP)
	install -D -m 644 $(LABCONFIG_SRC) $@

$(ENV_STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $@

vendor: $(VENDOR_STAMP)

# MathJax, RequireJS and the ipywidgets HTML manager, served from the book's own
# _static/ (via html_static_path in _config.yml) so that pages never hit a CDN.
# Deliberately not the source `_static/` folder: Jupyter Book 1 would add every
# .js file found there to every page.
$(VENDOR_STAMP): package.json package-lock.json assets/js/widgets-assets-path.js Makefile
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR)
	mkdir -p $(VENDOR)/mathjax $(VENDOR)/requirejs $(VENDOR)/html-manager
	cp -R node_modules/mathjax/es5/. $(VENDOR)/mathjax/
	# keep the one combined component the pages load (tex-svg.js) and the folders it autoloads
	# from (input/tex extensions, a11y, ui, sre); the other combined builds and the CHTML fonts
	# are never requested (about 15 MB less site)
	find $(VENDOR)/mathjax -maxdepth 1 -type f -name '*.js' ! -name 'tex-svg.js' -delete
	rm -rf $(VENDOR)/mathjax/output/chtml $(VENDOR)/mathjax/output/chtml.js
	cp node_modules/mathjax/LICENSE $(VENDOR)/mathjax/LICENSE.txt
	cp node_modules/requirejs/require.js $(VENDOR)/requirejs/
	cp node_modules/requirejs/package.json $(VENDOR)/requirejs/package.json
	find node_modules/@jupyter-widgets/html-manager/dist -maxdepth 1 -type f \
	    ! -name '*.map' ! -name 'embed.js' ! -name 'libembed-amd.js' ! -name '[0-9]*.embed.js' \
	    -exec cp {} $(VENDOR)/html-manager/ \;
	cp node_modules/@jupyter-widgets/html-manager/LICENSE $(VENDOR)/html-manager/LICENSE.txt 2>/dev/null || true
	cp assets/js/widgets-assets-path.js $(VENDOR)/html-manager/
	touch $@

# Always a full, fresh build (execute_notebooks: force + --all), so that a change
# in lib/ is reflected in every chapter.
book: env vendor
	@if [ -d _static ]; then echo "error: do not create a source _static/ folder (JB1 injects its .js into every page); use assets/" >&2; exit 1; fi
	rm -rf $(HTML)
	$(JB_BUILD)
	touch $(BUILT)

$(BUILT): $(BOOK_SOURCES) $(ENV_STAMP) $(VENDOR_STAMP)
	$(MAKE) book

# The same book without solutions (BOOK_EDITION=student, see _ext/student_edition.py): solutions are
# removed from the pages, the search index and the downloadable .md/.ipynb sources; the launch and
# repository buttons (which lead to the full sources) are dropped.
student: env vendor
	rm -rf _build/student
	$(JB_BUILD) --path-output _build/student
	mv _build/student/_build/html $(STUDENT_HTML)
	rm -rf _build/student/_build
	touch $(STUDENT_BUILT)

$(STUDENT_BUILT): $(BOOK_SOURCES) $(ENV_STAMP) $(VENDOR_STAMP)
	$(MAKE) student

test: env vendor $(BUILT) $(STUDENT_BUILT)
	$(PY) -m pytest -q

# Live reading: JupyterLab (or Notebook 7) at the book's root; open chapters/*.md.
lab: env
	$(LIVE_ENV) $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" $(ALLOW_ROOT) $(LAB_ARGS)

notebook: env
	$(LIVE_ENV) $(VENV)/bin/jupyter notebook --ServerApp.root_dir="$(CURDIR)" $(ALLOW_ROOT) $(LAB_ARGS)

# The dashboard for teaching: all seven explorers, no code (http://localhost:8866 by default).
app: env
	$(LIVE_ENV) $(VENV)/bin/voila app/dashboard.ipynb $(APP_ARGS)

# Build outputs and generated vendor files (keeps the venv and node_modules).
clean:
	rm -rf _build $(VENDOR)

# Everything generated, including the venv and node_modules.
distclean: clean
	rm -rf $(VENV) node_modules .pytest_cache

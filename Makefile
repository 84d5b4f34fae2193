# The two commands of the README: `make course` and `make test`. Both start with `make setup`.
PYTHON ?= python3
# torch: auto = the CPU build on Linux without an NVIDIA driver, else PyPI's default; cpu; cuda.
TORCH  ?= auto
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The Python and torch choice the environment was built with; a different one rebuilds it.
SETTINGS := .venv-settings
# make test's pytest workers (make test TEST_WORKERS=N). Two on the two-core machine: three were
# measured twice against two, same tree, back to back: 523 s against 580 s of pytest, then 605 s
# against 528 s, and three burned about a fifth more CPU time (1,194 against 985 CPU-seconds).
TEST_WORKERS ?= 2
PYTEST_NB := --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
             --nbval-sanitize-with nbval_sanitize.cfg

.PHONY: setup course test test-fast lint notebooks browser bubblewrap clean FORCE

setup: $(STAMP)

$(SETTINGS): FORCE
	@echo "PYTHON=$(PYTHON) TORCH=$(TORCH)" | cmp -s - $@ || echo "PYTHON=$(PYTHON) TORCH=$(TORCH)" > $@

$(STAMP): pyproject.toml constraints.txt $(SETTINGS)
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit("rmcourse needs Python >= 3.10, found " + sys.version.split()[0]) if v < (3, 10) else print("note: rmcourse is tested on Python 3.10 to 3.13, this is", sys.version.split()[0]) if v > (3, 13) else None'
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/python scripts/install_torch.py $(TORCH)
	@# uv where it can (half pip's time), pip otherwise: the same pins, from pip's package sources
	$(BIN)/python scripts/install_course.py dev,hf
	@# `rmcourse course` builds the course wheel with setuptools >= 77 (a venv has an older one or none)
	$(BIN)/python -c "import sys, setuptools; sys.exit(int(setuptools.__version__.split('.')[0]) < 77)" \
	  2>/dev/null || $(BIN)/python -m pip install --quiet "setuptools>=77"
	@touch $(STAMP)

# Debian's Chromium for the browser test; installed when missing and when we may (root or sudo).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "chromium could not be installed: the browser test will skip"; \
	else echo "no /usr/bin/chromium and no root: the browser test will skip"; fi

# bubblewrap, the box `rmcourse grade` runs student kernels in (else it uses `unshare`, slower to
# start); installed when missing and when we may (root and apt-get).
bubblewrap:
	@if command -v bwrap >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap for the grading box"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
	    || echo "bubblewrap could not be installed: grading uses unshare where it can"; \
	else echo "no bwrap and no root: grading uses unshare where it can (see rmcourse doctor)"; fi

course: setup
	$(BIN)/rmcourse course

lint: setup
	$(BIN)/ruff check rmcourse tests benchmarks scripts conftest.py
	$(BIN)/ruff format --check rmcourse tests benchmarks scripts conftest.py

# The compute threads of each process the tests start (pytest workers, the lessons' kernels, the
# grading kernels, which take them instead of the grader's own default of one): this machine's
# logical CPUs shared out among the workers (make test TEST_THREADS=N to choose). Two workers
# already keep two CPUs busy; a process's extra threads would only wait, spinning, for a CPU the
# other worker holds.
TEST_THREADS ?= $(shell $(PYTHON) -c 'import os; print(max(1, len(os.sched_getaffinity(0)) // $(TEST_WORKERS)))' 2>/dev/null || echo 1)
THREADS_ENV := OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) OPENBLAS_NUM_THREADS=$(TEST_THREADS)

# PYTEST_ARGS: more pytest options, e.g. --junitxml=FILE for benchmarks/test_time.py
test: setup browser bubblewrap lint
	$(THREADS_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope --durations=25 --doctest-modules $(PYTEST_NB) \
	  $(PYTEST_ARGS) rmcourse tests notebooks solutions exercises

# The edit-test loop: everything except notebooks, kernels, the browser and slow tests (< 1 min).
# Without nbval: it reads notebooks only.
test-fast: setup
	$(THREADS_ENV) $(BIN)/python -m pytest -q -n 2 -p no:nbval -m "not slow and not kernel and not browser" \
	  --doctest-modules rmcourse tests

# Re-execute the committed lessons in place (after a library change), without volatile metadata.
notebooks: setup
	$(BIN)/rmcourse refresh notebooks/*.ipynb

clean:
	rm -rf $(VENV) $(SETTINGS) build .pytest_cache .ruff_cache

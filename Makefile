# Two commands do all the set-up on a fresh machine with Python 3.11 (no conda needed):
#   make book   install, execute every notebook (default profile, phantom data), regenerate the
#               README's results section from results/, build the HTML book
#   make test   install, then unit tests + notebook runs with the smoke profile + the book build
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)
PROFILE ?= default
JOBS    ?= 2

export NO_ALBUMENTATIONS_UPDATE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export HF_HUB_OFFLINE := 1

.PHONY: install book notebooks test clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

notebooks: $(STAMP)
	$(BIN)/python -m mammorepro run --all --profile $(PROFILE) --jobs $(JOBS)

book: notebooks
	$(BIN)/python -m mammorepro readme
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf _build book/executed

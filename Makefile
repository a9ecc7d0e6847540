# Two commands do all the set-up on a fresh machine with Python 3.11 (no conda needed):
#   make book   install, execute every notebook (default profile, phantom data), regenerate the
#               README's results section and the reproducibility pages from results/, build the HTML book
#   make test   install, then unit tests + notebook runs with the smoke profile + the book build
# `make install` installs requirements.lock exactly: every package at one version, each file
# checked against its SHA-256 (--require-hashes), nothing resolved on the fly (--no-deps).
#   make install TORCH=own   keep a GPU machine's own torch, torchvision, triton and CUDA wheels
#                            and install the rest of the lock: into VENV=<an environment that
#                            has your torch>, or a new .venv made with --system-site-packages
#                            from PYTHON=<the conda env's / system python that has it>
#   make lock                re-resolve requirements.txt into requirements.lock (pip-tools)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LOCK   ?= requirements.lock
TORCH  ?= lock
STAMP  := $(VENV)/.installed-$(TORCH)-$(shell cat $(LOCK) pyproject.toml | cksum | cut -d' ' -f1)
PROFILE ?= default
JOBS    ?= 2
PIP     := $(BIN)/python -m pip install --disable-pip-version-check -q
# the lock's lines of the packages TORCH=own keeps (a pinned line and its --hash lines)
OWN_TORCH := ^(torch|torchvision|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)==

export NO_ALBUMENTATIONS_UPDATE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export HF_HUB_OFFLINE := 1

.PHONY: install lock book notebooks test clean

install: $(STAMP)

ifeq ($(TORCH),lock)
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --no-deps --require-hashes -r $(LOCK)
	$(PIP) --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@rm -f $(VENV)/.installed-*
	@touch $@
else ifeq ($(TORCH),own)
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv --system-site-packages $(VENV)
	@$(BIN)/python -c "import torch, torchvision" 2>/dev/null || { echo "TORCH=own: $(BIN)/python cannot import torch and torchvision; point VENV at an environment that has your torch, or PYTHON at a conda env's or the system's python that has it (a new venv sees it via --system-site-packages), or leave TORCH unset to install the lock's"; exit 1; }
	awk '/^[^ #]/ { skip = ($$0 ~ /$(OWN_TORCH)/) } !skip' $(LOCK) > $(VENV)/requirements-own-torch.lock
	$(PIP) --no-deps --require-hashes -r $(VENV)/requirements-own-torch.lock
	$(PIP) --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	@echo "TORCH=own: kept torch $$($(BIN)/python -c 'import torch; print(torch.__version__)'); the lock has $$(grep '^torch==' $(LOCK) | cut -d' ' -f1)"
	@rm -f $(VENV)/.installed-*
	@touch $@
else
$(STAMP):
	@echo "TORCH=$(TORCH) is not an option: use TORCH=lock (the default: the lock's torch) or TORCH=own (keep the torch $(PYTHON) has)"; exit 1
endif

lock: requirements.txt
	@test -x $(VENV)-lock/bin/pip-compile || { $(PYTHON) -m venv $(VENV)-lock && $(VENV)-lock/bin/python -m pip install -q pip-tools==7.7.0; }
	$(VENV)-lock/bin/pip-compile --generate-hashes --allow-unsafe --strip-extras --no-annotate --no-header --no-emit-index-url --no-emit-find-links -q requirements.txt -o $(LOCK).new
	@{ sed -n '1,/^$$/p' $(LOCK); cat $(LOCK).new; } > $(LOCK).tmp && mv $(LOCK).tmp $(LOCK) && rm -f $(LOCK).new
	@echo "$(LOCK) regenerated from requirements.txt"

notebooks: $(STAMP)
	$(BIN)/python -m mammorepro run --all --profile $(PROFILE) --jobs $(JOBS)

book: notebooks
	$(BIN)/python -m mammorepro readme
	$(BIN)/python -m mammorepro pages
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf _build book/executed

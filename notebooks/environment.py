# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Environment: the lock and what each result folder was made with
#
# `requirements.lock` pins every package the book and the tests import, with its dependencies,
# to one version and its SHA-256 hashes. `make install` (and so `make book` and `make test`)
# installs exactly it; `make install TORCH=own` keeps a GPU machine's own torch, torchvision and
# triton and installs the rest of the lock. Each result folder's `env.json` records the versions
# it was made with. This page trains nothing: it compares the two.
#
# A result folder that does not match the lock is not wrong, but its numbers come from other
# floats: a short training run amplifies the last bits of a float (another torch release,
# another CPU's kernels) into differences of several Dice points, which is why the tests assert
# properties of trained models and pin only values measured to be the same on every CPU code
# path (`benchmarks/cpu_code_paths.py`).

# %% tags=["parameters"]
results_root = "results"
lock_file = "requirements.lock"

# %%
import pandas as pd

from mammorepro.report import lock

pd.set_option("display.max_colwidth", 160)
lock.lock_table(lock_file)

# %% [markdown]
# ## Every result folder against the lock

# %%
table = lock.environment_table(results_root, lock_file)
print(f"{int(table['matches the lock'].sum())} of {len(table)} result folders match the lock")
table

# %% [markdown]
# ## Deviations and limits
#
# - env.json records the versions of the packages listed in `mammorepro.report.results.PACKAGES`,
#   not every package of the lock; a difference in another package is not seen here.
# - The lock is for Linux x86-64 and Python 3.11 (the wheels' hashes are those files'). On
#   another platform use `make install TORCH=own` after installing torch yourself, or
#   `pip install -e .` with the loose ranges of `pyproject.toml`: the result folders then show
#   their versions on this page.

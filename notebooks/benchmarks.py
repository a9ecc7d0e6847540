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
# # Speed: the engine against a bare loop, precision settings, and the dense CRF on a GPU
#
# | target | how it is measured | script |
# |---|---|---|
# | the library's engine costs nothing over hand-written PyTorch: >= 0.9 x a bare loop | the same model, batch, input size and precision, engine and bare loop alternated in one process, median of several rounds | `benchmarks/engine_speed.py` |
# | AMP (bf16 on Hopper) + channels_last >= 1.5 x fp32 | same script, every setting side by side | `benchmarks/engine_speed.py` |
# | the torch dense CRF agrees with pydensecrf2: Dice within 0.5 point on the p1 test set | both backends on the p1 chapter's DS U-Net test probabilities | `benchmarks/crf_speed.py` |
# | the torch dense CRF >= 20 x faster on a GPU | seconds per image, each backend in turn | `benchmarks/crf_speed.py` |
#
# This page trains nothing: it reads the JSON files under `benchmarks/results/`, each written
# by its script with the device, versions and commit. A file measured on a GPU carries `cuda`
# in its name and shows next to the CPU one. Numbers that miss a target are shown as missed.

# %% tags=["parameters"]
benchmarks_dir = "benchmarks/results"

# %%
import pandas as pd

from mammorepro.report import benchmarks

results = benchmarks.load(benchmarks_dir)
benchmarks.machines(results)

# %% [markdown]
# ## Training throughput: engine vs bare loop, fp32 vs AMP vs AMP + channels_last

# %%
engine = {name: benchmarks.engine_table(r) for name, r in results.items() if name.startswith("engine_speed")}
pd.concat(engine, names=["file"]) if engine else "no engine_speed result yet: run python benchmarks/engine_speed.py"

# %% [markdown]
# ## CPU settings for the `real` profile: threads, channels_last, bf16, torch.compile, cached crops
#
# `benchmarks/cpu_settings.py`: each setting changes one thing against today's loop, all of
# them in turn in every round of one process; the ratio is the median of the paired ratios.

# %%
cpu = {name: benchmarks.cpu_settings_table(r) for name, r in results.items() if name.startswith("cpu_settings")}
pd.concat(cpu, names=["file"]) if cpu else "no cpu_settings result yet: run python benchmarks/cpu_settings.py"

# %%
{name: r.get("cpu_flags") for name, r in results.items() if name.startswith("cpu_settings")}

# %% [markdown]
# ## The dense CRF: torch vs pydensecrf2

# %%
crf = {name: benchmarks.crf_tables(r) for name, r in results.items() if name.startswith("crf_speed")}
pd.concat({k: v[0] for k, v in crf.items()}, names=["file"]) if crf else "no crf_speed result yet: run python benchmarks/crf_speed.py"

# %%
pd.concat({k: v[1] for k, v in crf.items()}, names=["file"]) if crf else ""

# %% [markdown]
# ## Deviations and limits
#
# - **No GPU numbers unless a file says so.** AMP's and channels_last's gains, torch.compile,
#   the GPU busy share, the model FLOPs utilisation and the CRF's GPU speed-up need a GPU; a
#   CPU file shows what a CPU gives (AMP in bf16 on a CPU is usually slower than fp32).
# - **Synthetic batches.** The throughput runs train on random images with a fixed square
#   mask: what is measured is the training step and the data path of the engine, not the
#   preprocessing (the preprocessed cache, `benchmarks/cache_throughput.py`, measures that).

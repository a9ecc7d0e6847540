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
# # Claims vs reproduced, with a verdict for each claim
#
# This page trains nothing: it reads every result folder `results/pN/<dataset>/<profile>/` and
# puts each paper's claim beside what the run measured, with a verdict computed from a fixed
# rule. The verdicts come first; how to read the columns and the rule follow them.

# %% tags=["parameters"]
profile = "default"  # which profile's result folders to show first; every folder is read
results_root = "results"

# %%
import pandas as pd

from mammorepro.report import claims

pd.set_option("display.max_colwidth", 120)
found = claims.collect(results_root)
frame = claims.claims_frame(found)
frame = frame.assign(first=frame["profile"] != profile).sort_values(["first", "paper", "profile"], kind="stable").drop(columns="first")
{"result folders read": frame["result_dir"].nunique(), "claims": len(frame)}

# %% [markdown]
# ## Verdicts per paper

# %%
claims.verdict_counts(frame)

# %% [markdown]
# ## Every claim as a forest plot
# One row per claim and result folder: the paper's number (x), this run's under the paper's
# definition (dot, with its 95 % CI), coloured by verdict, and the best score of a prediction
# that segments nothing (grey bar). One panel per dataset.

# %%
fig_forest = claims.forest_plot(frame)

# %% [markdown]
# ## Every claim about methods
# "A beats B" as the paired difference per image (seed by seed, then a two-level bootstrap over
# seeds and images; the CI level is Bonferroni-corrected over the chapter's comparisons). On
# real data such a claim is judged whatever the paper's dataset was: it holds on that data or it
# does not. On the phantom it only shows the mechanism.

# %%
fig_comparisons = claims.comparison_plot(frame)

# %% [markdown]
# ### Where a judged difference comes from
# The same paired difference over the test images that hold a lesion and over those that hold
# none. An image without a lesion scores 1 when a method predicts nothing there and 0 for any
# speck, so a method can "win" there by leaving fewer false-positive specks while segmenting
# no mass better.

# %%
claims.lesion_breakdown(found, results_root)

# %% [markdown]
# ## How to read this page
#
# It reads every paper's reported numbers (kept in the library
# next to each paper's config, `mammorepro/papers/pN.py`, and recorded in each run's
# metrics.json) and every result folder `results/pN/<dataset>/<profile>/`, and puts each claim beside
# what the run measured:
#
# | column | what it holds |
# |---|---|
# | reported | the paper's number, where it prints it |
# | reproduced (paper's definition) | this run under the paper's own metric definition, or the most favourable reading of its words where it states none |
# | reproduced (strict) | foreground Dice or IoU per image over every test image, at the 0.5 threshold |
# | 95 % CI | of the paper's-definition value where the run has one, else of the strict value (the column says which) |
# | without segmenting | the best score of a prediction that finds nothing, under the paper's definition or a reading its words admit |
# | verdict, because | from the rule below, computed, never typed |
# | experiment | the chapter section that shows the mechanism |
# | run | the result folder, its data, device, commit and split file hash |
#
# Claims about methods ("A beats B") have rows too: their reported column is empty (the papers give
# the two numbers, not a tested difference) and their reproduced value is the paired difference.
#
# **The rule** (`mammorepro.report.claims.RULES`, applied by `mammorepro.report.claims.verdict`)
# is printed below from the code: the first rule that applies gives the verdict. A run on the
# phantom shows mechanisms and never decides a verdict about a paper; a claim about a method that
# learned nothing on the run (the degeneracy gate: no better than the all-background prediction,
# or equal to a trivial prediction) is not judged. A run on the paper's own data
# (`--profile full -p dataset ...`) writes a result folder that this page reads like any other.

# %%
claims.rules_table()

# %% [markdown]
# ## Every claim

# %%
claims.display(frame).set_index(["paper", "claim"])

# %% [markdown]
# ## Deviations from the papers
#
# - **Readings, not the papers' code.** Only p1 released evaluation code; for the others the
#   "paper's definition" is the reading stated in each chapter (p2: the most favourable of
#   the definitions its word admits; p5: the Keras `segmentation_models` batch mean its
#   example uses). The strict value beside it is the same for every paper.
# - **Data.** The default profile runs on the built-in phantom, so no claim can be
#   reproduced or refuted here: every phantom row reads "mechanism shown on the phantom". The
#   score of predicting no mass ("without segmenting") is still shown: it depends on the share
#   of pixels that are mass, and the chapters show that share.
# - **Comparative claims** ("A beats B") are judged here from each result folder's per-case
#   table; a paper that states "highest" is tested as one pairwise comparison per other model.

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
# # Real data: the shared protocol on mini-MIAS
#
# mini-MIAS (Suckling et al. 1994; 322 images at 1024 x 1024, 200 um per pixel) is the one
# mammography data set anyone can download freely. The shared protocol runs on it with its
# own split scheme: **five folds by patient**, each fold the test part once; **masses only**
# are segmented, and the images without any lesion count as the detector's negatives (false
# positives per image).
#
# | question | how this page answers it |
# |---|---|
# | do the methods rank on real mammograms as they do on the phantom? | both runs' tables side by side, same code, same metrics |
# | what do mini-MIAS's masks do to every Dice score? | **its masks are circles** (centre and radius), not outlines: the agreement between true outlines and their enclosing circles, measured on phantom masses |
#
# **mini-MIAS masks are circles.** Its `Info.txt` gives each abnormality as a centre and a
# radius. Every Dice, IoU and pixel accuracy on mini-MIAS below is measured against those
# circles, so it rewards drawing circles: a method that traces the true outline of a
# spiculated mass loses against the circle. Read its numbers as agreement with a circle.
#
# This page trains nothing; it reads `results/side_by_side/<dataset>/<profile>/metrics.json`.
# The committed mini-MIAS folder was made on a CPU from a 95-image sample of mini-MIAS (all 55
# images with a mass and 40 normal ones; the overview below gives its test counts, seeds and
# commit). To remake it from the official download (the 322 PGM files and `Info.txt`), or to
# run the five folds with the full profile (a GPU is advised):
#
# ```
# python -m mammorepro run side_by_side --profile default -p dataset mias -p data_root /path/to/mini-MIAS -p n_seeds 3
# python -m mammorepro run side_by_side --profile full -p dataset mias -p data_root /path/to/mini-MIAS
# ```

# %% tags=["parameters"]
n_cases = 60  # phantom cases used to measure outline-vs-circle agreement
seed = 0
results_root = "results"

# %%
# %matplotlib inline
from mammorepro import data
from mammorepro.papers import real_data

runs = real_data.side_by_side_runs(results_root)
real_data.runs_overview(runs)

# %% [markdown]
# ## The result folders side by side
#
# Each column is one result folder (data / profile / device), each cell the method's
# per-image Dice with its 95 % CI. When no mini-MIAS folder exists, only the phantom's
# column appears: the overview above lists what was found.

# %%
real_data.beside(runs, "dice_per_image")

# %%
real_data.beside(runs, "pixel_accuracy")

# %%
{"mini-MIAS result folders": sum(r["metrics"]["dataset"] == real_data.REAL_DATASET for r in runs)}

# %% [markdown]
# ## Which methods learned anything
#
# A method whose per-image Dice gain over the all-background prediction (paired over the same
# images) has a CI that does not lie above 0, or that predicts (almost) nothing or everything,
# has learned nothing measurable on that run: its row is kept, and no conclusion about it, or
# about the paper it comes from, is drawn from that run (the degeneracy gate every chapter uses).

# %%
real_data.learned(runs)

# %% [markdown]
# ## What circles do to a mask
#
# Phantom masses have known outlines. Each is replaced by the circle mini-MIAS would record
# (centre of mass, radius to the farthest pixel), and the Dice between outline and circle is
# the best any method that draws the true outline can score against a circle.

# %%
cases = data.make_cases(n_cases, seed)
real_data.circle_agreement(cases, seed)

# %%
fig_circles = real_data.plot_circles(cases, n=4)

# %% [markdown]
# ## Deviations from the papers
#
# - **No paper used mini-MIAS.** This chapter is the shared protocol on a freely available
#   real data set, not a replication of a claim.
# - **Circles instead of outlines.** mini-MIAS gives no outline; every mask is the circle of
#   its `Info.txt` line. The CBIS-DDSM, INbreast and Mini-DDSM loaders read outlines.
# - **A sample, one fold, a CPU budget.** The committed mini-MIAS run uses 95 of the 322 images
#   (every image with a mass and 40 normals), fold 1 of the five, and the default profile's
#   short training at 128 x 128, because it was made on a 2-core CPU. Its numbers say how the
#   methods rank on real mammograms at that budget, not what they reach when trained as their
#   papers trained them (the full profile). The tests exercise the loader, the five folds and
#   the circle masks on phantom cases written in mini-MIAS's own layout
#   (`python -m mammorepro data phantom mias DEST`), since a user's clone has no mini-MIAS.

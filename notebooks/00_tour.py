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
# # Tour: phantom mammograms, preprocessing, a U-Net baseline and every metric definition
#
# ```{glue:md} finding
# :format: myst
# ```
#
# This chapter walks through the parts every paper replication in this book shares: the data
# (here the built-in **phantom**, a procedural full-field mammogram generator with exact mass
# masks), the preprocessing chain, the training engine, and the metric code. It trains a small
# U-Net briefly and scores it **and the all-background prediction** under every metric
# definition the five papers use.
#
# What this chapter sets out to show, checked against the numbers at the end:
#
# | claim | how it is checked |
# |---|---|
# | the phantom looks like a mammogram | gallery next to real mini-MIAS and Mini-DDSM images |
# | a briefly trained U-Net beats the all-background prediction on lesion-level Dice | `dice_per_image` of both, with 95 % CIs |
# | pixel accuracy and background-inclusive mean IoU are high even for a prediction that finds nothing | the all-background column |
#
# Run it yourself: `python -m mammorepro run 00_tour --profile default -p epochs 20`.
# Every number below comes from this run and is written to `results/tour/<dataset>/<profile>/`.

# %% tags=["parameters"]
profile = "default"  # smoke | default | full
dataset = "phantom"  # phantom (built in) | cbis-ddsm | inbreast | mini-ddsm | mias | cdd-cesm
data_root = ""  # folder of a real dataset; empty: the environment variable (see README)
seed = 0
image_size = None  # None: take the value of the profile
epochs = None
batch_size = None
lr = None
n_cases = None
device = "auto"  # auto | cpu | cuda
results_root = "results"
overwrite = False  # replace a result folder made with other parameters (same chapter, dataset, profile)
real_samples_dir = "tests/fixtures"

# %%
# %matplotlib inline
from IPython.display import Markdown
from myst_nb import glue

from mammorepro.report.pages import finding, provenance
from mammorepro import tour

cfg = tour.configure(
    profile,
    dataset=dataset,
    data_root=data_root,
    seed=seed,
    image_size=image_size,
    epochs=epochs,
    batch_size=batch_size,
    lr=lr,
    n_cases=n_cases,
    device=device,
    results_root=results_root,
    overwrite=overwrite,
)
cfg

# %% [markdown]
# ## The data: phantom cases next to real mammograms
#
# Each phantom image is 16-bit, 1024 x 512 (the aspect of a real mammogram), CC or MLO view
# (with a pectoral muscle), left or right, with a BI-RADS density class A-D from power-law
# parenchymal texture, 0-3 masses (red outlines) of five shapes and margins, calcification
# clusters that are *not* part of the mask, noise and, on about half the images, film artifacts
# (bright borders, a label). On the right, real images from mini-MIAS and Mini-DDSM when the
# fixtures are present.

# %%
cases = tour.load(cfg)
fig_cases = tour.plot_cases(cases, n=6, real_samples=tour.real_samples(real_samples_dir))

# %% [markdown]
# ## Preprocessing, step by step
# Border crop (scanner edges), CLAHE, resize keeping the aspect ratio with zero padding to a
# square, normalisation to [0, 1]. Each image's extent on the square travels with it: metrics
# count the image's own pixels, never the padding.

# %%
fig_pre = tour.plot_preprocessing(next(c for c in cases if c.lesions), cfg)

# %% [markdown]
# ## Split by patient (saved once, reused on every rerun) and preprocess

# %%
prepared = tour.prepare(cfg, cases)
{"split file": prepared.split_path.name, "sha256": prepared.split_sha256[:16], **{k: len(v) for k, v in prepared.parts.items()}}

# %%
prepared.meta.groupby("part")[["n_masses", "mass_fraction"]].agg(["count", "mean"]).round(4)

# %% [markdown]
# ## Train the U-Net baseline
# BCE + soft Dice loss, Adam, the profile's epochs; the weights of the epoch with the best
# validation Dice are kept.

# %%
model = tour.build_model(cfg)
history = tour.train(cfg, model, prepared)
fig_hist = tour.plot_history(history)
history.to_frame().round(4)

# %% [markdown]
# ## Every metric definition, for the model and for a prediction that finds nothing
#
# Per-image metrics show the mean and a 95 % bootstrap CI over test images. The empty-mask
# policy: an image without a mass scores 1 when nothing is predicted, 0 otherwise.

# %%
scored = tour.score(cfg, model, prepared)
scored.table

# %%
fig_pred = tour.plot_predictions(prepared, scored, threshold=cfg["threshold"])

# %% [markdown]
# ## Results written with their provenance

# %%
out = tour.record(
    cfg,
    prepared,
    model,
    history,
    scored,
    figures={"cases": fig_cases, "preprocessing": fig_pre, "history": fig_hist, "predictions": fig_pred},
)
provenance(out, "00_tour")

# %%
# the finding this page opens with, generated from the result folder just written
glue("finding", Markdown(finding(out)), display=False)

# %% [markdown]
# ## Reading the table
#
# - **Lesion-level metrics** (`dice_per_image`, `iou_per_image`, the pooled ones,
#   `sensitivity_per_image`) are 0 for the all-background prediction on images with a mass:
#   they measure whether masses are found and outlined.
# - **Pixel accuracy** is close to 1 for the all-background prediction (its row in the table
#   above), because masses cover a small share of the pixels. A high pixel accuracy says almost
#   nothing about mass segmentation.
# - **Background-inclusive mean IoU** (`miou_fg_bg`) averages the background IoU (close to 1)
#   with the mass IoU, so finding nothing already scores about 0.5.
#
# The paper chapters report every paper's number under its own definition *and* under the
# lesion-level one, with this baseline beside it.
#
# ## Deviations and limits
# - This chapter replicates no paper: it is the shared baseline. The U-Net is narrower than
#   Ronneberger's (the profile's `base_width`, 64 in the paper) and trained briefly on a CPU.
# - Scores are computed at the model's input resolution (`image_size`), not at the original
#   1024 x 512; the paper chapters state their own choice.
# - The phantom is not a real dataset: its difficulty was calibrated so that this baseline
#   clearly beats the all-background prediction and stays far from perfect
#   (`tests/test_calibration.py`).

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
# # All five methods on one shared protocol
#
# ```{glue:md} finding
# :format: myst
# ```
#
# Each paper evaluates its method on its own data, its own split and its own metric code, so
# their numbers cannot be set side by side. Here every method is trained and scored on the
# **same** images, the **same** saved split file, the **same** preprocessing and the **same**
# metric module (`mammorepro.metrics`), over several seeds (or, on mini-MIAS, five folds).
#
# | what each paper claims, in its own setting | reported | how this page checks it |
# |---|---|---|
# | p1: DS U-Net + Dense CRF, Dice on CBIS-DDSM (abstract) | 84.0 % | DS U-Net with and without the CRF, same split as every other method |
# | p2: MultiRes U-Net beats U-Net (Table 1) | IoU 95.74 vs 92.48 % | both, same split |
# | p3: two-stage detection + patch segmentation beats one-stage (Table 5) | Dice 77.51 vs 53.38 % | the two-stage pipeline against the whole-image segmenters |
# | p4: Dilation10 is the best of FCN, U-Net, Dilation10, DeepLabv3 (Table 10) | pixel accuracy 93.69 % | FCN8, Dilation10, DeepLabv3 and U-Net, same split |
# | p5: EfficientNet-B3 U-Net, mean IoU (Table 1) | 0.956 | the same model, same split |
#
# What is shared and what stays each method's own is set out in
# `mammorepro.papers.side_by_side` (its docstring) and in the table of sources below. The
# all-background prediction (no mass anywhere) is a row of every table: a number that does
# not beat it says nothing about segmentation. Every number below comes from this run and is
# written to `results/side_by_side/<dataset>/<profile>/`.

# %% tags=["parameters"]
profile = "default"  # smoke | default | full
dataset = "phantom"  # phantom (built in) | cbis-ddsm | inbreast | mini-ddsm | mias | cdd-cesm
data_root = ""  # folder of a real dataset; empty: the environment variable (see README)
seed = 0  # first seed; n_seeds seeds are used: seed, seed+1, ...
n_seeds = None
folds = None  # how many of the dataset's named splits to run (mini-MIAS: up to 5 folds)
methods = None  # comma-separated subset of the methods; None: all
n_cases = None  # phantom only: how many cases to generate
image_size = None  # every method's input (a multiple of 64)
patch_size = None  # the two-stage pipeline's patches (a multiple of 32)
epochs = None
batch_size = None
lr = None  # Adam, for every method
det_iterations = None  # the detector's training iterations
msf_lambda = None  # the multi-scale fusion threshold (p3: 0.6)
crf_backend = None  # DS U-Net + CRF: pydensecrf (the CPU reference) | torch (the same CRF on the GPU)
device = "auto"  # auto | cpu | cuda
results_root = "results"
overwrite = False  # replace a result folder made with other parameters (same chapter, dataset, profile)

# %%
# %matplotlib inline
import pandas as pd

from mammorepro.papers import real_data
from IPython.display import Markdown
from myst_nb import glue

from mammorepro.report.pages import finding, provenance
from mammorepro.papers import side_by_side

cfg = side_by_side.configure(
    profile,
    dataset=dataset,
    data_root=data_root,
    seed=seed,
    n_seeds=n_seeds,
    folds=folds,
    methods=methods,
    n_cases=n_cases,
    image_size=image_size,
    patch_size=patch_size,
    epochs=epochs,
    batch_size=batch_size,
    lr=lr,
    det_iterations=det_iterations,
    msf_lambda=msf_lambda,
    device=device,
    results_root=results_root,
    overwrite=overwrite,
)
cfg

# %% [markdown]
# ## The methods and what each takes from its paper

# %%
pd.DataFrame(
    [{"method": m, "paper": side_by_side.METHODS[m].paper, "taken from the paper": side_by_side.METHODS[m].source} for m in side_by_side.method_names(cfg)]
).set_index("method")

# %% [markdown]
# ## Data and the saved split
#
# The images that show a mass are what every method segments; images with no lesion stay in
# the split as the detector's negatives.

# %%
cases = side_by_side.load(cfg)
splits = side_by_side.split_names(cfg, cases)
{"images": len(cases), "with a mass": sum(bool(c.mass_masks()) for c in cases), "splits run": splits}

# %% [markdown]
# ## Training every method (seeds x splits)

# %%
result = side_by_side.run(cfg, cases)
pd.DataFrame(result.runs).round(1)

# %% [markdown]
# ## Method x metric, with 95 % confidence intervals
#
# Per-image Dice and IoU: the mean over test images of each image's score (averaged over
# seeds), with a bootstrap CI over images. Pooled Dice, mean IoU (background and mass) and
# pixel accuracy: computed from the counts summed over the test images, with a bootstrap CI
# that resamples images. The detector's TPR and false positives per image are taken at the
# fusion threshold over every test image, normals included, and its AP at IoU 0.5 at the
# single scale from every detection (mean over runs, t-interval).

# %%
table = side_by_side.results_table(cfg, result)
side_by_side.display_table(table)

# %%
Markdown("\n".join(f"- {s}" for s in side_by_side.detector_findings(cfg, result)))

# %%
fig_ci = side_by_side.plot_table(table)

# %% [markdown]
# ## What each method draws
#
# Test images of the first split from the worst to the best Dice (mean over methods);
# ground truth green, prediction red.

# %%
fig_pred = side_by_side.plot_predictions(result, n=3, threshold=cfg["threshold"])

# %%
out = side_by_side.record(cfg, result, table, {"ci": fig_ci, "predictions": fig_pred})
provenance(out, "side_by_side")

# %%
# the finding this page opens with, generated from the result folder just written
glue("finding", Markdown(finding(out)), display=False)

# %% [markdown]
# ## Every dataset this protocol has run on
# Each committed result folder of the shared protocol (`results/side_by_side/<dataset>/<profile>/`)
# as its own column: Dice per image, mean [95 % CI], with the folder's provenance above it.

# %%
every = real_data.side_by_side_runs(results_root)
real_data.runs_overview(every)

# %%
real_data.beside(every, "dice_per_image")

# %% [markdown]
# ## Deviations from the papers
#
# - **One optimiser for all.** Adam at one learning rate, the same epochs, batch size and
#   augmentation for every method, and the best epoch by validation Dice. The papers use
#   AdamW with cosine annealing (p1), SGD with a piecewise schedule (p4) and Adam (p2, p3,
#   p5); each chapter runs its paper's own recipe.
# - **One preprocessing chain.** Border crop, CLAHE, resize to a square `image_size`, min-max.
#   p4 feeds raw images and p5 adds a JPEG round trip and a median filter; the chapters keep
#   those. The two-stage pipeline's patches keep p3's histogram equalisation: it is part of
#   that method.
# - **Staged training collapsed.** FCN8 and Dilation10 are trained in one stage from their
#   initialisation (p4 trains FCN32 -> 16 -> 8 and Dilation10 front -> context -> global).
# - **The two-stage pipeline on square images.** p3's detector works on 2:1 full mammograms
#   at five scales with pre-training on CBIS-DDSM; here it runs on the shared square images
#   at three scales (0.75, 1 and 1.25 x `image_size`), without pre-training, its anchors
#   clustered on the training boxes.
# - **Widths.** Every architecture runs at its chapter's width for the profile (the default
#   profile's are narrow, for a 2-core CPU); the full profile uses the papers' widths except
#   where a chapter notes otherwise.
# - **Masses only.** Every method is trained and scored on the images that show a mass;
#   images without any lesion count only for the detector's false positives per image.

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
# # p2: MultiRes U-Net vs U-Net
#
# ```{glue:md} finding
# :format: myst
# ```
#
# Kumar et al., *Segmentation of Mammogram Images using Deep Learning based MultiRes U-Net*.
# The paper trains a MultiRes U-Net (Ibtehaz & Rahman 2020) and a U-Net on Mini-DDSM and
# reports (Table 1):
#
# | claim (where) | reported | how this chapter checks it |
# |---|---|---|
# | MultiRes U-Net, test IoU (Table 1, abstract) | 95.74 % | every definition "IoU" could mean, next to the all-background prediction under it |
# | MultiRes U-Net, test accuracy | 99.71 % | pixel accuracy and mean class accuracy, idem |
# | U-Net, test IoU / accuracy | 92.48 % / 99.34 % | idem |
# | MultiRes U-Net beats U-Net (sec. 7) | 95.74 vs 92.48 | paired per-image IoU difference with a CI, same split, seeds, loss and optimiser |
# | MultiRes U-Net has slightly fewer parameters (Ibtehaz & Rahman sec. 4.2) | no number | parameter counts of both models |
#
# The paper does not say whether its IoU and accuracy count the background. A number is
# comparable to the paper's only on Mini-DDSM: `python -m mammorepro run p2_multires_unet
# --profile full -p dataset mini-ddsm -p data_root /data/Mini-DDSM`. Every number below comes
# from this run and is written to `results/p2/<dataset>/<profile>/`.

# %% tags=["parameters"]
profile = "default"  # smoke | default | full
dataset = "phantom"  # phantom (built in) | cbis-ddsm | inbreast | mini-ddsm | mias | cdd-cesm
data_root = ""  # folder of a real dataset; empty: the environment variable (see README)
seed = 0  # first seed; n_seeds seeds are used: seed, seed+1, ...
n_seeds = None
folds = None  # named splits to train and test on, their test parts pooled; 0: every fold (CDD-CESM, mini-MIAS: 5)
n_cases = None
image_size = None
epochs = None
batch_size = None  # the paper: 8
lr = None  # Adam
base_width = None  # U of the first level for both models; the paper's MultiRes U-Net: 32
alpha = None  # MultiRes width factor; the paper: 1.67
patience = None  # early stopping on validation Dice; 0: off
augment = None  # rotation, flips, zoom, contrast (True / False)
device = "auto"  # auto | cpu | cuda
results_root = "results"
overwrite = False  # replace a result folder made with other parameters (same chapter, dataset, profile)

# %%
# %matplotlib inline
from mammorepro.papers import common
from IPython.display import Markdown
from myst_nb import glue

from mammorepro.report.pages import finding, provenance
from mammorepro import config as config_mod
from mammorepro.papers import p2

cfg = p2.configure(
    profile,
    dataset=dataset,
    data_root=data_root,
    seed=seed,
    n_seeds=n_seeds,
    folds=folds,
    n_cases=n_cases,
    image_size=image_size,
    epochs=epochs,
    batch_size=batch_size,
    lr=lr,
    base_width=base_width,
    alpha=alpha,
    patience=patience,
    augment=augment,
    device=device,
    results_root=results_root,
    overwrite=overwrite,
)
cfg

# %% [markdown]
# ## CLAHE before and after (the paper's Fig. 1)

# %%
cases = p2.load(cfg)
folds = p2.prepare_folds(cfg, cases)
fig_clahe = p2.plot_clahe(cases, cfg)
common.folds_overview(folds)

# %% [markdown]
# ## Parameter counts
# Both models at this run's widths and at the paper's (U = 32, 64, 128, 256, 512).

# %%
p2.parameter_counts(cfg)

# %% [markdown]
# ## Training (the paper's Fig. 6)
# Same split, seeds, BCE loss, Adam and batch for both models. Early stopping watches the
# validation Dice, and the weights of the best epoch (dotted line) are kept. Training accuracy
# and IoU come from the augmented batches in training mode, as Keras logs them. With several
# folds (`folds`) every fold trains its own models, each image is tested once by the models
# that never saw it, and the folds' test images are scored together; the curves show the first
# fold.

# %%
prepared, runs = p2.pool_folds(folds, [p2.train_variants(cfg, f) for f in folds])
fig_training = p2.plot_training(runs)
runs.overview()

# %% [markdown]
# ### Does early stopping decide the comparison on real data?
# On CDD-CESM the real profile's U-Net stayed below the brightest-region baseline while its
# training loss still fell; in several folds and seeds it stopped early with its first epoch kept.
# A probe on the first fold's *validation* part (`benchmarks/p2_budget.py`, three seeds, no test
# image seen) trains the U-Net with the real profile's patience and with the same 24 epochs
# without early stopping. Its file, `benchmarks/results/p2_budget.json`, gives:

# %%
from mammorepro.report import benchmarks as bench

budget = bench.load("benchmarks/results").get("p2_budget")
Markdown("\n".join(f"- {s}" for s in bench.p2_budget_findings(budget)))

# %%
bench.budget_table(budget)

# %% [markdown]
# ## Every metric definition, both models and the all-background prediction
# Per-image metrics show a 95 % bootstrap CI over test images. With several seeds, values are
# means over seeds and "±" is the standard deviation between seeds.

# %%
scored = p2.score(cfg, prepared, runs)
scored.table

# %% [markdown]
# ## Sample predictions with their IoU (the paper's Fig. 7)

# %%
fig_pred = p2.plot_predictions(runs, prepared, scored, threshold=cfg["threshold"])

# %% [markdown]
# ## What the numbers look like
# The MultiRes U-Net: its best, median and worst test image with a lesion by Dice (truth green,
# prediction red), from the first seed.

# %%
fig_ranked = common.plot_ranked_cases(runs.get("MultiRes U-Net", cfg["seed"]), prepared, cfg["threshold"])

# %% [markdown]
# ## MultiRes U-Net vs U-Net, paired on the same test images

# %%
scored.comparisons.round(4)

# %% [markdown]
# ## Reported vs reproduced, under each definition the paper's words could mean
# If the all-background prediction already reaches a reported number under some definition,
# that definition cannot tell a model that finds masses from one that finds nothing.

# %%
claims = p2.claims_table(cfg, scored)
claims

# %%
out = p2.record(cfg, prepared, runs, scored, figures={"clahe": fig_clahe, "training": fig_training, "predictions": fig_pred, "ranked": fig_ranked})
provenance(out, "p2_multires_unet")

# %%
# the finding this page opens with, generated from the result folder just written
glue("finding", Markdown(finding(out)), display=False)

# %% [markdown]
# ## Deviations from the paper, and why
# Every profile's settings, read from `p2.PROFILES` (each run records its own in config.json):

# %%
config_mod.profile_table(p2.PROFILES)

# %% [markdown]
# Every known difference from the paper and its released code, from one list
# (`mammorepro.papers.deviations`; status: fixed, disclosed, or a parameter), then the notes:

# %%
from mammorepro.papers import deviations

deviations.frame("p2")

# %% [markdown]
# - **Data and scale.** The default profile runs on the built-in phantom on a CPU, at the reduced
#   input size, widths and epochs of the table above. It tests the relative claim and the metric
#   definitions, not the 95.74 % itself.
# - **Input size.** The paper does not state it. The full profile's (the table above) is resized
#   with the aspect ratio kept and zero padding; metrics count the image's own pixels only.
# - **Split.** 1600/200/200 images in the paper; here 80/10/10 by patient on Mini-DDSM (the
#   phantom: 60/15/25), saved once and reused.
# - **Early stopping.** The paper stopped at epoch 47 without stating the monitored quantity or
#   the patience. Here it watches validation Dice with the profile's `patience`, and the best
#   weights are restored. The full profile uses patience 10 over 100 epochs. The default profile
#   switches it off: at 16 epochs, a patience of 5 stopped the U-Net before it had started to
#   learn, while the MultiRes U-Net had, and that alone would have decided the comparison.
# - **U-Net width.** The paper does not state it. Both models use the same level widths U,
#   which is the comparison of Ibtehaz & Rahman.
# - **Metrics.** The paper defines IoU as |A ∩ B| / |A ∪ B| and accuracy as
#   (TP+TN)/(TP+TN+FP+FN), without saying whether the background counts or how images are
#   averaged. Every candidate is reported above.

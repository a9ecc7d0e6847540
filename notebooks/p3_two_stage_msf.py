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
# # p3: two-stage multi-scale mass segmentation (YOLOv3 + MSF + v19U-Net++)
#
# ```{glue:md} finding
# :format: myst
# ```
#
# Yan et al., *Two-stage multi-scale breast mass segmentation for full mammogram analysis
# without user intervention*. Stage 1 finds masses on the whole mammogram with YOLOv3; a
# multi-scale fusion (MSF) of its boxes at 5 input sizes picks the candidates; stage 2
# segments each candidate crop with a UNet++ on a VGG19 encoder (v19U-Net++) and pastes it
# back. The paper reports, on INbreast, 5 random 70/30 splits T1-T5:
#
# | claim (where) | reported (mean of T1-T5) | how this chapter checks it |
# |---|---|---|
# | YOLOv3 detects masses with AP 75.46 % at IoU 0.5 (Table 1) | 0.7546 | AP of the single-scale detector on each split run |
# | MSF keeps TPR and cuts false positives: 0.94 @ 0.22 FP/image at λ = 0.5 (Tables 2-3, Fig. 5) | TPR@FPavg per λ | the same for λ in `lambdas`, next to every single scale's FROC curve |
# | v19U-Net++ beats U-Net on mass patches: Dice 90.86 vs 89.20 % (Table 4) | 0.9086 / 0.8920 | both decoders on one VGG19 encoder, same patches; paired per-patch comparison |
# | two-stage with MSF 80.44 % > without MSF 70.96 % > one-stage 52.17 % full-image Dice (Table 5) | 0.8044 / 0.7096 / 0.5217 | all three setups for both models, paired per-image comparisons; plus two-stage fed the true boxes, the ceiling of stage 2 |
#
# A number is comparable to the paper's only on INbreast with the full profile:
# `python -m mammorepro run p3_two_stage_msf --profile full -p dataset inbreast -p data_root /data/INbreast
# -p pretrain_dataset cbis-ddsm -p pretrain_root /data/CBIS-DDSM`. Every number below comes
# from this run and is written to `results/p3/<dataset>/<profile>/`.

# %% tags=["parameters"]
profile = "default"  # smoke | default | full
dataset = "phantom"  # the target (fine-tuning and test): phantom | inbreast | cbis-ddsm | mini-ddsm | mias | cdd-cesm
data_root = ""  # folder of a real dataset; empty: the environment variable (see README)
pretrain_dataset = None  # detector pre-training set: "" (none) | phantom | cbis-ddsm (the paper) | ...
pretrain_root = None
splits = None  # comma-separated subset of T1,T2,T3,T4,T5
seed = 0
n_cases = None  # phantom cases generated (only those with masses are used)
pretrain_n_cases = None
full_height = None  # full-image height, the width is half of it (the paper: 2048 x 1024)
scales = None  # MSF sizes HEIGHTxWIDTH for a 2048-high image, scaled with full_height
single_scale = None  # 1-based index of the scale used alone (AP, two-stage w/o MSF)
lambdas = None  # MSF thresholds to tabulate (the paper: 0,0.5,0.6,0.7)
msf_lambda = None  # the threshold used for segmentation (the paper: 0.6)
det_score = None  # YOLO confidence kept as a candidate
det_width = None  # Darknet-53 channel multiplier (1.0 is Darknet-53)
pretrain_iterations = None  # the paper: 60k on CBIS-DDSM
det_iterations = None  # fine-tuning iterations (the paper: 30k)
det_batch_size = None  # the paper: 32
det_lr = None  # the paper: 0.001, x0.1 after 1/3 and 2/3 of the iterations
backbone_weights = ""  # local Darknet-53 ImageNet weights (timm darknet53 state dict)
encoder_weights = ""  # local VGG19 ImageNet weights, or "imagenet" from the local cache
image_size = None  # stage-2 patch size (the paper: 256)
onestage_height = None  # one-stage input height, the width is half of it
crop_margin = None  # patch side: the long box side x (1 + 2 x margin)
epochs = None  # stage-2 epochs
batch_size = None  # the paper: 4
lr = None  # Adam
device = "auto"  # auto | cpu | cuda
results_root = "results"
overwrite = False  # replace a result folder made with other parameters (same chapter, dataset, profile)

# %%
# %matplotlib inline
from IPython.display import Markdown
from myst_nb import glue

from mammorepro.report.pages import finding, provenance
from mammorepro import config as config_mod
from mammorepro.papers import p3

cfg = p3.configure(
    profile,
    dataset=dataset,
    data_root=data_root,
    pretrain_dataset=pretrain_dataset,
    pretrain_root=pretrain_root,
    splits=splits,
    seed=seed,
    n_cases=n_cases,
    pretrain_n_cases=pretrain_n_cases,
    full_height=full_height,
    scales=scales,
    single_scale=single_scale,
    lambdas=lambdas,
    msf_lambda=msf_lambda,
    det_score=det_score,
    det_width=det_width,
    pretrain_iterations=pretrain_iterations,
    det_iterations=det_iterations,
    det_batch_size=det_batch_size,
    det_lr=det_lr,
    backbone_weights=backbone_weights,
    encoder_weights=encoder_weights,
    image_size=image_size,
    onestage_height=onestage_height,
    crop_margin=crop_margin,
    epochs=epochs,
    batch_size=batch_size,
    lr=lr,
    device=device,
    results_root=results_root,
    overwrite=overwrite,
)
{"scales": p3.scales(cfg), "training sizes": p3.train_sizes(cfg), **cfg}

# %% [markdown]
# ## Data and splits
# Only images that contain a mass are used (the paper keeps INbreast's 107). Five random 70/30
# splits by patient are drawn once and saved; 10 % of each training part is held out to pick
# the segmenters' best epoch.

# %%
data = p3.prepare(cfg, p3.load(cfg))
{"images with masses": len(data.images), "split file": data.split_path.name, "sha256": data.split_sha256[:16],
 **{s: {k: len(v) for k, v in data.splits[s].items()} for s in p3.split_names(cfg)}}

# %% [markdown]
# ## Stage 1: pre-train the detector, then fine-tune and test it on each split

# %%
pretrained = p3.pretrain_detector(cfg)
results = [p3.run_split(cfg, data, split, pretrained) for split in p3.split_names(cfg)]
fig_history = p3.plot_detector_history(pretrained, results)
{r.split: {"anchors (w, h) at the single scale": r.stage1.anchors.round(1).tolist(), "mean best-anchor IoU": round(r.stage1.anchor_iou, 3),
           "detector seconds": round(r.stage1.seconds), "split seconds": round(r.seconds)} for r in results}

# %% [markdown]
# ### Predictions at each scale (the paper's Fig. 2) and their fusion (Fig. 3)

# %%
fig_scales = p3.plot_scales(cfg, results[0])
fig_fusion = p3.plot_fusion(cfg, results[0])

# %% [markdown]
# ### Detection: AP (Table 1), FROC (Fig. 5) and TPR@FPavg per λ (Table 2)
# A box is a true positive when its IoU with a mass not yet matched is at least `hit_iou` (the
# AP rule). Each candidate set is also scored with the looser centre-in-box rule: where the two
# differ, the masses were found but the boxes were too large or too small for the IoU rule.

# %%
tabs = p3.tables(cfg, results)
fig_pr = p3.plot_pr(results)
fig_froc = p3.plot_froc(cfg, results[0])
tabs.detection

# %% [markdown]
# ## Stage 2 on patches around the true masses (Table 4)

# %%
tabs.patch

# %% [markdown]
# ## Full-image Dice of every setup (Table 5)
# "two-stage, ground-truth boxes" feeds stage 2 the true mass boxes: the best any detector
# could give it here, so the gap to it is what stage 1 costs.

# %%
tabs.full

# %%
fig_delineations = p3.plot_delineations(cfg, results[0])

# %% [markdown]
# ## The paper's comparisons, paired on the same test images

# %%
tabs.comparisons.round(4)

# %% [markdown]
# ## Reported vs reproduced

# %%
tabs.claims

# %%
figures = {"detector_history": fig_history, "scales": fig_scales, "fusion": fig_fusion, "pr": fig_pr, "froc": fig_froc, "delineations": fig_delineations}
out = p3.record(cfg, data, pretrained, results, tabs, figures)
provenance(out, "p3_two_stage_msf")

# %%
# the finding this page opens with, generated from the result folder just written
glue("finding", Markdown(finding(out)), display=False)

# %% [markdown]
# ## Deviations from the paper, and why
# Every profile's settings, read from `p3.PROFILES` (each run records its own in config.json):

# %%
config_mod.profile_table(p3.PROFILES)

# %% [markdown]
# Every known difference from the paper and its released code, from one list
# (`mammorepro.papers.deviations`; status: fixed, disclosed, or a parameter), then the notes:

# %%
from mammorepro.papers import deviations

deviations.frame("p3")

# %% [markdown]
# - **Data and scale.** The default profile runs on the built-in phantom on a CPU with the
#   settings of the table above: smaller full images (`full_height`; the paper: 2048 x 1024), a
#   narrower Darknet-53 (`det_width`), far fewer detector iterations (the paper: 60k + 30k),
#   smaller patches (`image_size`; the paper: 256 x 256) and the splits in `splits`. With so few
#   detector iterations from random weights its numbers show the mechanisms, not the paper's
#   claims. The `full` profile uses the paper's sizes and iterations on all five splits.
# - **Pre-training.** The paper pre-trains on CBIS-DDSM's 1514 mass images. On the phantom the
#   pre-training set is another phantom drawn from a different seed. ImageNet weights for
#   Darknet-53 and VGG19 are used only when given as local files: none can be downloaded here,
#   so the default run starts both from random weights.
# - **MSF details the paper leaves open.** N in eq. 1 is the number of scales; λ = 0 keeps every
#   pixel covered by a box; the candidates fused are YOLO's boxes with confidence >= `det_score`
#   (0.3, keras-yolo3's default); boxes come from 8-connected components. The scales are written
#   height x width here (the paper writes 160 x 320 ... 480 x 960 for a portrait 2048 x 1024
#   image) and are zero-padded to multiples of 32.
# - **Single scale.** Table 1 and "two-stage w/o MSF" do not say which input size the single
#   prediction used; here it is the 4th scale (416 x 832 at full size, YOLOv3's usual 416).
# - **Hit criterion.** The FROC and TPR@FPavg use the AP rule (IoU >= 0.5); the paper does not
#   state its FROC rule.
# - **Crops.** "Crops extracted around ground truth masses" has no margin in the paper: here a
#   square of the box's long side x 1.2, the same rule at test time around detected boxes.
# - **U-Net baseline.** Both decoders share the VGG19 encoder, so Table 4's comparison isolates
#   the nested skip connections. cGAN and the cascaded U-Net of Tables 4-5 are not replicated.
# - **One-stage.** The paper does not describe its input: here the same model trained and run on
#   whole images downsampled to `onestage_height` x `onestage_height / 2`, with histogram
#   equalisation, upsampled back for scoring.
# - **Training until convergence.** Stage 2 keeps the epoch with the best validation Dice
#   (10 % of the training part); the paper states no stopping rule. The full profile's learning
#   rate (1e-4) is ours: the paper gives none for stage 2.
# - **Spread.** "±" here is the standard deviation over splits, with the standard error next to
#   it; the paper calls its "±" a standard error.

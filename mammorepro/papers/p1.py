"""p1, Rajalakshmi & Ramesh: Deeply Supervised U-Net + Dense CRF for mass segmentation in whole
mammograms (``notebooks/p1_ds_unet_crf``).

What the paper claims (abstract): DS U-Net with Dense CRF reaches Dice 84.0 % on CBIS-DDSM and
82.6 % on INbreast. Its contributions (sec. I) are also claims, tested here as an ablation on
the same split, seeds and loss: deep supervision helps (1), the learnable fusion helps (2), the
Dense CRF helps (4).

The method (sec. II.1 and the authors' released code, see :mod:`mammorepro.models.ds_unet`):
CLAHE, normalisation, 256 x 256; DS U-Net trained with a combined loss on the output and on each
side output; AdamW, lr 1e-3, cosine annealing; early stopping on validation Dice; dense CRF on
the test probabilities (:mod:`mammorepro.post.crf`).

The notebook calls, in order: :func:`configure`, :func:`load`, :func:`prepare`,
:func:`train_variants`, :func:`score`, :func:`claims_table`, :func:`record`; the ``plot_*``
functions draw its figures.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from mammorepro import config as config_mod
from mammorepro.data import cbis_ddsm
from mammorepro.errors import ConfigError
from mammorepro.losses import DeepSupervisionLoss, build_loss
from mammorepro.metrics import SegmentationScores
from mammorepro.models import check_input_size, count_parameters, create_model
from mammorepro.models.ds_unet import ENCODER_SIDES
from mammorepro.papers import common
from mammorepro.papers.common import (
    Prepared,
    Runs,
    all_background,
    comparison_table,
    mean_summary,
    paired_comparisons,
    per_seed_case_frames,
    pool_folds,
    prepare_folds,
    pick_cases,
    plot_clahe_pairs,
    plot_run_histories,
    prepare,
    record_run,
    seeds,
    score_masks,
    train_all,
    train_config,
)
from mammorepro.post import CRFParams, binarize
from mammorepro.post.crf import BACKENDS, refine
from mammorepro.metrics import ALL_BACKGROUND
from mammorepro.report.learned import learned_table
from mammorepro.report.claims import Claim, comparison_claims, per_case_estimate, with_ci, with_learned

__all__ = ["PROFILES", "REPORTED", "VARIANTS", "configure", "load", "pool_folds", "prepare", "prepare_folds", "record", "score", "train_variants"]

PAPER = "p1"

# the paper's numbers, from its abstract (the text gives no table and no metric definition)
REPORTED = [
    {"claim": "DS U-Net + Dense CRF, Dice on CBIS-DDSM", "dataset": "cbis-ddsm", "method": "DS U-Net + CRF", "reported": 0.840, "where": "abstract"},
    {"claim": "DS U-Net + Dense CRF, Dice on INbreast", "dataset": "inbreast", "method": "DS U-Net + CRF", "reported": 0.826, "where": "abstract"},
]

# the ablation: name shown in tables -> registered model
VARIANTS = {"U-Net": "ds-unet-plain", "DS U-Net (no fusion)": "ds-unet-nofusion", "DS U-Net": "ds-unet"}
CRF_SUFFIX = " + CRF"

# claims the paper's contributions make, each a paired comparison on the same test images
ABLATION_CLAIMS = [
    {"claim": "deep supervision improves on the plain U-Net", "better": "DS U-Net (no fusion)", "than": "U-Net", "where": "sec. I, contribution 1"},
    {"claim": "the learnable fusion improves on the final decoder output", "better": "DS U-Net", "than": "DS U-Net (no fusion)", "where": "sec. I, contribution 2"},
    {"claim": "DS U-Net (with fusion) improves on the plain U-Net", "better": "DS U-Net", "than": "U-Net", "where": "sec. I, contributions 1-2"},
    {"claim": "Dense CRF improves the DS U-Net", "better": "DS U-Net + CRF", "than": "DS U-Net", "where": "sec. I, contribution 4; sec. II.1"},
    {
        "claim": "an edge-aware dense CRF improves the DS U-Net",
        "better": "DS U-Net + edge-aware CRF",
        "than": "DS U-Net",
        "where": "not a paper claim: our control for contribution 4",
    },
]

# the control for the CRF claim: pydensecrf's example kernels, whose bilateral term follows
# intensity edges (the released intensity std, 0.001 on [0, 1], links almost no pixel pairs)
# the authors' evaluation (released utils/Evaluate.py): the CRF's argmax labels after a CRF, Otsu's
# threshold on a network's own map; Dice over the images with a mass. Its per-case rows carry this rule.
AUTHORS_RULE = "authors"
EDGE_AWARE_CRF = CRFParams(gaussian_compat=3.0, bilateral_schan=13.0, bilateral_compat=10.0, prob_shift=0.0)
EDGE_AWARE_METHOD = "DS U-Net + edge-aware CRF"
# settings outside the profiles that the pages state (the stated-number check reads them here)
SETTINGS = {"edge-aware CRF": EDGE_AWARE_CRF.__dict__}
# numbers the pages quote from the paper or its released code, each with where it comes from
QUOTED = {"84.0 % and 82.6 % Dice": "abstract; Tables 3-4"}

_COMMON = {
    **config_mod.CHAPTER_BASE,
    "encoder_weights": "",  # a local state dict for the encoder of every variant; empty: random init
    "folds": 1,  # how many of the dataset's named splits to train and test on, pooled; 0: all (CDD-CESM, mini-MIAS, INbreast: 5)
    "cbis_mass_folders": True,  # CBIS-DDSM: the Mass-... folders only, as the authors; False: Calc-... cases enter as images without a mass
    "border_crop": 0.01,
    "clahe": True,
    "augment": True,
    "threshold": 0.5,
    "dropout": 0.5,
    "weight_decay": 1e-2,  # not stated; torch's AdamW default
    # the combined loss: bce_weight * weighted BCE + dice_weight * (-ln soft Dice) ** dice_gamma,
    # on the output and on each side output, the sides' sum times a weight that decays with the
    # epoch (mammorepro.losses.DeepSupervisionLoss, as the released composite_loss)
    "bce_weight": 1.0,
    "dice_weight": 1.0,
    "dice_gamma": 0.3,
    "dice_reduction": "image",  # mean of (-ln D_i)^0.3 (Wong et al.); "batch": the released (-ln mean D_i)^0.3
    "bce_pos_weight": 0.3,
    "bce_neg_weight": 0.7,  # > bce_pos_weight: false positives cost more (sec. I, contribution 3)
    "side_weight": 1.0,  # each side output's weight at epoch 0 (the released code: 1)
    "side_targets": "boundary",  # released: encoder sides against the mask's boundary band, decoder sides against the mask; "mask": all against the mask
    "side_boundary_radius": 3,  # the band: mask minus its erosion by a disk of this radius (released: 3)
    "side_decay_epochs": 100.0,  # side weight x (1 - t / this) ** 2 at epoch t (released: 100); 0 keeps it constant
    # dense CRF (sec. II.1), the released kernels without their probability shift (see mammorepro.post.crf)
    "crf": True,
    "crf_iterations": 5,
    "crf_gaussian_sxy": 3.0,
    "crf_gaussian_compat": 1.0,
    "crf_bilateral_sxy": 7.0,
    "crf_bilateral_schan": 0.255,  # grey levels 0..255 (0.001 on [0, 1])
    "crf_bilateral_compat": 1.0,
    "crf_prob_shift": 0.0,  # the released code's + 0.1 turns a flat map just below 0.5 into all-mass (mammorepro.post.crf)
    "crf_backend": "pydensecrf",  # the reference (CPU); "torch": the same CRF on the GPU (mammorepro.post.crf_torch)
}
PROFILES = {
    "smoke": {**_COMMON, "n_cases": 24, "image_size": 64, "epochs": 2, "batch_size": 4, "lr": 1e-3, "base_width": 4, "patience": 0},
    "default": {**_COMMON, "n_cases": 240, "image_size": 128, "epochs": 16, "batch_size": 8, "lr": 1e-3, "base_width": 8, "patience": 0},
    # real: every fold of a five-fold scheme, so that every image is a test image once (CDD-CESM's
    # first fold alone held 24 test images with a mass: CIs of +-0.08)
    "real": {**_COMMON, **config_mod.REAL, "n_cases": 240, "image_size": 128, "epochs": 24, "batch_size": 8, "lr": 1e-3, "base_width": 8, "patience": 8, "folds": 0},
    "full": {
        **_COMMON,
        "n_cases": 2000,
        "image_size": 256,
        "epochs": 100,
        "batch_size": 8,
        "lr": 1e-3,
        "base_width": 64,
        "patience": 20,
        "n_seeds": 3,
    },
}


def configure(profile: str = "default", **params) -> dict:
    """Resolve the notebook's parameters against the profile; every check (names, ranges, input
    size, loss weights, CRF kernels, the encoder weights file) runs here, before any work."""
    cfg = config_mod.resolve(PROFILES, profile, **params)
    check_input_size("ds-unet", cfg["image_size"])
    if cfg["n_seeds"] < 1:
        raise ConfigError(f"n_seeds={cfg['n_seeds']} must be >= 1")
    common.check_folds(cfg)
    if cfg["base_width"] < 1 or not 0 <= cfg["dropout"] < 1:
        raise ConfigError(f"base_width={cfg['base_width']} must be >= 1 and dropout={cfg['dropout']} in [0, 1)")
    if not 0 < cfg["threshold"] < 1:
        raise ConfigError(f"threshold={cfg['threshold']} must be in (0, 1); the authors' rule is always reported beside it")
    weights = [cfg[k] for k in ("bce_weight", "dice_weight", "bce_pos_weight", "bce_neg_weight", "side_weight", "side_decay_epochs")]
    if min(weights) < 0 or cfg["bce_weight"] + cfg["dice_weight"] == 0:
        raise ConfigError("loss weights (and side_decay_epochs) must be >= 0, and bce_weight + dice_weight > 0")
    if cfg["side_targets"] not in SIDE_TARGETS:
        raise ConfigError(f"side_targets={cfg['side_targets']!r}: use 'boundary' (the released code: encoder sides against the mask's boundary band) or 'mask' (every side against the mask)")
    if cfg["encoder_weights"]:
        if not Path(cfg["encoder_weights"]).expanduser().is_file():
            raise ConfigError(f"encoder_weights={cfg['encoder_weights']!r} is not a file: give a local state dict (.pth) or leave it empty")
        build_model(cfg, "U-Net", cfg["seed"])  # a file that does not fit fails here, before any data is read
    build_p1_loss(cfg)
    crf_params(cfg)
    if cfg["crf_backend"] not in BACKENDS:
        raise ConfigError(f"crf_backend={cfg['crf_backend']!r}: use one of {', '.join(BACKENDS)}")
    train_config(cfg, optimizer="adamw", scheduler="cosine")
    return cfg


def load(cfg: dict):
    """The cases of the configured dataset; on CBIS-DDSM the ``Mass-...`` folders only (the
    authors' Mass-Training / Mass-Test data) unless ``cbis_mass_folders`` is False."""
    cases = common.load(cfg)
    if cfg["dataset"] == "cbis-ddsm" and cfg["cbis_mass_folders"]:
        cases = cbis_ddsm.mass_folders(cases)
    return cases


def crf_params(cfg: dict) -> CRFParams:
    return CRFParams(
        iterations=cfg["crf_iterations"],
        gaussian_sxy=cfg["crf_gaussian_sxy"],
        gaussian_compat=cfg["crf_gaussian_compat"],
        bilateral_sxy=cfg["crf_bilateral_sxy"],
        bilateral_schan=cfg["crf_bilateral_schan"],
        bilateral_compat=cfg["crf_bilateral_compat"],
        prob_shift=cfg["crf_prob_shift"],
    )


SIDE_TARGETS = ("boundary", "mask")


def build_p1_loss(cfg: dict) -> nn.Module:
    """The combined loss (sec. I contribution 3) on the output, plus the same loss on each side
    output (deep supervision, contribution 1), as the released ``composite_loss`` combines them:
    the three encoder sides ("attend to boundaries") against the mask's boundary band, the three
    decoder sides against the mask, their sum weighted by ``side_weight * (1 - t / 100) ** 2``
    at epoch ``t``."""
    combined = build_loss(
        "bce+logdice",
        weights=(cfg["bce_weight"], cfg["dice_weight"]),
        bce_pos_weight=cfg["bce_pos_weight"],
        bce_neg_weight=cfg["bce_neg_weight"],
        logdice_gamma=cfg["dice_gamma"],
        logdice_reduction=cfg["dice_reduction"],
    )
    return DeepSupervisionLoss(
        combined,
        side_weight=cfg["side_weight"],
        boundary_sides=ENCODER_SIDES if cfg["side_targets"] == "boundary" else 0,
        boundary_radius=cfg["side_boundary_radius"],
        decay_epochs=cfg["side_decay_epochs"],
    )


def build_model(cfg: dict, variant: str, seed: int) -> nn.Module:
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    return create_model(
        VARIANTS[variant], seed=seed, base=cfg["base_width"], dropout=cfg["dropout"], encoder_weights=cfg["encoder_weights"] or None
    )


def train_variants(cfg: dict, prepared: Prepared, progress: bool = False) -> Runs:
    """Train U-Net, DS U-Net (no fusion) and DS U-Net for every seed, on the same split with the
    same loss and optimiser (AdamW, cosine annealing, early stopping on validation Dice when
    ``patience`` > 0; the best epoch's weights are kept), and predict the test part."""
    return train_all(
        PAPER,
        cfg,
        prepared,
        {v: (name, lambda seed, v=v: build_model(cfg, v, seed)) for v, name in VARIANTS.items()},
        build_p1_loss(cfg),
        seeds(cfg),
        progress=progress,
        optimizer="adamw",
        scheduler="cosine",
    )


@dataclass
class Scored:
    """Test scores of every method (each variant without and with CRF, and the all-background
    prediction) for every seed, at the fixed threshold and with the authors' rule
    (:data:`AUTHORS_RULE`)."""

    scores: dict[str, list[SegmentationScores]]
    scores_authors: dict[str, list[SegmentationScores]]
    crf_probabilities: dict[tuple[str, int], np.ndarray]
    crf_seconds_per_image: float
    table: pd.DataFrame
    ablation: pd.DataFrame

    def summary(self, authors: bool = False) -> dict[str, dict[str, float]]:
        return {m: mean_summary(s) for m, s in (self.scores_authors if authors else self.scores).items()}


def score(cfg: dict, prepared: Prepared, runs: Runs) -> Scored:
    """Apply the dense CRF to every run's test probabilities (when ``crf``; plus, for the DS
    U-Net, the edge-aware control :data:`EDGE_AWARE_CRF`), then score every method under every
    metric definition, at ``threshold`` and with the authors' rule (:data:`AUTHORS_RULE`: Otsu's
    threshold on a network's map, the CRF's argmax labels after the CRF)."""
    test = prepared.parts["test"]
    params = crf_params(cfg)
    scores: dict[str, list[SegmentationScores]] = {}
    authors: dict[str, list[SegmentationScores]] = {}
    crf_probs: dict[tuple[str, int], np.ndarray] = {}
    crf_time, crf_images = 0.0, 0

    def add(method: str, probs: np.ndarray, crf: bool = False) -> None:
        scores.setdefault(method, []).append(score_masks(binarize(probs, cfg["threshold"]), prepared))
        # the released utils/Evaluate.py: argmax of the CRF's two labels (its marginal >= 0.5),
        # Otsu's threshold on a network's own map
        authors.setdefault(method, []).append(score_masks(binarize(probs, 0.5 if crf else "otsu"), prepared))

    for variant in VARIANTS:
        for run in runs.of(variant):
            add(variant, run.probabilities)
    if cfg["crf"]:
        for variant in VARIANTS:
            for run in runs.of(variant):
                t0 = time.perf_counter()
                refined = refine(run.probabilities, test.images, params, cfg["crf_backend"], cfg["device"])
                crf_time += time.perf_counter() - t0
                crf_images += len(refined)
                crf_probs[(variant, run.seed)] = refined
                add(variant + CRF_SUFFIX, refined, crf=True)
        for run in runs.of("DS U-Net"):  # the control: same probabilities, edge-aware kernels
            add(EDGE_AWARE_METHOD, refine(run.probabilities, test.images, replace(EDGE_AWARE_CRF, iterations=params.iterations), cfg["crf_backend"], cfg["device"]), crf=True)
    scores["all-background"] = [all_background(prepared, cfg["threshold"])]
    authors["all-background"] = scores["all-background"]  # no rule finds anything in an all-zero map
    return Scored(
        scores,
        authors,
        crf_probs,
        crf_time / max(crf_images, 1),
        comparison_table(scores, seed=cfg["seed"]),
        ablation_table(scores, seed=cfg["seed"]),
    )


def ablation_table(scores: dict[str, list[SegmentationScores]], seed: int = 0) -> pd.DataFrame:
    """Each contribution claim as a paired per-image Dice comparison (see
    :func:`~mammorepro.papers.common.paired_comparisons`)."""
    return paired_comparisons(scores, ABLATION_CLAIMS, seed=seed)


def claims_table(cfg: dict, scored: Scored) -> pd.DataFrame:
    """Reported vs reproduced: each headline number next to this run's DS U-Net + CRF (or DS
    U-Net when CRF is off) under the authors' evaluation (per-image Dice over images with a mass,
    :data:`AUTHORS_RULE`) and under the strict definition (per-image Dice over all test images at the
    fixed threshold, empty-mask policy "one"). A number is comparable only on the paper's dataset."""
    method = "DS U-Net" + (CRF_SUFFIX if cfg["crf"] else "")
    paper_eval = scored.summary(authors=True)[method]["dice_lesion_images"]
    strict = scored.summary()[method]["dice_per_image"]
    baseline = scored.summary()["all-background"]["dice_per_image"]
    rows = []
    for r in REPORTED:
        rows.append(
            {
                "claim": r["claim"],
                "reported": r["reported"],
                "this run's data": cfg["dataset"],
                "method here": method,
                "reproduced (authors' evaluation)": round(paper_eval, 3),
                "reproduced (strict)": round(strict, 3),
                "all-background (strict)": round(baseline, 3),
                "comparable": cfg["dataset"] == r["dataset"],
            }
        )
    return pd.DataFrame(rows)


def record(cfg: dict, prepared: Prepared, runs: Runs, scored: Scored, figures: dict | None = None) -> Path:
    """Write results/p1/<dataset>/<profile>/: every method's metrics (mean over seeds, per seed, the authors' rule),
    the ablation and claims tables, each run's history, per-case scores, config, env, figures."""
    metrics = {
        "seeds": seeds(cfg),
        "variants": dict(VARIANTS),
        "parameters": {v: count_parameters(runs.of(v)[0].model) for v in VARIANTS},
        "methods": scored.summary(),
        "methods_authors": scored.summary(authors=True),
        "methods_by_seed": {m: [s.summary() for s in runs_] for m, runs_ in scored.scores.items()},
        "ablation": scored.ablation.to_dict(orient="records"),
        "claims": claims_table(cfg, scored).to_dict(orient="records"),
        "crf_seconds_per_image": scored.crf_seconds_per_image,
        "runs": runs.summary(),
    }
    frames = per_seed_case_frames({f"p >= {cfg['threshold']}": scored.scores, AUTHORS_RULE: scored.scores_authors}, seeds(cfg))
    extra = {
        "train": train_config(cfg, optimizer="adamw", scheduler="cosine").to_dict(),
        "loss": {"spec": "bce+logdice with deep supervision", **{k: cfg[k] for k in ("bce_weight", "dice_weight", "dice_gamma", "dice_reduction", "bce_pos_weight", "bce_neg_weight", "side_weight", "side_targets", "side_boundary_radius", "side_decay_epochs")}},
        "crf": crf_params(cfg).to_dict() if cfg["crf"] else None,
    }
    return record_run(PAPER, cfg, prepared, metrics, frames, extra, figures, claims=claims)


# ----------------------------------------------------------------------------- figures


def plot_clahe(cases, cfg: dict, n: int = 4):
    """Inputs as the network sees them, without and with CLAHE (sec. II.1)."""
    return plot_clahe_pairs(cases, cfg, n)


def plot_histories(runs: Runs, seed: int | None = None):
    """Loss and validation Dice per epoch for each variant (first seed), with each side
    output's Dice for the deeply supervised ones."""
    return plot_run_histories(runs, list(VARIANTS), seed)


def side_maps(model: nn.Module, images: np.ndarray, device: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """(side probabilities (N, 6, H, W), output probabilities (N, H, W)) of a DS U-Net."""
    import torch

    from mammorepro.engine import resolve_device

    dev = resolve_device(device)
    model.to(dev).eval()
    with torch.no_grad():
        out = model(torch.from_numpy(np.ascontiguousarray(images, np.float32))[:, None].to(dev))
    sides = torch.sigmoid(torch.cat(out["sides"], dim=1)).cpu().numpy() if out["sides"] else np.zeros((len(images), 0) + images.shape[1:])
    return sides, torch.sigmoid(out["out"])[:, 0].cpu().numpy()


def plot_side_maps(runs: Runs, prepared: Prepared, scored: Scored, n: int = 3, device: str = "auto"):
    """For a few test images (worst to best Dice): the image with its mass, the six side-output
    probability maps (encoder levels 2-4, decoder stages 1-3) and the fused output."""
    import matplotlib.pyplot as plt

    test = prepared.parts["test"]
    run = runs.of("DS U-Net")[0]
    # pooled folds: the run's model is the first fold's, so only the first fold's test images
    # (which it never saw) are shown
    first = prepared.fold_sizes[0] if prepared.fold_sizes else len(test)
    pick = pick_cases(scored.scores["DS U-Net"][0].per_case().iloc[:first], n)
    if not pick:
        pick = list(range(min(n, len(test))))
    sides, fused = side_maps(run.model, test.images[pick], device)
    titles = ["image + mass"] + [f"side {k} (enc {k + 1})" for k in range(1, 4)] + [f"side {k} (dec {k - 3})" for k in range(4, 7)] + ["fused output"]
    fig, axes = plt.subplots(len(pick), len(titles), figsize=(1.6 * len(titles), 1.8 * len(pick) + 0.4), squeeze=False)
    for row, i in enumerate(pick):
        axes[row][0].imshow(test.images[i], cmap="gray", vmin=0, vmax=1)
        if test.masks[i].any():
            axes[row][0].contour(test.masks[i], [0.5], colors="lime", linewidths=0.6)
        for k in range(sides.shape[1]):
            axes[row][k + 1].imshow(sides[row, k], cmap="magma", vmin=0, vmax=1)
        axes[row][-1].imshow(fused[row], cmap="magma", vmin=0, vmax=1)
        axes[row][0].set_ylabel(test.case_ids[i], fontsize=6)
    for k, t in enumerate(titles):
        axes[0][k].set_title(t, fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_crf(runs: Runs, prepared: Prepared, scored: Scored, n: int = 4, threshold: float = 0.5):
    """Test images with the mass (green), the DS U-Net mask before CRF (red) and after (cyan)."""
    import matplotlib.pyplot as plt

    test = prepared.parts["test"]
    run = runs.of("DS U-Net")[0]
    refined = scored.crf_probabilities.get(("DS U-Net", run.seed))
    pick = pick_cases(scored.scores["DS U-Net"][0].per_case(), n) or list(range(min(n, len(test))))
    before_dice = scored.scores["DS U-Net"][0].per_case()["dice"].to_numpy()
    after_dice = scored.scores["DS U-Net + CRF"][0].per_case()["dice"].to_numpy() if refined is not None else before_dice
    fig, axes = plt.subplots(1, len(pick), figsize=(2.6 * len(pick), 3.0), squeeze=False)
    for ax, i in zip(axes[0], pick):
        ax.imshow(test.images[i], cmap="gray", vmin=0, vmax=1)
        for mask, colour in ((test.masks[i] > 0, "lime"), (run.probabilities[i] >= threshold, "red")):
            if mask.any():
                ax.contour(mask, [0.5], colors=colour, linewidths=0.8)
        if refined is not None and (refined[i] >= threshold).any():
            ax.contour(refined[i] >= threshold, [0.5], colors="cyan", linewidths=0.8)
        after = f" -> {after_dice[i]:.2f} with CRF" if refined is not None else " (CRF off)"
        ax.set_title(f"{test.case_ids[i]}\nDice {before_dice[i]:.2f}{after}", fontsize=7)
        ax.axis("off")
    fig.suptitle("mass (green), DS U-Net (red)" + (", after dense CRF (cyan)" if refined is not None else ""), fontsize=8)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- claim records


def claims(run_dir: Path) -> list[Claim]:
    """The paper's claims (:data:`REPORTED`) as records computed from a p1 result folder: Dice per
    image over the images with a mass under the authors' evaluation (:data:`AUTHORS_RULE`), the strict Dice over
    every test image, the 95 % CI over images with a mass, and the all-background prediction
    under the authors' evaluation."""
    m = json.loads((Path(run_dir) / "metrics.json").read_text())
    learned = learned_table(run_dir)  # the degeneracy gate, once for the folder
    out = []
    for r in REPORTED:
        method = r["method"] if r["method"] in m["methods"] else "DS U-Net"
        c = Claim(
            "p1", r["claim"], r["dataset"], r["reported"], "Dice per image over images with a mass, the CRF's argmax labels (Otsu on a map without CRF): the authors' evaluation",
            m["methods_authors"][method]["dice_lesion_images"], m["methods"][method]["dice_per_image"], "Dice / image, all test images, p >= 0.5",
            trivial=m["methods_authors"][ALL_BACKGROUND]["dice_lesion_images"], trivial_reading=f"{ALL_BACKGROUND}, authors' evaluation",
            experiment="the ablation table and 'the CRF, edge-aware' control in the chapter",
        )
        c = with_learned(c, learned, method)
        out.append(with_ci(c, per_case_estimate(run_dir, "dice", "dice_lesion_images", method=method, rule=AUTHORS_RULE, has_lesion=True), "reproduced"))
    return out + comparison_claims(run_dir, PAPER, ABLATION_CLAIMS, learned, REPORTED[0]["dataset"], metric="dice")

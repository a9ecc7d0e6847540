"""p2, Kumar et al.: MultiRes U-Net vs U-Net for mass segmentation on Mini-DDSM
(``notebooks/p2_multires_unet``).

What the paper claims (Table 1, abstract): on a Mini-DDSM test set of 200 images, MultiRes
U-Net reaches IoU 95.74 % and accuracy 99.71 %, the U-Net IoU 92.48 % and accuracy 99.34 %.
It does not say whether its IoU and accuracy count the background, so this chapter reports
each candidate definition next to the all-background prediction under the same definition.

The method (sec. 3-6): CLAHE; augmentation by rotation, flips, zoom and contrast; MultiRes U-Net
(:mod:`mammorepro.models.multires_unet`) and the U-Net baseline (:mod:`mammorepro.models.unet`)
with the same training: binary cross-entropy, Adam, batch 8, early stopping (the paper stopped
at epoch 47); 1600/200/200 images (80/10/10 by patient here).

The notebook calls, in order: :func:`configure`, :func:`load`, :func:`prepare`,
:func:`train_variants`, :func:`score`, :func:`claims_table`, :func:`record`; the ``plot_*``
functions draw its figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from mammorepro import config as config_mod
from mammorepro.engine import score_predictions
from mammorepro.errors import ConfigError
from mammorepro.losses import build_loss
from mammorepro.metrics import SegmentationScores
from mammorepro.models import check_input_size, count_parameters, create_model
from mammorepro.papers.common import (
    check_folds,
    Prepared,
    Runs,
    all_background,
    comparison_table,
    load,
    mean_summary,
    paired_comparisons,
    per_seed_case_frames,
    pick_cases,
    plot_clahe_pairs,
    pool_folds,
    prepare,
    prepare_folds,
    record_run,
    seeds,
    train_all,
    train_config,
)
from mammorepro.metrics import ALL_BACKGROUND
from mammorepro.report.learned import learned_table
from mammorepro.report.claims import Claim, comparison_claims, per_case_estimate, with_ci, with_learned

__all__ = ["PROFILES", "REPORTED", "VARIANTS", "configure", "load", "pool_folds", "prepare", "prepare_folds", "record", "score", "train_variants"]

PAPER = "p2"

# Table 1 of the paper (percentages there); "metric" is the paper's word, not a definition
REPORTED = [
    {"method": "MultiRes U-Net", "metric": "IoU", "reported": 0.9574},
    {"method": "MultiRes U-Net", "metric": "accuracy", "reported": 0.9971},
    {"method": "U-Net", "metric": "IoU", "reported": 0.9248},
    {"method": "U-Net", "metric": "accuracy", "reported": 0.9934},
]
# the definitions each word could mean (names of mammorepro.metrics.DEFINITIONS)
CANDIDATE_DEFINITIONS = {"IoU": ["iou_per_image", "iou_pooled", "miou_fg_bg"], "accuracy": ["pixel_accuracy", "mean_class_accuracy"]}
QUOTED = {
    "1600 / 200 / 200 images": "sec. 3 (the paper's split)",
    "epoch 47": "sec. 4 (where the paper's training stopped)",
    "U = 32, 64, 128, 256, 512": "Ibtehaz & Rahman's MultiRes U-Net widths (the paper's sec. 4 model)",
}

VARIANTS = {"U-Net": "unet", "MultiRes U-Net": "multires-unet"}
COMPARISONS = [
    {"claim": "MultiRes U-Net segments masses better than U-Net (IoU)", "better": "MultiRes U-Net", "than": "U-Net", "where": "Table 1; sec. 7"},
]

_COMMON = {
    **config_mod.CHAPTER_BASE,
    "border_crop": 0.01,
    "clahe": True,
    "augment": True,  # rotation, flips, zoom, contrast (sec. 3.2)
    "threshold": 0.5,
    "alpha": 1.67,  # MultiRes width factor W = alpha * U (Ibtehaz & Rahman)
    "folds": 1,  # how many of the dataset's named splits to train and test on, pooled; 0: all (CDD-CESM, mini-MIAS, INbreast: 5)
}
PROFILES = {
    "smoke": {**_COMMON, "n_cases": 24, "image_size": 64, "epochs": 2, "batch_size": 4, "lr": 1e-3, "base_width": 4, "patience": 0},
    # default: no early stopping. With BCE on masses covering ~0.5 % of the pixels, validation Dice
    # stays near 0 for the first epochs; a patience of 5 stopped the U-Net at epoch 6 (best
    # epoch 1) while the MultiRes U-Net only started to rise at epoch 5, so early stopping at
    # this 16-epoch budget would decide the comparison by itself. The best epoch is still kept.
    "default": {**_COMMON, "n_cases": 240, "image_size": 128, "epochs": 16, "batch_size": 8, "lr": 1e-3, "base_width": 8, "patience": 0},
    # real: a longer budget with early stopping on the validation images that hold a lesion
    # (patience 8: the slow start above is why it is not shorter), on every fold of a five-fold
    # scheme (CDD-CESM's first fold alone held 24 test images with a mass)
    "real": {**_COMMON, **config_mod.REAL, "n_cases": 240, "image_size": 128, "epochs": 24, "batch_size": 8, "lr": 1e-3, "base_width": 8, "patience": 8, "folds": 0},
    "full": {**_COMMON, "n_cases": 2000, "image_size": 256, "epochs": 100, "batch_size": 8, "lr": 1e-3, "base_width": 32, "patience": 10, "n_seeds": 3},
}


def configure(profile: str = "default", **params) -> dict:
    """Resolve the notebook's parameters against the profile; every check runs here."""
    cfg = config_mod.resolve(PROFILES, profile, **params)
    for name in VARIANTS.values():
        check_input_size(name, cfg["image_size"])
    if cfg["n_seeds"] < 1 or cfg["base_width"] < 1:
        raise ConfigError(f"n_seeds={cfg['n_seeds']} and base_width={cfg['base_width']} must be >= 1")
    if not 0 < cfg["alpha"] <= 10:
        raise ConfigError(f"alpha={cfg['alpha']} must be in (0, 10]; the paper's value is 1.67")
    if not 0 < cfg["threshold"] < 1:
        raise ConfigError(f"threshold={cfg['threshold']} must be in (0, 1)")
    check_folds(cfg)
    train_config(cfg)
    return cfg


def build_model(cfg: dict, variant: str, seed: int) -> nn.Module:
    """U-Net and MultiRes U-Net at the same level widths U = base_width * (1, 2, 4, 8, 16)."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    extra = {"alpha": cfg["alpha"]} if variant == "MultiRes U-Net" else {}
    return create_model(VARIANTS[variant], seed=seed, base=cfg["base_width"], **extra)


def parameter_counts(cfg: dict) -> pd.DataFrame:
    """Parameters of both models at this run's widths and at the paper's (U = 32..512)."""
    rows = []
    for label, base in (("this run", cfg["base_width"]), ("paper (U = 32)", 32)):
        counts = {v: count_parameters(build_model({**cfg, "base_width": base}, v, 0)) for v in VARIANTS}
        rows.append({"widths": label, "U": base, **counts, "MultiRes / U-Net": counts["MultiRes U-Net"] / counts["U-Net"]})
    return pd.DataFrame(rows)


def train_variants(cfg: dict, prepared: Prepared, progress: bool = False, variants: list[str] | None = None) -> Runs:
    """Train U-Net and MultiRes U-Net (or the ``variants`` named) for every seed with the same
    split, BCE loss, Adam, batch and early stopping (validation Dice, ``patience`` epochs; best
    weights kept)."""
    unknown = [v for v in variants or [] if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant {unknown[0]!r}: use a subset of {', '.join(VARIANTS)}")
    return train_all(
        PAPER,
        cfg,
        prepared,
        {v: (name, lambda seed, v=v: build_model(cfg, v, seed)) for v, name in VARIANTS.items() if variants is None or v in variants},
        build_loss("bce"),
        seeds(cfg),
        progress=progress,
        optimizer="adam",
    )


@dataclass
class Scored:
    scores: dict[str, list[SegmentationScores]]
    table: pd.DataFrame
    comparisons: pd.DataFrame

    def summary(self) -> dict[str, dict[str, float]]:
        return {m: mean_summary(s) for m, s in self.scores.items()}


def score(cfg: dict, prepared: Prepared, runs: Runs) -> Scored:
    """Both models (every seed) and the all-background prediction under every definition, and
    the paired per-image IoU comparison."""
    test = prepared.parts["test"]
    scores = {v: [score_predictions(r.probabilities, test.masks, test.case_ids, cfg["threshold"], extents=test.extents) for r in runs.of(v)] for v in VARIANTS}
    scores["all-background"] = [all_background(prepared, cfg["threshold"])]
    return Scored(scores, comparison_table(scores, seed=cfg["seed"]), paired_comparisons(scores, COMPARISONS, column="iou", seed=cfg["seed"]))


def claims_table(cfg: dict, scored: Scored) -> pd.DataFrame:
    """Reported vs reproduced, one row per (reported number, candidate definition), with the
    all-background prediction under the same definition: a definition under which finding
    nothing already scores near the reported value cannot support the claim."""
    summary = scored.summary()
    rows = []
    for r in REPORTED:
        for definition in CANDIDATE_DEFINITIONS[r["metric"]]:
            ours, trivial = summary[r["method"]][definition], summary["all-background"][definition]
            rows.append(
                {
                    "method": r["method"],
                    "paper's word": r["metric"],
                    "reported": r["reported"],
                    "definition": definition,
                    "reproduced": round(ours, 4),
                    "all-background": round(trivial, 4),
                    "trivial reaches reported": bool(trivial >= r["reported"]),
                    "this run's data": cfg["dataset"],
                    "comparable": cfg["dataset"] == "mini-ddsm",
                }
            )
    return pd.DataFrame(rows)


def record(cfg: dict, prepared: Prepared, runs: Runs, scored: Scored, figures: dict | None = None) -> Path:
    """Write results/p2/<dataset>/<profile>/ with every method's metrics, the comparison and claims
    tables, parameter counts, each run's history, per-case scores, config, env, figures."""
    metrics = {
        "seeds": seeds(cfg),
        "variants": dict(VARIANTS),
        "parameters": parameter_counts(cfg).to_dict(orient="records"),
        "methods": scored.summary(),
        "methods_by_seed": {m: [s.summary() for s in per_seed] for m, per_seed in scored.scores.items()},
        "comparisons": scored.comparisons.to_dict(orient="records"),
        "claims": claims_table(cfg, scored).to_dict(orient="records"),
        "runs": runs.summary(),
    }
    frames = per_seed_case_frames({f"p >= {cfg['threshold']}": scored.scores}, seeds(cfg))
    extra = {"train": train_config(cfg, optimizer="adam").to_dict(), "loss": "bce"}
    return record_run(PAPER, cfg, prepared, metrics, frames, extra, figures, claims=claims)


# ----------------------------------------------------------------------------- figures


def plot_clahe(cases, cfg: dict, n: int = 4):
    """The paper's Fig. 1: inputs before and after CLAHE."""
    return plot_clahe_pairs(cases, cfg, n)


def plot_training(runs: Runs, seed: int | None = None):
    """The paper's Fig. 6: loss, accuracy and IoU on training and validation per epoch, one row
    per model. Training values come from the augmented batches in training mode."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(VARIANTS), 3, figsize=(12, 3.0 * len(VARIANTS)), squeeze=False)
    for row, variant in enumerate(VARIANTS):
        run = runs.get(variant, seed)
        frame = run.history.to_frame()
        for ax, (train_col, val_col, label) in zip(
            axes[row], (("train_loss", "val_loss", "loss"), ("train_accuracy", "val_accuracy", "pixel accuracy"), ("train_iou", "val_iou", "IoU (pooled)"))
        ):
            if len(frame):
                ax.plot(frame["epoch"], frame[train_col], label="train")
                if val_col in frame:
                    ax.plot(frame["epoch"], frame[val_col], label="validation")
                ax.axvline(run.history.best_epoch + 1, color="grey", lw=0.6, ls=":")
            ax.set(xlabel="epoch", title=f"{variant}: {label}")
            ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_predictions(runs: Runs, prepared: Prepared, scored: Scored, n: int = 4, threshold: float = 0.5):
    """The paper's Fig. 7: test images with the mass (green) and each model's mask, with the
    per-image IoU; images picked from worst to best MultiRes U-Net IoU."""
    import matplotlib.pyplot as plt

    test = prepared.parts["test"]
    per_case = {v: scored.scores[v][0].per_case() for v in VARIANTS}
    pick = pick_cases(per_case["MultiRes U-Net"], n, column="iou") or list(range(min(n, len(test))))
    fig, axes = plt.subplots(len(VARIANTS), len(pick), figsize=(2.6 * len(pick), 2.9 * len(VARIANTS)), squeeze=False)
    for row, variant in enumerate(VARIANTS):
        run = runs.of(variant)[0]
        for ax, i in zip(axes[row], pick):
            ax.imshow(test.images[i], cmap="gray", vmin=0, vmax=1)
            for mask, colour in ((test.masks[i] > 0, "lime"), (run.probabilities[i] >= threshold, "red")):
                if np.any(mask):
                    ax.contour(mask, [0.5], colors=colour, linewidths=0.8)
            ax.set_title(f"{variant}\n{test.case_ids[i]}: IoU {per_case[variant]['iou'].iloc[i]:.2f}", fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- claim records


def claims(run_dir: Path) -> list[Claim]:
    """Table 1's numbers as records computed from a p2 result folder: each under the most
    favourable of its candidate definitions (:data:`CANDIDATE_DEFINITIONS`), the strict IoU per
    image with its 95 % CI over images, and the best all-background score over the same
    candidates."""
    m = json.loads((Path(run_dir) / "metrics.json").read_text())
    learned = learned_table(run_dir)  # the degeneracy gate, once for the folder
    out = []
    for r in REPORTED:
        candidates = CANDIDATE_DEFINITIONS[r["metric"]]
        ours = {d: m["methods"][r["method"]][d] for d in candidates}
        trivial = {d: m["methods"][ALL_BACKGROUND][d] for d in candidates}
        best, best_trivial = max(ours, key=ours.get), max(trivial, key=trivial.get)
        c = Claim(
            "p2", f"{r['method']}, {r['metric']} (Table 1)", "mini-ddsm", r["reported"], f"most favourable reading of '{r['metric']}': {best}",
            ours[best], m["methods"][r["method"]]["iou_per_image"], "IoU / image",
            trivial=trivial[best_trivial], trivial_reading=f"{ALL_BACKGROUND}, {best_trivial}", experiment="the claims table's candidate definitions in the chapter",
        )
        c = with_learned(c, learned, r["method"])
        out.append(with_ci(c, per_case_estimate(run_dir, "iou", "iou_per_image", method=r["method"]), "strict"))
    return out + comparison_claims(run_dir, PAPER, COMPARISONS, learned, "mini-ddsm", metric="iou")

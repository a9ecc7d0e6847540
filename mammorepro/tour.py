"""The tour (``notebooks/00_tour``): phantom data, preprocessing, a U-Net baseline, and every
metric definition scored on the model AND on the all-background prediction.

The notebook only calls these functions, in order: :func:`configure`, :func:`load`,
:func:`prepare`, :func:`train`, :func:`score`, :func:`record`; the ``plot_*`` functions draw
its figures. Profiles (smoke / default / full) live in :data:`PROFILES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro import config as config_mod
from mammorepro.engine import History, fit, predict, score_predictions
from mammorepro.losses import build_loss
from mammorepro.metrics import SegmentationScores
from mammorepro.models import check_input_size, count_parameters, create_model
from mammorepro.papers.common import (
    plot_preprocessing,
    Prepared,
    all_background,
    checkpoint_dir,
    comparison_table,
    history_summary,
    load,
    per_case_frame,
    pick_cases,
    plot_history,
    prepare,
    record_run,
    train_config,
)

__all__ = ["PROFILES", "Prepared", "Scored", "configure", "load", "plot_history", "plot_preprocessing", "prepare", "record", "score", "train"]

PAPER = "tour"
_COMMON = {
    "dataset": "phantom",
    "data_root": "",
    "seed": 0,
    "device": "auto",
    "results_root": "results",
    "model": "unet",
    "loss": "bce+dice",
    "threshold": 0.5,
    "clahe": True,
    "border_crop": 0.01,
    "augment": True,
    "patience": 0,
}
PROFILES = {
    "smoke": {**_COMMON, "n_cases": 24, "image_size": 64, "epochs": 2, "batch_size": 4, "lr": 3e-3, "base_width": 8},
    # default: sized so the whole book executes within 45 minutes on a 2-core CPU
    "default": {**_COMMON, "n_cases": 160, "image_size": 128, "epochs": 10, "batch_size": 8, "lr": 2e-3, "base_width": 16},
    # real: the default's U-Net on every image of a real dataset, with early stopping
    "real": {**_COMMON, "n_cases": 160, "image_size": 128, "epochs": 20, "batch_size": 8, "lr": 2e-3, "base_width": 16, "patience": 6},
    "full": {**_COMMON, "n_cases": 2000, "image_size": 256, "epochs": 60, "batch_size": 16, "lr": 1e-3, "base_width": 32, "patience": 10},
}


def configure(profile: str = "default", **params) -> dict:
    """Resolve the notebook's parameters against the profile (unknown names and bad values
    raise one-line errors)."""
    cfg = config_mod.resolve(PROFILES, profile, **params)
    check_input_size(cfg["model"], cfg["image_size"])
    # build the engine config now so that its range checks run before any work
    train_config(cfg)
    return cfg


def build_model(cfg: dict):
    return create_model(cfg["model"], seed=cfg["seed"], **({"base": cfg["base_width"]} if cfg["model"] == "unet" else {}))


def train(cfg: dict, model, prepared: Prepared, progress: bool = False) -> History:
    loss = build_loss(cfg["loss"])
    ckpt = checkpoint_dir(PAPER, cfg)
    return fit(model, prepared.parts["train"], prepared.parts["val"], loss, train_config(cfg), checkpoint_dir=ckpt, progress=progress)


@dataclass
class Scored:
    """Scores of each method on the test part: the model and the all-background prediction."""

    probabilities: np.ndarray
    scores: dict[str, SegmentationScores]
    table: pd.DataFrame  # metric x method, "mean" and CI columns

    def summary(self) -> dict[str, dict[str, float]]:
        return {m: s.summary() for m, s in self.scores.items()}


def score(cfg: dict, model, prepared: Prepared) -> Scored:
    """Score the model and the all-background baseline under every metric definition, with a
    95 % bootstrap CI over test images for the per-image definitions."""
    test = prepared.parts["test"]
    probs = predict(model, test, train_config(cfg))
    scores = {
        "U-Net": score_predictions(probs, test.masks, test.case_ids, cfg["threshold"], extents=test.extents),
        "all-background": all_background(prepared, cfg["threshold"]),
    }
    return Scored(probs, scores, comparison_table(scores, seed=cfg["seed"]))


def record(cfg: dict, prepared: Prepared, model, history: History, scored: Scored, figures: dict | None = None) -> Path:
    """Write results/tour/<profile>/ with config, metrics, per-case table, env and figures."""
    metrics = {
        "model": cfg["model"],
        "parameters": count_parameters(model),
        **history_summary(history),
        "methods": scored.summary(),
    }
    return record_run(PAPER, cfg, prepared, metrics, per_case_frame(scored.scores), {"train": train_config(cfg).to_dict()}, figures)


# ----------------------------------------------------------------------------- figures


def plot_cases(cases, n: int = 8, real_samples: list | None = None):
    """Cases (phantom or any dataset's) with their mass outlines, optionally next to real
    mammograms; a title names what the case records (a phantom's density, a real case's id)."""
    import matplotlib.pyplot as plt

    shown = list(cases[:n])
    extra = list(real_samples or [])
    cols = len(shown) + len(extra)
    fig, axes = plt.subplots(1, cols, figsize=(2.0 * cols, 4.2), squeeze=False)
    for ax, c in zip(axes[0], shown):
        ax.imshow(c.image, cmap="gray")
        if c.mask.any():
            ax.contour(c.mask, [0.5], colors="red", linewidths=0.7)
        n_mass = sum(getattr(les, "kind", "mass") == "mass" for les in c.lesions)
        where = f"{c.dataset} {c.case_id}" if hasattr(c, "dataset") else "phantom"
        density = f"density {c.density}, " if hasattr(c, "density") else ""
        ax.set_title(f"{where} {c.view}-{c.laterality}".rstrip("-") + f"\n{density}{n_mass} mass", fontsize=8)
    for ax, (title, img) in zip(axes[0][len(shown) :], extra):
        ax.imshow(img, cmap="gray")
        ax.set_title(title, fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_predictions(prepared: Prepared, scored: Scored, n: int = 6, threshold: float = 0.5):
    """Test images with ground truth (green) and prediction (red) outlines, worst to best Dice."""
    import matplotlib.pyplot as plt

    test = prepared.parts["test"]
    per_case = scored.scores["U-Net"].per_case()
    pick = pick_cases(per_case, n)
    fig, axes = plt.subplots(1, max(1, len(pick)), figsize=(2.6 * max(1, len(pick)), 3.0), squeeze=False)
    for ax, i in zip(axes[0], pick):
        ax.imshow(test.images[i], cmap="gray")
        ax.contour(test.masks[i], [0.5], colors="lime", linewidths=0.8)
        if (scored.probabilities[i] >= threshold).any():
            ax.contour(scored.probabilities[i] >= threshold, [0.5], colors="red", linewidths=0.8)
        ax.set_title(f"{test.case_ids[i]}\nDice {per_case['dice'].iloc[i]:.2f}", fontsize=7)
    for ax in axes[0]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def real_samples(folder: str | Path = "tests/fixtures") -> list[tuple[str, np.ndarray]]:
    """A few real mammograms shipped as fixtures (mini-MIAS, Mini-DDSM), if present."""
    from mammorepro.data.io import read_gray

    folder = Path(folder)
    found = []
    for title, rel in (
        ("mini-MIAS mdb001 (real)", "mias/mdb001.pgm"),
        ("Mini-DDSM 0033 R-CC (real)", "mini-ddsm/MINI-DDSM-Complete-JPEG-8/Benign/0033/C_0033_1.RIGHT_CC.jpg"),
    ):
        if (folder / rel).is_file():
            found.append((title, read_gray(folder / rel)))
    return found

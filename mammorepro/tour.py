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
from mammorepro import data as data_mod
from mammorepro.data.cache import PreprocessedCache
from mammorepro.data.roots import resolve_root
from mammorepro.engine import ArraySegmentationDataset, History, TrainConfig, fit, predict, resolve_device, score_predictions
from mammorepro.losses import build_loss
from mammorepro.metrics import DEFINITIONS, SegmentationScores, bootstrap_ci
from mammorepro.models import check_input_size, count_parameters, create_model
from mammorepro.preprocess import PreprocessConfig, preprocess_case, preprocess_steps
from mammorepro.preprocess.augment import build_augmentation
from mammorepro.report import RunRecorder

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
    "default": {**_COMMON, "n_cases": 240, "image_size": 128, "epochs": 20, "batch_size": 8, "lr": 2e-3, "base_width": 16},
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


def train_config(cfg: dict) -> TrainConfig:
    return TrainConfig(
        epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        lr=cfg["lr"],
        patience=cfg["patience"],
        threshold=cfg["threshold"],
        device=cfg["device"],
        seed=cfg["seed"],
    )


def preprocess_config(cfg: dict) -> PreprocessConfig:
    return PreprocessConfig(image_size=cfg["image_size"], border_crop=cfg["border_crop"], clahe=cfg["clahe"])


def load(cfg: dict):
    """The cases of the configured dataset (the phantom by default)."""
    return data_mod.load_cases(cfg["dataset"], cfg["data_root"] or None, n=cfg["n_cases"], seed=cfg["seed"])


@dataclass
class Prepared:
    """Preprocessed arrays per split part, and the split's provenance."""

    parts: dict[str, ArraySegmentationDataset]
    split_path: Path
    split_sha256: str
    meta: pd.DataFrame  # one row per case: part, number of masses, mass fraction after preprocessing
    split_name: str = "default"


def prepare(cfg: dict, cases) -> Prepared:
    """Split by patient with the dataset's scheme (saved file, reused on reruns; the first named
    split is used) and preprocess every case of it."""
    folder = Path(cfg["results_root"]) / "splits"
    splits, path, sha = data_mod.get_or_create_splits(
        folder,
        cfg["dataset"],
        [c.case_id for c in cases],
        [c.patient_id for c in cases],
        [c.official_split for c in cases],
        cfg["seed"],
    )
    split_name, parts = next(iter(splits.items()))
    pcfg = preprocess_config(cfg)
    by_id = {c.case_id: c for c in cases}
    aug = build_augmentation(seed=cfg["seed"]) if cfg["augment"] else None
    out, rows = {}, []
    empty = np.zeros((0, pcfg.image_size, pcfg.image_size), np.float32)
    cache = None
    if cfg["dataset"] != "phantom":  # real images are converted once, then read from the cache
        cache = PreprocessedCache.for_dataset(cfg["dataset"], resolve_root(cfg["dataset"], cfg["data_root"] or None), pcfg)
        cache.build(cases, pcfg, progress=False)
    for name, members in parts.items():
        if cache is not None and members:
            images, masks = cache.select(members)
        else:
            arrays = [preprocess_case(by_id[i].image, by_id[i].mask, pcfg) for i in members]
            images = np.stack([a[0] for a in arrays]) if arrays else empty
            masks = np.stack([a[1] for a in arrays]) if arrays else empty.astype(np.uint8)
        out[name] = ArraySegmentationDataset(images, masks, members, augment=aug if name == "train" else None)
        rows += [
            {"case_id": i, "part": name, "n_masses": sum(les.kind == "mass" for les in by_id[i].lesions), "mass_fraction": float(m.mean())}
            for i, m in zip(members, masks)
        ]
    return Prepared(out, path, sha, pd.DataFrame(rows), split_name)


def build_model(cfg: dict):
    return create_model(cfg["model"], seed=cfg["seed"], **({"base": cfg["base_width"]} if cfg["model"] == "unet" else {}))


def train(cfg: dict, model, prepared: Prepared, progress: bool = False) -> History:
    loss = build_loss(cfg["loss"])
    ckpt = Path(cfg["results_root"]) / PAPER / cfg["profile"] / "checkpoints"
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
        "U-Net": score_predictions(probs, test.masks, test.case_ids, cfg["threshold"]),
        "all-background": score_predictions(np.zeros_like(probs), test.masks, test.case_ids, cfg["threshold"]),
    }
    return Scored(probs, scores, comparison_table(scores, seed=cfg["seed"]))


def comparison_table(scores: dict[str, SegmentationScores], seed: int = 0) -> pd.DataFrame:
    """One row per metric definition, one column per method (value, with a CI for per-image ones)."""
    per_image = {"dice_per_image": "dice", "iou_per_image": "iou"}
    columns = {}
    for method, s in scores.items():  # summary and per-case table computed once per method
        summary, per_case = s.summary(), s.per_case()
        cells = {}
        for metric, value in summary.items():
            if metric in per_image:
                lo, hi = bootstrap_ci(per_case[per_image[metric]].to_numpy(), seed=seed)
                cells[metric] = f"{value:.3f} [{lo:.3f}, {hi:.3f}]"
            else:
                cells[metric] = "n/a" if np.isnan(value) else f"{value:.3f}"
        columns[method] = cells
    rows = [{"metric": m, "definition": d, **{method: cells[m] for method, cells in columns.items()}} for m, d in DEFINITIONS.items()]
    return pd.DataFrame(rows).set_index("metric")


def record(cfg: dict, prepared: Prepared, model, history: History, scored: Scored, figures: dict | None = None) -> Path:
    """Write results/<paper>/<profile>/ with config, metrics, per-case table, env and figures."""
    rec = RunRecorder(PAPER, cfg["profile"], cfg["results_root"])
    test = prepared.parts["test"]
    rec.write_config(
        {
            "parameters": cfg,
            "train": train_config(cfg).to_dict(),
            "preprocess": preprocess_config(cfg).to_dict(),
            "phantom": data_mod.PhantomConfig().to_dict() if cfg["dataset"] == "phantom" else None,
            "split_scheme": data_mod.SCHEMES[cfg["dataset"]],
        }
    )
    rec.write_metrics(
        {
            "paper": PAPER,
            "profile": cfg["profile"],
            "dataset": cfg["dataset"],
            "split_file": prepared.split_path.name,
            "split_name": prepared.split_name,
            "split_sha256": prepared.split_sha256,
            "n_test": len(test),
            "n_test_with_lesion": int(sum(m.any() for m in test.masks)),
            "empty_mask_policy": "one",
            "threshold": cfg["threshold"],
            "model": cfg["model"],
            "parameters": count_parameters(model),
            "epochs_run": len(history.rows),
            "best_epoch": history.best_epoch + 1,
            "methods": scored.summary(),
            "history": history.rows,
        }
    )
    frames = []
    for method, s in scored.scores.items():
        f = s.per_case()
        f.insert(1, "method", method)
        frames.append(f)
    rec.write_per_case(pd.concat(frames, ignore_index=True))
    rec.write_env(str(resolve_device(cfg["device"])))  # the device actually used, not "auto"
    for name, fig in (figures or {}).items():
        rec.save_figure(fig, name)
    return rec.dir


# ----------------------------------------------------------------------------- figures


def plot_cases(cases, n: int = 8, real_samples: list | None = None):
    """Phantom cases with their mass outlines, optionally next to real mammograms."""
    import matplotlib.pyplot as plt

    shown = list(cases[:n])
    extra = list(real_samples or [])
    cols = len(shown) + len(extra)
    fig, axes = plt.subplots(1, cols, figsize=(2.0 * cols, 4.2), squeeze=False)
    for ax, c in zip(axes[0], shown):
        ax.imshow(c.image, cmap="gray")
        if c.mask.any():
            ax.contour(c.mask, [0.5], colors="red", linewidths=0.7)
        ax.set_title(f"phantom {c.view}-{c.laterality}\ndensity {c.density}, {len(c.lesions)} mass", fontsize=8)
    for ax, (title, img) in zip(axes[0][len(shown) :], extra):
        ax.imshow(img, cmap="gray")
        ax.set_title(title, fontsize=8)
    for ax in axes[0]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_preprocessing(case, cfg: dict):
    """Each step of the preprocessing chain on one case."""
    import matplotlib.pyplot as plt

    steps = preprocess_steps(case.image, preprocess_config(cfg))
    fig, axes = plt.subplots(1, len(steps), figsize=(2.4 * len(steps), 3.6), squeeze=False)
    for ax, (name, img) in zip(axes[0], steps):
        ax.imshow(img, cmap="gray")
        ax.set_title(f"{name}\n{img.shape[0]}x{img.shape[1]} {img.dtype}", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_history(history: History):
    import matplotlib.pyplot as plt

    frame = history.to_frame()
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    if len(frame):
        a.plot(frame["epoch"], frame["train_loss"], label="train")
        if "val_loss" in frame:
            a.plot(frame["epoch"], frame["val_loss"], label="validation")
        if "val_dice" in frame:
            b.plot(frame["epoch"], frame["val_dice"], color="C2")
    a.set(xlabel="epoch", ylabel="loss", title="loss")
    a.legend()
    b.set(xlabel="epoch", ylabel="Dice", title="validation Dice per image", ylim=(0, 1))
    fig.tight_layout()
    return fig


def plot_predictions(prepared: Prepared, scored: Scored, n: int = 6, threshold: float = 0.5):
    """Test images with ground truth (green) and prediction (red) outlines, worst to best Dice."""
    import matplotlib.pyplot as plt

    test = prepared.parts["test"]
    per_case = scored.scores["U-Net"].per_case()
    lesion_idx = [i for i in np.argsort(per_case["dice"].to_numpy()) if per_case["has_lesion"].iloc[i]]
    pick = [lesion_idx[int(round(k))] for k in np.linspace(0, len(lesion_idx) - 1, min(n, len(lesion_idx)))] if lesion_idx else []
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

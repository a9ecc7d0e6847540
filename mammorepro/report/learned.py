"""Did a method learn anything? The degeneracy gate, from a result folder's per_case.csv:

- each method's Dice per image against the all-background prediction's on the same images
  (paired, each image's value averaged over seeds): a gain whose 95 % CI does not lie above 0
  means it learned nothing measurable;
- its pixel counts against the two trivial predictions: predicting as mass at most
  :data:`TOLERANCE` of the pixels that are mass is (almost) the all-background prediction,
  predicting as background at most that share of the background is (almost) all-foreground.

Either way the page says so and no verdict about a paper rests on the method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro.metrics import ALL_BACKGROUND, ALL_FOREGROUND, difference_verdict, paired_difference

READINGS = ("beats all-background", "worse than all-background", "no better than all-background: learned nothing measurable, judge nothing from it")
TOLERANCE = 0.01  # a prediction within 1 % of a trivial one (in pixels) counts as that trivial prediction
MAIN_RULE = "p >="  # the probability-threshold rule every chapter scores its main numbers with (not Otsu)


def all_background_dice(has_lesion) -> np.ndarray:
    """Dice per image of the all-background prediction under the empty-mask policy "one": 1 on
    an image without a lesion (a correct empty answer), 0 on an image with one."""
    return np.where(np.asarray(has_lesion).astype(str) == "True", 0.0, 1.0)


def degenerate(rows: pd.DataFrame, tolerance: float = TOLERANCE) -> str:
    """ALL_BACKGROUND or ALL_FOREGROUND when per-case counts (tp, fp, fn, tn) are, within
    ``tolerance``, those of that trivial prediction; "" otherwise."""
    tp, fp, fn, tn = (float(rows[k].sum()) for k in ("tp", "fp", "fn", "tn"))
    if tp + fp <= tolerance * max(tp + fn, 1.0):
        return ALL_BACKGROUND
    if tn + fn <= tolerance * max(tn + fp, 1.0):
        return ALL_FOREGROUND
    return ""


def learned_table(run_dir: Path, seed: int = 0) -> pd.DataFrame:
    """One row per method of a result folder: its Dice per image, the all-background value on
    the same images, their paired difference with a 95 % bootstrap CI over images, and the
    reading (:data:`READINGS`) by the sign of that CI. Empty when the folder has no per-case table."""
    path = Path(run_dir) / "per_case.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["method", "dice_per_image", ALL_BACKGROUND, "difference", "ci_low", "ci_high", "n_images", "n_seeds", "degenerate", "reading"])
    f = pd.read_csv(path)
    if "rule" in f:
        f = f[f["rule"].astype(str).str.startswith(MAIN_RULE)]
    keys = [k for k in ("split", "case_id") if k in f]
    rows = []
    for method, g in f[f["method"] != ALL_BACKGROUND].groupby("method", sort=False):
        per_image = g.groupby(keys).agg(dice=("dice", "mean"), has_lesion=("has_lesion", "first"))
        trivial = all_background_dice(per_image["has_lesion"])
        n_seeds = int(g["seed"].nunique()) if "seed" in g else 1
        d = paired_difference(per_image["dice"].to_numpy(), trivial, "dice_per_image", n_seeds=n_seeds, seed=seed)
        rows.append(
            {
                "method": method,
                "dice_per_image": float(per_image["dice"].mean()),
                ALL_BACKGROUND: float(trivial.mean()),
                "difference": d.value,
                "ci_low": d.ci_low,
                "ci_high": d.ci_high,
                "n_images": d.n_images,
                "n_seeds": n_seeds,
                "degenerate": degenerate(g),
                "reading": difference_verdict(d.ci_low, d.ci_high, READINGS),
            }
        )
    return pd.DataFrame(rows)

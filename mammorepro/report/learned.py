"""Did a method learn anything? The degeneracy gate, from a result folder's per_case.csv.
Every Dice here is per image over the test images that hold a lesion (the quantity that picks
the best epoch): scoring an empty mask predicted empty as 1 would let "predict nothing" win
wherever images without a lesion are many (CDD-CESM's images without a mass still hold other
malignant findings), and the pixel counts below catch a method that predicts nothing or
everything.

- each method's Dice against the all-background prediction's on the same images (0 on an image
  with a lesion; paired, each image's value averaged over seeds): a gain whose 95 % CI does not
  lie above 0 means it learned nothing measurable;
- its pixel counts against the two trivial predictions: predicting as mass at most
  :data:`TOLERANCE` of the pixels that are mass is (almost) the all-background prediction,
  predicting as background at most that share of the background is (almost) all-foreground.

- where the folder holds the non-learned segmenter's rows (:data:`~mammorepro.metrics.NON_LEARNED`,
  every real-data run), its Dice per image against that baseline's on the same images: a network
  whose gain over "the brightest region" has a CI that does not lie above 0 has not shown it
  learned more than "masses are bright".

Either way the page says so and no verdict about a paper rests on the method."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mammorepro.metrics import ALL_BACKGROUND, ALL_FOREGROUND, NON_LEARNED, difference_verdict, paired_difference

READINGS = ("beats all-background", "worse than all-background", "no better than all-background: learned nothing measurable, judge nothing from it")
VERSUS_BASELINE = ("beats the non-learned baseline", "worse than the non-learned baseline", "no better than the non-learned baseline")
COLUMNS = [
    "method", "dice_lesion_images", ALL_BACKGROUND, "difference", "ci_low", "ci_high", "n_images", "n_seeds", "degenerate", "reading",
    NON_LEARNED, "baseline_difference", "baseline_ci_low", "baseline_ci_high", "versus_baseline", "learned",
]
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
    """One row per method of a result folder: its Dice per image over the images with a lesion,
    the all-background value on the same images (0), their paired difference with a 95 % bootstrap CI over images, and the
    reading (:data:`READINGS`) by the sign of that CI; where the folder holds the non-learned
    baseline, the same against it (:data:`VERSUS_BASELINE`). ``learned`` is True when the method
    beats all-background, is not degenerate, and beats the non-learned baseline where there is
    one. Empty when the folder has no per-case table."""
    path = Path(run_dir) / "per_case.csv"
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS)
    f = pd.read_csv(path)
    if "rule" in f:
        f = f[f["rule"].astype(str).str.startswith(MAIN_RULE)]
    keys = [k for k in ("split", "case_id") if k in f]
    baseline = f[f["method"] == NON_LEARNED].groupby(keys)["dice"].mean() if (f["method"] == NON_LEARNED).any() else None
    rows = []
    lesion = f["has_lesion"].astype(str) == "True"
    if baseline is not None:
        baseline = f[(f["method"] == NON_LEARNED) & lesion].groupby(keys)["dice"].mean()
    for method, g in f[~f["method"].isin([ALL_BACKGROUND, NON_LEARNED])].groupby("method", sort=False):
        per_image = g[lesion.loc[g.index]].groupby(keys).agg(dice=("dice", "mean"), has_lesion=("has_lesion", "first"))
        if per_image.empty:
            continue
        trivial = all_background_dice(per_image["has_lesion"])
        n_seeds = int(g["seed"].nunique()) if "seed" in g else 1
        d = paired_difference(per_image["dice"].to_numpy(), trivial, "dice_lesion_images", n_seeds=n_seeds, seed=seed)
        row = {
            "method": method,
            "dice_lesion_images": float(per_image["dice"].mean()),
            ALL_BACKGROUND: float(trivial.mean()),
            "difference": d.value,
            "ci_low": d.ci_low,
            "ci_high": d.ci_high,
            "n_images": d.n_images,
            "n_seeds": n_seeds,
            "degenerate": degenerate(g),
            "reading": difference_verdict(d.ci_low, d.ci_high, READINGS),
            NON_LEARNED: None,
            "baseline_difference": None,
            "baseline_ci_low": None,
            "baseline_ci_high": None,
            "versus_baseline": "",
        }
        if baseline is not None:
            base = baseline.reindex(per_image.index)
            if base.notna().all():
                b = paired_difference(per_image["dice"].to_numpy(), base.to_numpy(), "dice_lesion_images", n_seeds=n_seeds, seed=seed)
                row.update({NON_LEARNED: float(base.mean()), "baseline_difference": b.value, "baseline_ci_low": b.ci_low, "baseline_ci_high": b.ci_high})
                row["versus_baseline"] = difference_verdict(b.ci_low, b.ci_high, VERSUS_BASELINE)
        row["learned"] = row["reading"] == READINGS[0] and not row["degenerate"] and row["versus_baseline"] in ("", VERSUS_BASELINE[0])
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)

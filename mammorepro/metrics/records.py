"""Numbers as records: how every result file stores a reported quantity, the one rule that reads
a paired difference, the one definition of the trivial predictions, the one CI formatter, and
the schema check that every committed result file passes (``tests/test_result_schema.py``).

A reported quantity is an :class:`Estimate`: its value, the 95 % CI, how the CI was made (the
resampling unit, ``"image"`` for a percentile bootstrap over test images or ``"seed"`` for a
Student-t interval over training seeds, and the number of resamples), how many images and seeds
it rests on, the metric definition's name (a key of :data:`~mammorepro.metrics.DEFINITIONS` or
a stated reading) and the range the quantity can take. Result files hold numbers only; a page
formats them when it renders (:func:`format_ci`, :func:`format_estimate`).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import numpy as np

# ----------------------------------------------------------------------------- trivial predictions

ALL_BACKGROUND = "all-background"  # predict no mass anywhere
ALL_FOREGROUND = "all-foreground"  # predict mass everywhere
TRIVIAL = (ALL_BACKGROUND, ALL_FOREGROUND)
# the non-learned segmenter every real table is scored against (mammorepro.models.non_learned)
NON_LEARNED = "non-learned (brightest region)"


def trivial_prediction(shape: tuple[int, ...], kind: str = ALL_BACKGROUND) -> np.ndarray:
    """The probability map of a trivial prediction: 0 everywhere (all-background) or 1
    everywhere (all-foreground). A model that scores no better than these learned nothing."""
    if kind not in TRIVIAL:
        raise ValueError(f"unknown trivial prediction {kind!r}: use one of {TRIVIAL}")
    return np.full(shape, 0.0 if kind == ALL_BACKGROUND else 1.0, np.float32)


# ----------------------------------------------------------------------------- records

FRACTION = (0.0, 1.0)  # Dice, IoU, accuracy, AP, TPR ...
DIFFERENCE = (-1.0, 1.0)  # a difference of two fractions
UNBOUNDED = (-math.inf, math.inf)  # false positives per image, seconds, losses


@dataclass(frozen=True)
class Estimate:
    """One reported quantity with its 95 % CI and how it was obtained."""

    value: float
    ci_low: float | None
    ci_high: float | None
    metric: str  # the definition's name
    unit: str  # what the CI resamples: "image", "seed", "seed x image" (both levels) or "none" (no CI)
    n_resamples: int  # bootstrap resamples (0 for a t-interval or no CI)
    n_images: int
    n_seeds: int
    lower: float = 0.0  # the range the quantity can take
    upper: float = 1.0

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("ci_low", "ci_high", "lower", "upper"):
            if out[key] is not None and not math.isfinite(out[key]):
                out[key] = None  # JSON has no NaN or infinity: null is "none" / "unbounded"
        return out


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def over_images(values, metric: str, n_seeds: int = 1, seed: int = 0, bounds: tuple[float, float] = FRACTION, n_boot: int = 2000, alpha: float = 0.05) -> Estimate:
    """The mean of per-image values (each image's value already averaged over ``n_seeds`` seeds)
    with a percentile bootstrap (1 - ``alpha``) CI over images (:func:`~mammorepro.metrics.bootstrap_ci`)."""
    from mammorepro.metrics.segmentation import bootstrap_ci

    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    lo, hi = bootstrap_ci(v, n_boot=n_boot, alpha=alpha, seed=seed)
    value = float(v.mean()) if len(v) else float("nan")
    unit = "image" if _finite(lo) else "none"
    return Estimate(value, lo, hi, metric, unit, n_boot if unit == "image" else 0, len(v), n_seeds, *bounds)


def over_seeds_and_images(matrix, metric: str, seed: int = 0, bounds: tuple[float, float] = FRACTION, n_boot: int = 2000, alpha: float = 0.05) -> Estimate:
    """The mean of a (seeds x images) table with a two-level percentile bootstrap (1 - ``alpha``
    CI): each resample draws the seeds with replacement, then the images with replacement, so
    the CI holds the training variance and the test-set variance together. One seed:
    :func:`over_images`."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"a seeds x images table is 2-D, got shape {m.shape}")
    m = m[:, ~np.isnan(m).any(axis=0)]  # an image every seed scored
    n_seeds, n_images = m.shape
    if n_seeds < 2:
        return over_images(m.reshape(-1), metric, n_seeds=n_seeds, seed=seed, bounds=bounds, n_boot=n_boot, alpha=alpha)
    value = float(m.mean()) if m.size else float("nan")
    if n_images == 0:
        return Estimate(value, None, None, metric, "none", 0, 0, n_seeds, *bounds)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 250):  # blocks keep the (block, seeds, images) draw small
        b = min(250, n_boot - start)
        s = rng.integers(0, n_seeds, (b, n_seeds))
        i = rng.integers(0, n_images, (b, n_images))
        means[start : start + b] = m[s[:, :, None], i[:, None, :]].mean(axis=(1, 2))
    lo, hi = float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))
    return Estimate(value, max(lo, bounds[0]), min(hi, bounds[1]), metric, "seed x image", n_boot, n_images, n_seeds, *bounds)


def over_seeds(values, metric: str, n_images: int, bounds: tuple[float, float] = FRACTION) -> Estimate:
    """The mean over training seeds with a Student-t interval over seeds, cut to ``bounds``
    (:func:`~mammorepro.metrics.seed_interval`); no CI for one seed."""
    from mammorepro.metrics.segmentation import seed_interval

    finite = None if bounds == UNBOUNDED else bounds
    mean, lo, hi = seed_interval(values, bounds=finite)
    unit = "seed" if _finite(lo) else "none"
    return Estimate(mean, lo, hi, metric, unit, 0, n_images, len(np.atleast_1d(values)), *bounds)


def paired_difference(a, b, metric: str, n_seeds: int = 1, seed: int = 0, n_boot: int = 2000) -> Estimate:
    """mean(a - b) over the same images, with a percentile bootstrap CI over images; both
    quantities are fractions, so the difference lies in [-1, 1]."""
    return over_images(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64), metric, n_seeds, seed, DIFFERENCE, n_boot)


# ----------------------------------------------------------------------------- the rule for a difference

SUPPORT = ("supported", "contradicted", "not resolved (CI spans 0)")
EFFECT = ("raises the number", "lowers the number", "no measurable effect")


def difference_verdict(lo: float, hi: float, words: tuple[str, str, str] = SUPPORT) -> str:
    """The one rule for a paired difference: its 95 % CI lies above 0 (first word), below 0
    (second) or spans 0 (third). A CI that could not be computed reads as "spans 0"."""
    if _finite(lo) and lo > 0:
        return words[0]
    if _finite(hi) and hi < 0:
        return words[1]
    return words[2]


# ----------------------------------------------------------------------------- formatting (pages only)


def format_ci(lo, hi, signed: bool = False, digits: int = 3) -> str:
    """'[0.120, 0.340]' ('[-0.050, +0.120]' when ``signed``); '' when there is no CI."""
    if not (_finite(lo) and _finite(hi)):
        return ""
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    return f"[{f.format(lo)}, {f.format(hi)}]"


def format_estimate(e: Estimate | dict | None, signed: bool = False, digits: int = 3) -> str:
    """'0.231 [0.120, 0.340]' from an estimate record (or its dict); 'n/a' for none."""
    if e is None:
        return "n/a"
    d = e if isinstance(e, dict) else e.to_dict()
    if not _finite(d.get("value")):
        return "n/a"
    f = f"{{:{'+' if signed else ''}.{digits}f}}"
    ci = format_ci(d.get("ci_low"), d.get("ci_high"), signed, digits)
    return f.format(d["value"]) + (f" {ci}" if ci else "")


# ----------------------------------------------------------------------------- schema

ESTIMATE_KEYS = frozenset(Estimate.__dataclass_fields__)
# a number formatted into a string: '0.123', '[0.1, 0.2]', '0.5 [0.4, 0.6]', '0.2 ± 0.1'
_FORMATTED = re.compile(r"^\s*[-+]?\d*\.\d+\s*$|^\s*[-+]?\d*\.?\d+\s*(\[|±)|^\s*\[\s*[-+]?\d*\.?\d+\s*,")
# quantities that are not fractions: their intervals are only checked to be ordered
_UNBOUNDED_NAMES = ("fp_per_image", "fp", "seconds", "loss", "time", "difference")
_DIFFERENCE_NAMES = ("difference",)


def _range_of(name: str) -> tuple[float, float]:
    name = name.lower()
    if any(n in name for n in _DIFFERENCE_NAMES):
        return DIFFERENCE
    if any(n in name for n in _UNBOUNDED_NAMES):
        return UNBOUNDED
    return FRACTION


def _interval_problem(where: str, lo, hi, bounds: tuple[float, float]) -> str | None:
    if lo is None and hi is None:
        return None
    if lo is None or hi is None:
        return f"{where}: only one end of the CI is given ({lo}, {hi})"
    if lo > hi + 1e-12:
        return f"{where}: CI low {lo} above CI high {hi}"
    if lo < bounds[0] - 1e-9 or hi > bounds[1] + 1e-9:
        return f"{where}: CI [{lo}, {hi}] outside the quantity's range [{bounds[0]}, {bounds[1]}]"
    return None


def validate_result(obj, where: str = "") -> list[str]:
    """Every schema problem of a result file's JSON (metrics.json, claims.json), one line each:

    - no number stored as text (``"0.5 [0.4, 0.6]"``): numbers are numbers, formatted when shown;
    - an :class:`Estimate` record has every field, a known unit, and a CI inside its own range;
    - a ``ci_low``/``ci_high`` pair (or ``<name>_low``/``<name>_high`` beside ``<name>``) is
      ordered and, for a fraction, inside [0, 1]; a difference's inside [-1, 1].
    """
    problems: list[str] = []

    def walk(o, path: str) -> None:
        if isinstance(o, dict):
            if ESTIMATE_KEYS <= set(o):
                lower = -math.inf if o["lower"] is None else o["lower"]
                upper = math.inf if o["upper"] is None else o["upper"]
                if o["unit"] not in ("image", "seed", "seed x image", "none"):
                    problems.append(f"{path}: unknown resampling unit {o['unit']!r}")
                p = _interval_problem(path, o["ci_low"], o["ci_high"], (lower, upper))
                if p:
                    problems.append(p)
            elif "ci_low" in o or "ci_high" in o:
                name = " ".join(str(k) for k in o if "difference" in str(k)) or ("difference" if o.get("kind") == "comparison" else str(o.get("metric", path)))
                p = _interval_problem(path, o.get("ci_low"), o.get("ci_high"), _range_of(name))
                if p:
                    problems.append(p)
            for key, value in o.items():
                key = str(key)
                if key.endswith("_low") and key != "ci_low":
                    base = key[: -len("_low")]
                    if f"{base}_high" in o:
                        p = _interval_problem(f"{path}/{base}", value, o[f"{base}_high"], _range_of(base))
                        if p:
                            problems.append(p)
                walk(value, f"{path}/{key}")
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{path}/{i}")
        elif isinstance(o, str) and _FORMATTED.search(o):
            problems.append(f"{path}: number stored as text {o!r}")
        elif isinstance(o, float) and not math.isfinite(o):
            problems.append(f"{path}: {o} (JSON stores an undefined number as null)")

    walk(obj, where)
    return problems

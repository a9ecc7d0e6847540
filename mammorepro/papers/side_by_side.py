"""The shared protocol (``notebooks/side_by_side``): every method of the five papers trained
and scored on ONE dataset, ONE saved split file, ONE preprocessing chain and ONE metric module.

Shared by every method:

- the cases: the images that show a mass (each paper segments masses); images with no lesion
  at all stay in the split file and are the detector's negatives (false positives per image);
  images whose only lesions are not masses (calcifications) are left out, being neither;
- the split file: the dataset's own scheme (:data:`mammorepro.data.SCHEMES`; the phantom: one
  split by patient; mini-MIAS: five folds by patient, each fold the test part once);
- preprocessing: border crop, CLAHE, resize to ``image_size``, min-max to [0, 1]
  (:mod:`mammorepro.preprocess`), and the same augmentation;
- the engine: Adam, ``epochs``, ``batch_size``, ``lr``, best epoch by validation Dice, the 0.5
  threshold, and every score from :mod:`mammorepro.metrics`.

Each method's own, on purpose: its architecture, at its chapter's widths for the profile; its
paper's loss; its post-processing (p1's dense CRF; p3's detector, multi-scale fusion and patch
segmentation pasted back). :data:`METHODS` names the source of each.

Scores: per-image Dice and IoU with a 95 % bootstrap CI over test images (each image's value
averaged over seeds), pooled Dice, mean IoU over background and mass, pixel accuracy with a
bootstrap CI of the pooled value, and for the detector TPR and false positives per image at
the fusion threshold, mean over runs with a t-interval; the all-background prediction is a row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from mammorepro import config as config_mod
from mammorepro import data as data_mod
from mammorepro.detection import average_precision, match_detections
from mammorepro.detection.msf import component_boxes
from mammorepro.engine import ArraySegmentationDataset
from mammorepro.errors import ConfigError
from mammorepro.losses import WeightedBCELoss, build_loss, frequency_weights
from mammorepro.metrics import SegmentationScores, bootstrap_ci, bootstrap_pooled_ci, format_estimate, seed_interval
from mammorepro.detection import two_stage
from mammorepro.detection.two_stage import FullImages
from mammorepro.papers import common, p1, p2, p3, p4, p5
from mammorepro.post.crf import BACKENDS, refine
from mammorepro.post.threshold import binarize
from mammorepro.report import RunRecorder

PAPER = "side_by_side"
BASELINE = "all-background"
TWO_STAGE = "two-stage YOLOv3 + MSF + v19U-Net++"


@dataclass(frozen=True)
class Method:
    paper: str
    source: str  # what is taken from the paper: architecture, loss, post-processing


METHODS = {
    "U-Net": Method("p2", "U-Net (Ronneberger 2015) at p2's widths; p2's BCE loss"),
    "MultiRes U-Net": Method("p2", "MultiRes U-Net at p2's widths (alpha 1.67); p2's BCE loss"),
    "DS U-Net": Method("p1", "DS U-Net (SE attention, 6 side outputs, fusion) at p1's widths; p1's deep-supervision BCE + log-Dice loss"),
    "DS U-Net + CRF": Method("p1", "the DS U-Net's probabilities refined by p1's dense CRF (released kernels, no probability shift)"),
    "FCN8": Method("p4", "FCN8 on VGG16 at p4's width; p4's class-frequency-weighted BCE, trained in one stage"),
    "Dilation10": Method("p4", "Dilation10 front end + context module at p4's width, trained in one stage (p4's global stage); weighted BCE"),
    "DeepLabv3": Method("p4", "DeepLabv3, ResNet18 with GroupNorm at p4's width; weighted BCE"),
    "EfficientNet-B3 U-Net": Method("p5", "smp U-Net, EfficientNet-B3 encoder (p5's batch-norm momentum); p5's focal + Dice loss"),
    TWO_STAGE: Method("p3", "p3's YOLOv3 (anchors from the training boxes) at 3 scales, MSF at msf_lambda, v19U-Net++ on equalised patches (Dice loss), pasted back"),
}
# methods whose output another method post-processes: they are trained first
_REFINES = {"DS U-Net + CRF": "DS U-Net"}
# the methods that are one trained network (what `python -m mammorepro.train` trains)
NETWORKS = tuple(m for m in METHODS if m not in _REFINES and m != TWO_STAGE)

_COMMON = {
    **config_mod.CHAPTER_BASE,
    "methods": ",".join(METHODS),
    "folds": 1,  # how many of the dataset's named splits to run (mini-MIAS has 5 folds); 0: all
    "border_crop": 0.01,
    "clahe": True,
    "augment": True,
    "threshold": 0.5,
    "msf_lambda": 0.6,  # p3's choice for its Table 5
    "crf_backend": "pydensecrf",  # DS U-Net + CRF: the reference CPU CRF; "torch": the same CRF on the GPU (p1's setting)
}
PROFILES = {
    "smoke": {**_COMMON, "n_cases": 24, "image_size": 64, "patch_size": 32, "epochs": 1, "batch_size": 4, "lr": 1e-3, "det_iterations": 3, "patience": 0},
    # default: p1's and p2's default budget (240 phantom cases, 16 epochs), at which their DS
    # U-Net and U-Nets learn; at 56 cases and 6 epochs DS U-Net, its CRF and the two-stage
    # pipeline equalled the all-background prediction
    "default": {**_COMMON, "n_cases": 240, "image_size": 128, "patch_size": 32, "epochs": 16, "batch_size": 8, "lr": 1e-3, "det_iterations": 150, "patience": 0, "n_seeds": 2},
    "real": {**_COMMON, **config_mod.REAL, "n_cases": 56, "image_size": 128, "patch_size": 32, "epochs": 12, "batch_size": 8, "lr": 1e-3, "det_iterations": 150, "patience": 4},
    "full": {**_COMMON, "n_cases": 2000, "image_size": 256, "patch_size": 256, "epochs": 100, "batch_size": 8, "lr": 1e-4, "det_iterations": 30000, "patience": 10, "n_seeds": 3, "folds": 5},
}
TABLE_METRICS = {
    "dice_per_image": "Dice / image",
    "dice_pooled": "Dice pooled",
    "iou_per_image": "IoU / image",
    "miou_fg_bg": "mIoU (bg + mass)",
    "pixel_accuracy": "pixel accuracy",
}
PER_IMAGE = {"dice_per_image": "dice", "iou_per_image": "iou"}
TWO_STAGE_SCALES = (0.75, 1.0, 1.25)  # p3's detector scales here, as multiples of image_size
SETTINGS = {"two-stage scales": TWO_STAGE_SCALES}


def method_names(cfg: dict) -> list[str]:
    return [m.strip() for m in cfg["methods"].split(",") if m.strip()]


def configure(profile: str = "default", **params) -> dict:
    """Resolve the notebook's parameters against the profile; every check runs here."""
    cfg = config_mod.resolve(PROFILES, profile, **params)
    names = method_names(cfg)
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ConfigError(f"methods={cfg['methods']!r}: use a comma-separated subset of {', '.join(METHODS)}")
    missing = [f"{m} (needs {_REFINES[m]})" for m in names if m in _REFINES and _REFINES[m] not in names]
    if missing:
        raise ConfigError(f"methods: {', '.join(missing)}: add the method it refines")
    if cfg["crf_backend"] not in BACKENDS:
        raise ConfigError(f"crf_backend={cfg['crf_backend']!r}: use one of {', '.join(BACKENDS)}")
    common.check_folds(cfg)
    if cfg["image_size"] % 64 or cfg["image_size"] < 64:
        raise ConfigError(f"image_size={cfg['image_size']} must be a multiple of 64 (the detector's scales and every encoder's stride)")
    if cfg["patch_size"] % 32 or cfg["patch_size"] < 32:
        raise ConfigError(f"patch_size={cfg['patch_size']} must be a multiple of 32 (the VGG19 encoder)")
    if cfg["det_iterations"] < 1 or cfg["n_seeds"] < 1:
        raise ConfigError("det_iterations and n_seeds must be >= 1")
    if not 0 <= cfg["msf_lambda"] <= 1:
        raise ConfigError(f"msf_lambda={cfg['msf_lambda']} must lie in [0, 1]")
    common.train_config(cfg)
    return cfg


def select_cases(cases) -> list:
    """Images that show a mass, and images with no lesion at all (the detector's negatives)."""
    return [c for c in cases if c.mass_masks() or not c.lesions]


def load(cfg: dict):
    cases = select_cases(common.load(cfg))
    if sum(bool(c.mass_masks()) for c in cases) < 10:
        raise ConfigError(f"only {sum(bool(c.mass_masks()) for c in cases)} images with a mass: raise n_cases or point data_root at the full dataset")
    return cases


def split_names(cfg: dict, cases) -> list[str]:
    """The named splits of the saved split file to run (the first ``folds``)."""
    splits, _, _ = data_mod.get_or_create_splits(
        Path(cfg["results_root"]) / "splits", cfg["dataset"], [c.case_id for c in cases], [c.patient_id for c in cases], [c.official_split for c in cases], cfg["seed"]
    )
    return list(splits)[: cfg["folds"] or None]


# ----------------------------------------------------------------------------- the methods


def _chapter_cfg(module, cfg: dict, **extra) -> dict:
    """The method's chapter config at this profile (its widths), with the shared settings."""
    out = dict(module.PROFILES[cfg["profile"]])
    out.update({k: cfg[k] for k in ("seed", "device", "results_root", "profile", "image_size", "epochs", "batch_size", "lr")})
    out.update(encoder_weights="", **extra)
    return out


def build(cfg: dict, method: str, seed: int, train_masks: np.ndarray) -> tuple[nn.Module, nn.Module]:
    """(model, loss) of a trainable method, from its paper's module."""
    if method in ("U-Net", "MultiRes U-Net"):
        return p2.build_model(_chapter_cfg(p2, cfg), method, seed), build_loss("bce")
    if method == "DS U-Net":
        c = _chapter_cfg(p1, cfg)
        return p1.build_model(c, "DS U-Net", seed), p1.build_p1_loss(c)
    if method in ("FCN8", "Dilation10", "DeepLabv3"):
        key = {"FCN8": "fcn8", "Dilation10": "dilation10-global", "DeepLabv3": "deeplabv3"}[method]
        pos, neg = frequency_weights(mass_share=float(np.mean(train_masks > 0)))
        return p4.build_model(_chapter_cfg(p4, cfg), key, seed), WeightedBCELoss(pos, neg)
    if method == "EfficientNet-B3 U-Net":
        return p5.build_model(_chapter_cfg(p5, cfg), seed), p5.loss_fn()
    raise ConfigError(f"{method!r} is not trained on its own: it refines {_REFINES.get(method, 'another method')}")


def p3_config(cfg: dict) -> dict:
    """p3's pipeline on this protocol's square images: three detector scales at 0.75, 1 and
    1.25 x ``image_size`` (p3's five 2:1 scales span 0.63-1.9 x its single-scale height),
    the middle one the single scale; patches of ``patch_size``; no pre-training."""
    s = cfg["image_size"]
    ref = p3.PAPER_FULL_HEIGHT
    return _chapter_cfg(
        p3,
        cfg,
        full_height=s,
        scales=",".join(f"{int(ref * f)}x{int(ref * f)}" for f in TWO_STAGE_SCALES),
        single_scale=2,
        image_size=cfg["patch_size"],
        det_iterations=cfg["det_iterations"],
        msf_lambda=cfg["msf_lambda"],
        pretrain_dataset="",
        backbone_weights="",
    )


def full_images(part: ArraySegmentationDataset) -> FullImages:
    """A split part as p3's full images: one box per connected mass component."""
    boxes = [np.asarray(component_boxes(m > 0), np.float32).reshape(-1, 4) for m in part.masks]
    return FullImages(list(part.case_ids), list(part.case_ids), part.images, part.masks.astype(np.uint8), boxes)


@dataclass
class TwoStageRun:
    probabilities: np.ndarray  # on the segmentation test images
    detection: dict  # TPR and FP per image at msf_lambda (IoU and centre rules), AP at the single scale; all test images
    train_seconds: float
    history: list = field(default_factory=list)


def run_two_stage(cfg: dict, seg: common.Prepared, all_test: ArraySegmentationDataset, seed: int, progress: bool = False) -> TwoStageRun:
    """p3 on the shared split: train the detector on the training images with a mass, detect
    on every test image (normals count false positives), fuse the scales at ``msf_lambda``,
    train v19U-Net++ on ground-truth patches, and paste its output on the fused boxes of the
    segmentation test images back into the full image."""
    c = p3_config(cfg)
    t0 = time.perf_counter()
    train = full_images(seg.parts["train"])
    stage1 = p3.train_detector(c, train, None, seed, progress)
    test_all = full_images(all_test)
    per_scale = p3.detect_scales(c, stage1.model, test_all)
    shape = test_all.images.shape[1:]
    fused = two_stage.msf_candidates(per_scale, shape, c["msf_lambda"], c["det_score"])
    single = match_detections(per_scale[c["single_scale"] - 1], test_all.boxes, c["hit_iou"])
    detection = {**two_stage.tpr_fp(fused, test_all.boxes, c["hit_iou"]), "ap": average_precision(single)}
    pparts = {}
    for name in ("train", "val"):
        x, y, ids, _ = two_stage.patches(full_images(seg.parts[name]), c["image_size"], c["crop_margin"])
        pparts[name] = ArraySegmentationDataset(x, y, ids)
    pparts["test"] = pparts["val"]  # train_run predicts a test part; the real test input is the detector's boxes
    patch_prepared = common.Prepared(pparts, seg.split_path, seg.split_sha256, seg.meta, seg.split_name)
    model = p3.build_segmenter(c, "v19U-Net++", seed)
    run = common.train_run(PAPER, cfg, patch_prepared, TWO_STAGE, f"{seg.split_name}-two-stage", model, build_loss("dice"), common.train_config(cfg, seed=seed), progress=progress)
    pos = {cid: i for i, cid in enumerate(test_all.case_ids)}
    test_seg = full_images(seg.parts["test"])
    boxes = [fused[pos[cid]][0] for cid in test_seg.case_ids]
    probs = two_stage.segment_candidates(run.model, test_seg, boxes, c["image_size"], c["crop_margin"], common.train_config(c))
    return TwoStageRun(probs, detection, time.perf_counter() - t0, run.history.rows)


# ----------------------------------------------------------------------------- running


def mass_only(prepared: common.Prepared) -> common.Prepared:
    """The split's parts restricted to the images that show a mass (what every method segments)."""
    has_mass = dict(zip(prepared.meta["case_id"], prepared.meta["n_masses"] > 0))
    parts = {}
    for name, ds in prepared.parts.items():
        keep = [i for i, cid in enumerate(ds.case_ids) if has_mass[cid]]
        parts[name] = ds.subset(keep)
    return common.Prepared(parts, prepared.split_path, prepared.split_sha256, prepared.meta, prepared.split_name, prepared.scheme, prepared.group_by, prepared.kinds)


@dataclass
class Result:
    """Every method's scores per seed (test images of every fold, in fold order), the detector's
    numbers per run, and each run's training time and history."""

    methods: list[str]
    seeds: list[int]
    splits: list[str]
    scores: dict[str, list[SegmentationScores]]  # method -> one per seed
    detection: list[dict] = field(default_factory=list)  # per (split, seed)
    runs: list[dict] = field(default_factory=list)  # per (split, seed, method): seconds, epochs, best epoch
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)  # first split, first seed: for figures
    prepared: list[common.Prepared] = field(default_factory=list)  # one per split (mass images only)
    all_test: int = 0  # test images including those with no lesion


def run(cfg: dict, cases, progress: bool = False) -> Result:
    """Train every requested method for every seed on every requested split, and score it."""
    names = method_names(cfg)
    seed_list = common.seeds(cfg)
    splits = split_names(cfg, cases)
    scores = {m: [SegmentationScores(empty=common.EMPTY_MASK_POLICY) for _ in seed_list] for m in [*names, BASELINE]}
    out = Result(names, seed_list, splits, scores)
    trainable = [m for m in names if m in NETWORKS]
    for split in splits:
        prepared = common.prepare(cfg, cases, split=split)
        seg = mass_only(prepared)
        out.prepared.append(seg)
        out.all_test += len(prepared.parts["test"])
        test = seg.parts["test"]
        for k, seed in enumerate(seed_list):
            probs: dict[str, np.ndarray] = {BASELINE: np.zeros(test.masks.shape, np.float32)}
            tcfg = common.train_config(cfg, seed=seed)
            for method in trainable:
                model, loss = build(cfg, method, seed, seg.parts["train"].masks)
                r = common.train_run(PAPER, cfg, seg, method, f"{split}-{method.replace(' ', '_')}", model, loss, tcfg, progress=progress)
                probs[method] = r.probabilities
                out.runs.append({"split": split, "seed": seed, "method": method, "train_seconds": r.train_seconds, **_epochs(r.history.rows, r.history.best_epoch)})
            if "DS U-Net + CRF" in names:
                t0 = time.perf_counter()
                probs["DS U-Net + CRF"] = refine(probs["DS U-Net"], test.images, p1.crf_params(_chapter_cfg(p1, cfg)), cfg["crf_backend"], cfg["device"])
                out.runs.append({"split": split, "seed": seed, "method": "DS U-Net + CRF", "train_seconds": time.perf_counter() - t0})
            if TWO_STAGE in names:
                two = run_two_stage(cfg, seg, prepared.parts["test"], seed, progress)
                probs[TWO_STAGE] = two.probabilities
                out.detection.append({"split": split, "seed": seed, **two.detection})
                out.runs.append({"split": split, "seed": seed, "method": TWO_STAGE, "train_seconds": two.train_seconds, "epochs_run": len(two.history)})
            for method, p in probs.items():
                scores[method][k].update(binarize(p, cfg["threshold"]), test.masks > 0, test.case_ids, extents=test.extents)
                if split == splits[0] and k == 0:
                    out.probabilities[method] = p
    return out


def _epochs(rows: list, best: int) -> dict:
    return {"epochs_run": len(rows), "best_epoch": best + 1}


# ----------------------------------------------------------------------------- tables and figures


def results_table(cfg: dict, result: Result) -> pd.DataFrame:
    """One row per method (and the all-background prediction): each metric's mean with its
    95 % CI in ``<metric>_low`` / ``<metric>_high``. Per-image metrics: bootstrap over test
    images of each image's mean over seeds. Pooled metrics: bootstrap of the pooled value,
    images resampled together for every seed, averaged over seeds. The detector's TPR and
    false positives per image at the fusion threshold, and its single-scale AP at IoU 0.5 (every
    detection, no score cut): mean over runs (splits x seeds) with a t-interval (none for one run). ``train_seconds``: mean training time of one run."""
    rows = []
    for method in [*result.methods, BASELINE]:
        runs = result.scores[method]
        row: dict = {"method": method, "paper": METHODS[method].paper if method in METHODS else "-"}
        for metric in TABLE_METRICS:
            if metric in PER_IMAGE:
                values = common.per_image_mean(runs, PER_IMAGE[metric])
                mean, (lo, hi) = float(np.mean(values)), bootstrap_ci(values, seed=cfg["seed"])
            else:
                mean, lo, hi = bootstrap_pooled_ci([s.counts for s in runs], metric, seed=cfg["seed"])
            row.update({metric: mean, f"{metric}_low": lo, f"{metric}_high": hi})
        for key in ("ap", "tpr", "fp_per_image"):
            values = [d[key] for d in result.detection] if method == TWO_STAGE else []
            mean, lo, hi = seed_interval(values) if values else (np.nan, np.nan, np.nan)
            row.update({key: mean, f"{key}_low": lo, f"{key}_high": hi})
        seconds = [r["train_seconds"] for r in result.runs if r["method"] == method]
        row["train_seconds"] = float(np.mean(seconds)) if seconds else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def detector_findings(cfg: dict, result: Result) -> list[str]:
    """What the two-stage pipeline's first stage found, as sentences written from the runs: its
    TPR, false positives per image and AP (mean over runs), and, when it proposes no box, why
    the pipeline then equals the all-background prediction."""
    if not result.detection:
        return []
    mean = {k: float(np.mean([d[k] for d in result.detection])) for k in ("tpr", "fp_per_image", "ap")}
    splits = ", ".join(dict.fromkeys(str(d.get("split", "")) for d in result.detection))
    out = [f"The detector ({len(result.detection)} runs; split {splits}) found {mean['tpr']:.0%} of the test masses at {mean['fp_per_image']:.2f} false positives per image; AP at IoU 0.5 {mean['ap']:.3f}."]
    if mean["tpr"] == 0 and mean["fp_per_image"] == 0:
        out.append(
            "It proposed no box above the score threshold, so the second stage had nothing to segment and the pipeline predicts no mass: "
            f"at {cfg['det_iterations']} detector iterations from random weights (p3: 90k from ImageNet weights) the pipeline cannot learn, whatever its segmenter learned."
        )
    return out


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table as the book shows it: ``mean [low, high]`` per cell."""

    def cell(row, key: str) -> str:
        if np.isnan(row[key]):
            return ""
        return format_estimate({"value": row[key], "ci_low": row[f"{key}_low"], "ci_high": row[f"{key}_high"]})

    out = pd.DataFrame({"method": table["method"], "paper": table["paper"]})
    for key, title in {**TABLE_METRICS, "ap": "AP@0.5 (detector)", "tpr": "TPR (detector)", "fp_per_image": "FP / image (detector)"}.items():
        out[title] = [cell(r, key) for _, r in table.iterrows()]
    out["train s / run"] = table["train_seconds"].round(1)
    return out.set_index("method")


def plot_table(table: pd.DataFrame):
    """Each metric's mean and 95 % CI per method; the all-background value as a dashed line."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TABLE_METRICS), figsize=(3.0 * len(TABLE_METRICS), 0.35 * len(table) + 1.6), sharey=True)
    methods = [m for m in table["method"] if m != BASELINE]
    y = np.arange(len(methods))[::-1]
    base = table.set_index("method").loc[BASELINE]
    t = table.set_index("method").loc[methods]
    for ax, (metric, title) in zip(axes, TABLE_METRICS.items()):
        err = np.vstack([t[metric] - t[f"{metric}_low"], t[f"{metric}_high"] - t[metric]])
        ax.errorbar(t[metric], y, xerr=np.nan_to_num(err), fmt="o", ms=4, capsize=3)
        ax.axvline(base[metric], color="grey", ls="--", lw=1, label=BASELINE)
        ax.set(title=title, xlim=(0, 1) if metric != "pixel_accuracy" else None)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, methods, fontsize=8)
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_predictions(result: Result, n: int = 3, threshold: float = 0.5):
    """The first seed's output of every method on ``n`` test images of the first split, from
    the worst to the best mean Dice over methods; ground truth in green, prediction in red."""
    import matplotlib.pyplot as plt

    test = result.prepared[0].parts["test"]
    frames = [result.scores[m][0].per_case().iloc[: len(test)] for m in result.methods]
    mean_dice = pd.DataFrame({"dice": np.mean([f["dice"].to_numpy() for f in frames], axis=0), "has_lesion": frames[0]["has_lesion"]})
    picked = common.pick_cases(mean_dice, n)
    fig, axes = plt.subplots(len(picked), len(result.methods), figsize=(1.9 * len(result.methods), 2.0 * len(picked) + 0.4), squeeze=False)
    for i, idx in enumerate(picked):
        for j, method in enumerate(result.methods):
            ax = axes[i][j]
            ax.imshow(test.images[idx], cmap="gray", vmin=0, vmax=1)
            ax.contour(test.masks[idx], [0.5], colors="lime", linewidths=0.7)
            pred = result.probabilities[method][idx] >= threshold
            if pred.any():
                ax.contour(pred, [0.5], colors="red", linewidths=0.7)
            ax.set_title(f"{method}\nDice {frames[j]['dice'].iloc[idx]:.2f}" if i == 0 else f"Dice {frames[j]['dice'].iloc[idx]:.2f}", fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    return fig


def per_case(result: Result) -> pd.DataFrame:
    """Every method's per-image scores for every seed, with the split each image was tested in."""
    frame = common.per_seed_case_frames({"p >= threshold": result.scores}, result.seeds, seedless=())
    fold = {cid: p.split_name for p in result.prepared for cid in p.parts["test"].case_ids}
    frame.insert(0, "split", frame["case_id"].map(fold))
    return frame


def record(cfg: dict, result: Result, table: pd.DataFrame, figures: dict | None = None) -> Path:
    """Write results/side_by_side/<dataset>/<profile>/ as a whole: config, metrics (provenance,
    the table, every method's summary, the detector's runs, training times), per-case scores,
    env and figures."""
    with RunRecorder.for_config(PAPER, cfg) as rec:
        _write(rec, cfg, result, table, figures)
    return rec.dir


def _write(rec, cfg: dict, result: Result, table: pd.DataFrame, figures: dict | None) -> None:
    rec.write_config(
        {
            "parameters": cfg,
            "preprocess": common.preprocess_config(cfg).to_dict(),
            "phantom": data_mod.PhantomConfig().to_dict() if cfg["dataset"] == "phantom" else None,
            "split_scheme": data_mod.SCHEMES[cfg["dataset"]],
            "methods": {m: METHODS[m].source for m in result.methods},
            "p3_pipeline": p3_config(cfg) if TWO_STAGE in result.methods else None,
        }
    )
    first = result.prepared[0]
    metrics = {
        **common.provenance(PAPER, cfg, first),
        "split_name": ",".join(result.splits),
        "n_test": int(sum(len(p.parts["test"]) for p in result.prepared)),
        "n_test_with_lesion": int(sum(int(p.parts["test"].masks.reshape(len(p.parts["test"]), -1).any(axis=1).sum()) for p in result.prepared)),
        "n_test_including_normals": result.all_test,
        "seeds": result.seeds,
        "splits": result.splits,
        "table": table.to_dict(orient="records"),
        "methods": {m: common.mean_summary(s) for m, s in result.scores.items()},
        "detection": result.detection,
        "runs": result.runs,
    }
    metrics, frame = common.with_non_learned(metrics, per_case(result), *result.prepared)
    rec.write_metrics(metrics)
    rec.write_per_case(frame)
    rec.write_env(str(common.resolve_device(cfg.get("device", "auto"))))
    for name, fig in (figures or {}).items():
        rec.save_figure(fig, name)

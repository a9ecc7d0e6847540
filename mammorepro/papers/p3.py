"""p3, Yan et al.: two-stage multi-scale mass segmentation on full mammograms
(``notebooks/p3_two_stage_msf``).

The pipeline (sec. 3, Fig. 1):

1. **Detection** (sec. 3.2): YOLOv3 (:mod:`mammorepro.detection.yolo`) with 9 anchors from
   k-means on the training boxes, trained at input sizes redrawn every 10 batches,
   pre-trained on one dataset (CBIS-DDSM in the paper) and fine-tuned on the target
   (INbreast), 5 random 70/30 splits T1-T5 of the images that contain masses.
2. **Multi-scale fusion** (sec. 3.2, eq. 1): the detector runs at 5 input sizes, its boxes
   are fused into one confidence mask, thresholded at lambda; one box per component
   (:mod:`mammorepro.detection.msf`).
3. **Segmentation** (sec. 3.3, 4.2): v19U-Net++ (UNet++ with a VGG19 encoder) trained on
   crops around ground-truth masses resized to 256 x 256 with histogram equalisation, Dice
   loss, Adam, batch 4; at test time the crops come from stage 1, are segmented and pasted
   back into the full image.

Evaluation: AP at IoU 0.5 (Table 1), FROC and TPR@FPavg per lambda (Fig. 5, Table 2), patch
Dice (Table 4) and full-image Dice of one-stage, two-stage without MSF and two-stage with MSF
(Table 5). The notebook calls :func:`configure`, :func:`load`, :func:`prepare`,
:func:`pretrain_detector`, :func:`run_split` for each split, :func:`tables`, :func:`record`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from torch import nn

from mammorepro import config as config_mod
from mammorepro import data as data_mod
from mammorepro.detection import (
    DetectorConfig,
    YOLOv3,
    average_precision,
    detect,
    fit_detector,
    fuse_scales,
    kmeans_anchors,
    match_detections,
)
from mammorepro.detection.anchors import mean_best_iou
from mammorepro.detection import two_stage as two_stage_mod
from mammorepro.detection.boxes import boxes_from_masks, scale_boxes
from mammorepro.detection.two_stage import FullImages, equalize, kept
from mammorepro.detection.two_stage import resize as _resize
from mammorepro.detection.evaluation import froc_curve, precision_recall
from mammorepro.engine import ArraySegmentationDataset, score_predictions, seed_everything
from mammorepro.errors import ConfigError
from mammorepro.losses import build_loss
from mammorepro.metrics import SegmentationScores
from mammorepro.models import create_model
from mammorepro.papers.common import (
    EMPTY_MASK_POLICY,
    Prepared,
    Runs,
    load,
    paired_comparisons,
    record_run,
    seeds,
    train_all,
    train_config,
)
from mammorepro.preprocess import ops
from mammorepro.metrics import ALL_BACKGROUND
from mammorepro.report.learned import learned_table
from mammorepro.report.claims import Claim, comparison_claims, per_case_estimate, with_ci, with_learned

__all__ = ["PROFILES", "REPORTED", "configure", "load", "prepare", "pretrain_detector", "record", "run_split", "tables"]

PAPER = "p3"
SPLITS = ("T1", "T2", "T3", "T4", "T5")
# the paper's MSF input sizes for 2048 x 1024 mammograms, written height x width here (the
# paper writes them width x height: 160 x 320 ... 480 x 960)
PAPER_FULL_HEIGHT = 2048
PAPER_SCALES = "320x160,512x256,640x320,832x416,960x480"

SEGMENTERS = {"v19U-Net++": "smp-unetplusplus", "U-Net": "smp-unet"}

# the paper's numbers, per split T1..T5 (fractions)
REPORTED = {
    "ap": [0.7864, 0.7024, 0.7611, 0.7905, 0.7328],  # Table 1
    "msf": {  # Table 2: (TPR, FP per image)
        0.0: [(0.91, 1.58), (0.97, 1.39), (0.89, 1.30), (0.91, 1.55), (1.0, 0.87)],
        0.5: [(0.97, 0.18), (0.94, 0.27), (0.91, 0.18), (0.92, 0.36), (0.97, 0.12)],
        0.6: [(0.94, 0.12), (0.94, 0.24), (0.91, 0.18), (0.92, 0.30), (0.97, 0.06)],
        0.7: [(0.94, 0.09), (0.89, 0.27), (0.91, 0.15), (0.89, 0.18), (0.97, 0.06)],
    },
    "patch": {  # Table 4
        "U-Net": [0.9047, 0.8976, 0.8816, 0.8797, 0.8966],
        "v19U-Net++": [0.9094, 0.9142, 0.9056, 0.9023, 0.9113],
    },
    "full": {  # Table 5
        ("U-Net", "one-stage"): [0.4366, 0.4412, 0.4593, 0.4079, 0.4736],
        ("U-Net", "two-stage w/o MSF"): [0.7059, 0.6846, 0.7056, 0.7466, 0.6606],
        ("U-Net", "two-stage with MSF"): [0.7740, 0.8307, 0.7545, 0.7780, 0.8247],
        ("v19U-Net++", "one-stage"): [0.5338, 0.4938, 0.4744, 0.4885, 0.6180],
        ("v19U-Net++", "two-stage w/o MSF"): [0.7218, 0.6855, 0.7227, 0.7610, 0.6569],
        ("v19U-Net++", "two-stage with MSF"): [0.7751, 0.8438, 0.7739, 0.7880, 0.8412],
    },
}
COMPARISONS = [
    {"claim": "two-stage with MSF beats two-stage without MSF (v19U-Net++)", "better": "v19U-Net++ / two-stage with MSF", "than": "v19U-Net++ / two-stage w/o MSF", "where": "Table 5; sec. 4.2"},
    {"claim": "two-stage (w/o MSF) beats one-stage (v19U-Net++)", "better": "v19U-Net++ / two-stage w/o MSF", "than": "v19U-Net++ / one-stage", "where": "Table 5; sec. 5"},
    {"claim": "MSF also helps the U-Net", "better": "U-Net / two-stage with MSF", "than": "U-Net / two-stage w/o MSF", "where": "Table 5"},
]
QUOTED = {
    "74 and 33 images": "sec. 4.1 (the training and test parts of a split)",
    "INbreast's 107": "sec. 4.1 (the INbreast images with a mass)",
    "160 x 320, 256 x 512, 320 x 640, 416 x 832 and 480 x 960": "sec. 3.2 (the MSF scales, width x height)",
    "2048 x 1024": "sec. 3.1 (the input size)",
}
PATCH_COMPARISON = [{"claim": "v19U-Net++ segments mass patches better than U-Net", "better": "v19U-Net++", "than": "U-Net", "where": "Table 4"}]

_COMMON = {
    **config_mod.CHAPTER_BASE,
    "pretrain_dataset": "phantom",  # "" = no pre-training; the paper: cbis-ddsm
    "pretrain_root": "",
    "splits": "T1",  # comma-separated subset of T1..T5
    "scales": PAPER_SCALES,  # for a 2048-pixel-high image; scaled with full_height
    "single_scale": 4,  # 1-based index into scales: the single-scale detector (416 x 832 here)
    "lambdas": "0,0.5,0.6,0.7",
    "msf_lambda": 0.6,  # the paper's choice for Table 5
    "det_score": 0.3,  # YOLO confidence kept as a candidate (keras-yolo3's default)
    "nms_iou": 0.45,
    "hit_iou": 0.5,
    "crop_margin": 0.1,  # patch side = long box side x (1 + 2 x margin)
    "border_crop": 0.01,
    "clahe": False,  # stage 2 uses histogram equalisation (sec. 4.2); detection gets the raw image
    "threshold": 0.5,
    "optimizer": "adam",
    "det_lr": 1e-3,
    "backbone_weights": "",  # local Darknet-53 ImageNet state dict (timm darknet53); "" = random init
    "encoder_weights": "",  # local VGG19 state dict or "imagenet" (from the local cache only)
    "encoder": "vgg19",
}
PROFILES = {
    "smoke": {
        **_COMMON, "n_cases": 16, "pretrain_n_cases": 8, "full_height": 256, "image_size": 32, "onestage_height": 64,
        "det_width": 0.125, "pretrain_iterations": 2, "det_iterations": 3, "det_batch_size": 2, "det_score": 0.003,
        "epochs": 1, "batch_size": 4, "lr": 1e-3, "patience": 0,
    },
    # default: sized for the book's CPU budget (about 10 minutes on 2 cores)
    "default": {
        **_COMMON, "n_cases": 110, "pretrain_n_cases": 60, "full_height": 1024, "image_size": 32, "onestage_height": 128,
        "det_width": 0.25, "pretrain_iterations": 120, "det_iterations": 150, "det_batch_size": 8,
        "epochs": 4, "batch_size": 4, "lr": 1e-3, "patience": 0,
    },
    # real: the default's budget on every image of a real dataset, 3 seeds, resumable
    "real": {
        **_COMMON, **config_mod.REAL, "n_cases": 110, "pretrain_n_cases": 60, "full_height": 1024, "image_size": 32, "onestage_height": 128,
        "det_width": 0.25, "pretrain_iterations": 120, "det_iterations": 150, "det_batch_size": 8,
        "epochs": 6, "batch_size": 4, "lr": 1e-3, "patience": 3,
    },
    "full": {
        **_COMMON, "pretrain_dataset": "cbis-ddsm", "n_cases": 410, "pretrain_n_cases": 1514, "full_height": 2048, "image_size": 256, "onestage_height": 512,
        "det_width": 1.0, "pretrain_iterations": 60000, "det_iterations": 30000, "det_batch_size": 32,
        "epochs": 100, "batch_size": 4, "lr": 1e-4, "patience": 10, "splits": "T1,T2,T3,T4,T5",
    },
}


def configure(profile: str = "default", **params) -> dict:
    """Resolve the notebook's parameters against the profile; every check runs here."""
    cfg = config_mod.resolve(PROFILES, profile, **params)
    need = [
        (cfg["pretrain_dataset"] in ("",) + config_mod.DATASETS, f"pretrain_dataset={cfg['pretrain_dataset']!r}: use '' (none) or one of {', '.join(config_mod.DATASETS)}"),
        (all(s in SPLITS for s in split_names(cfg)) and split_names(cfg), f"splits={cfg['splits']!r}: use a comma-separated subset of {','.join(SPLITS)}"),
        (cfg["full_height"] >= 128 and cfg["full_height"] % 64 == 0, f"full_height={cfg['full_height']} must be a multiple of 64, at least 128 (width = height / 2)"),
        (cfg["image_size"] % 32 == 0, f"image_size={cfg['image_size']} (the patch size) must be a multiple of 32 for the VGG19 encoder"),
        (cfg["onestage_height"] % 64 == 0 and cfg["onestage_height"] <= cfg["full_height"], f"onestage_height={cfg['onestage_height']} must be a multiple of 64, at most full_height"),
        (0 < cfg["det_width"] <= 1, f"det_width={cfg['det_width']} must be in (0, 1]; 1 is Darknet-53"),
        (0 <= cfg["msf_lambda"] <= 1 and all(0 <= v <= 1 for v in lambdas(cfg)), f"lambdas={cfg['lambdas']!r} and msf_lambda={cfg['msf_lambda']} must lie in [0, 1]"),
        (0 < cfg["det_score"] < 1 and 0 < cfg["nms_iou"] <= 1 and 0 < cfg["hit_iou"] <= 1, "det_score, nms_iou and hit_iou must lie in (0, 1]"),
        (cfg["crop_margin"] >= 0, f"crop_margin={cfg['crop_margin']} must be >= 0"),
        (cfg["det_iterations"] >= 1 and cfg["pretrain_iterations"] >= 0 and cfg["det_batch_size"] >= 1, "det_iterations >= 1, pretrain_iterations >= 0, det_batch_size >= 1"),
    ]
    for ok, msg in need:
        if not ok:
            raise ConfigError(msg)
    sizes = scales(cfg)
    if not 1 <= cfg["single_scale"] <= len(sizes):
        raise ConfigError(f"single_scale={cfg['single_scale']} must be between 1 and the number of scales ({len(sizes)})")
    for key in ("backbone_weights",) + (("encoder_weights",) if cfg["encoder_weights"] not in ("", "imagenet") else ()):
        if cfg[key] and not Path(cfg[key]).is_file():
            raise ConfigError(f"{key}={cfg[key]!r} is not a file: give a local state dict (nothing is downloaded at run time)")
    if cfg["backbone_weights"] and cfg["det_width"] != 1.0:
        raise ConfigError(f"backbone_weights need the full Darknet-53: set det_width=1.0 (now {cfg['det_width']})")
    train_config(cfg)
    DetectorConfig(cfg["det_iterations"], cfg["det_batch_size"], cfg["det_lr"], train_sizes(cfg))
    return cfg


def split_names(cfg: dict) -> list[str]:
    return [s.strip() for s in cfg["splits"].split(",") if s.strip()]


def lambdas(cfg: dict) -> list[float]:
    try:
        return [float(v) for v in cfg["lambdas"].split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"lambdas={cfg['lambdas']!r} must be comma-separated numbers, e.g. '0,0.5,0.6,0.7'") from None


def scales(cfg: dict) -> list[tuple[int, int]]:
    """The MSF input sizes (height, width) for this run: the paper's, scaled by
    full_height / 2048 (at least 32 pixels). The detector pads them to multiples of 32."""
    out = []
    for item in cfg["scales"].split(","):
        try:
            h, w = (int(v) for v in item.lower().split("x"))
        except ValueError:
            raise ConfigError(f"scales={cfg['scales']!r}: write sizes as HEIGHTxWIDTH separated by commas, e.g. '320x160,512x256'") from None
        f = cfg["full_height"] / PAPER_FULL_HEIGHT
        out.append((max(32, int(round(h * f))), max(32, int(round(w * f)))))
    return out


def train_sizes(cfg: dict) -> tuple[tuple[int, int], ...]:
    """Multi-scale training sizes: every height that is a multiple of 64 between the smallest
    and the largest MSF scale, at the scales' aspect ratio (width = height / 2 for the paper's
    2:1 mammograms; square for square inputs), widths rounded to a multiple of 32."""
    sizes = scales(cfg)
    hs = [h for h, _ in sizes]
    aspect = sizes[-1][1] / sizes[-1][0]
    lo, hi = max(64, 64 * int(np.ceil(min(hs) / 64))), max(64, 64 * int(max(hs) // 64))
    return tuple((h, max(32, 32 * int(round(h * aspect / 32)))) for h in range(lo, max(lo, hi) + 1, 64))


# ----------------------------------------------------------------------------- data




def full_images(cfg: dict, cases) -> FullImages:
    """Every case that contains a mass (the paper keeps INbreast's 107 such images), border
    cropped and resized to full_height x full_height / 2 (the paper: 2048 x 1024); one box per
    mass from its own mask."""
    h, w = cfg["full_height"], cfg["full_height"] // 2
    ids, pids, images, masks, boxes = [], [], [], [], []
    for case in cases:
        lesions = case.mass_masks()
        if not lesions:
            continue
        img = case.image
        crop = (lambda a: ops.crop_border(a, cfg["border_crop"])) if cfg["border_crop"] > 0 else (lambda a: a)
        x = cv2.resize(crop(img).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        x = x / float(np.iinfo(img.dtype).max) if np.issubdtype(img.dtype, np.integer) else ops.normalize(x)
        ms = [(cv2.resize(crop(m).astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) >= 0.5).astype(np.uint8) for m in lesions]
        b = boxes_from_masks(ms)
        if len(b) == 0:
            continue  # every mass vanished at this resolution
        ids.append(case.case_id)
        pids.append(case.patient_id)
        images.append(x.astype(np.float32))
        masks.append(np.bitwise_or.reduce(np.stack(ms), axis=0))
        boxes.append(b)
    if not ids:
        raise ConfigError("no case with a mass: p3 trains its detector on images that contain masses")
    return FullImages(ids, pids, np.stack(images), np.stack(masks), boxes)


@dataclass
class Data:
    images: FullImages
    splits: dict[str, dict[str, list[str]]]
    split_path: Path
    split_sha256: str


def prepare(cfg: dict, cases) -> Data:
    """Full images of the mass-containing cases and the five 70/30 splits T1-T5 by patient
    (validation: 10 % of each training part), drawn once and saved."""
    images = full_images(cfg, cases)
    splits, path, sha = data_mod.get_or_create_splits(
        Path(cfg["results_root"]) / "splits", cfg["dataset"], images.case_ids, images.patient_ids, None, cfg["seed"], scheme="inbreast"
    )
    return Data(images, splits, path, sha)


def load_pretraining(cfg: dict) -> FullImages | None:
    """The pre-training set (sec. 4.1: CBIS-DDSM's mass images): for the phantom, a separate
    phantom generated from another seed, so it shares no image with the target."""
    if not cfg["pretrain_dataset"]:
        return None
    cases = data_mod.load_cases(cfg["pretrain_dataset"], cfg["pretrain_root"] or None, n=cfg["pretrain_n_cases"], seed=cfg["seed"] + 1000)
    return full_images(cfg, cases)


# ----------------------------------------------------------------------------- stage 1


def detector_config(cfg: dict, iterations: int, seed: int) -> DetectorConfig:
    return DetectorConfig(iterations, cfg["det_batch_size"], cfg["det_lr"], train_sizes(cfg), device=cfg["device"], seed=seed)


def reference_size(cfg: dict) -> tuple[int, int]:
    """The single-scale input size; anchors are clustered on boxes measured at it."""
    return scales(cfg)[cfg["single_scale"] - 1]


def reference_wh(cfg: dict, images: FullImages) -> np.ndarray:
    """Every mass box's (width, height) at the single-scale input size."""
    boxes = np.concatenate([scale_boxes(b, images.images.shape[1:], reference_size(cfg)) for b in images.boxes])
    return boxes[:, 2:] - boxes[:, :2]


def anchors_for(cfg: dict, images: FullImages) -> np.ndarray:
    return kmeans_anchors(reference_wh(cfg, images), 9, seed=cfg["seed"])


def build_detector(cfg: dict, anchors: np.ndarray, seed: int) -> YOLOv3:
    torch.manual_seed(seed)
    model = YOLOv3(anchors, width=cfg["det_width"])
    if cfg["backbone_weights"]:
        model.load_backbone(cfg["backbone_weights"])
    return model


@dataclass
class Pretrained:
    state: dict
    anchors: np.ndarray
    history: pd.DataFrame
    seconds: float
    n_images: int


def pretrain_detector(cfg: dict, progress: bool = False) -> Pretrained | None:
    """Pre-train YOLOv3 on the pre-training set (anchors clustered on its boxes); the weights
    are the starting point of every split's fine-tuning. None without a pre-training set."""
    if not cfg["pretrain_dataset"] or cfg["pretrain_iterations"] == 0:
        return None
    source = load_pretraining(cfg)
    anchors = anchors_for(cfg, source)
    model = build_detector(cfg, anchors, cfg["seed"])
    hist = fit_detector(model, source.images, source.boxes, detector_config(cfg, cfg["pretrain_iterations"], cfg["seed"]), progress)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k != "anchors"}
    return Pretrained(state, anchors, hist.to_frame(), hist.seconds, len(source))


@dataclass
class Stage1:
    anchors: np.ndarray
    anchor_iou: float
    history: pd.DataFrame
    seconds: float
    model: YOLOv3
    per_scale: list[list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)  # [scale][image] -> (boxes, scores >= 0.001)


def train_detector(cfg: dict, train: FullImages, pretrained: Pretrained | None, seed: int, progress: bool = False) -> Stage1:
    """Fine-tune (or train from the ImageNet / random start) on the split's training images,
    anchors re-clustered on them (sec. 3.2)."""
    wh = reference_wh(cfg, train)
    anchors = kmeans_anchors(wh, 9, seed=cfg["seed"])
    model = build_detector(cfg, anchors, seed)
    if pretrained is not None:
        model.load_state_dict({**pretrained.state, "anchors": model.anchors}, strict=True)
    hist = fit_detector(model, train.images, train.boxes, detector_config(cfg, cfg["det_iterations"], seed), progress)
    return Stage1(anchors, mean_best_iou(wh, anchors), hist.to_frame(), hist.seconds, model)


def detect_scales(cfg: dict, model: YOLOv3, images: FullImages) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Detections (scores >= 0.001, after NMS) of every test image at every MSF scale."""
    return [detect(model, images.images, size, 0.001, cfg["nms_iou"], device=cfg["device"]) for size in scales(cfg)]




def msf_candidates(cfg: dict, per_scale, shape: tuple[int, int], lam: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fused boxes per image at ``lam`` from the candidates (score >= det_score) of every scale."""
    return two_stage_mod.msf_candidates(per_scale, shape, lam, cfg["det_score"])


def detection_metrics(cfg: dict, stage1: Stage1, test: FullImages) -> dict:
    """AP at the single scale (Table 1), TPR@FPavg of each scale's candidates and of MSF at
    each lambda (Table 2), and the FROC curves (Fig. 5)."""
    single = cfg["single_scale"] - 1
    out = {"single_scale": "x".join(map(str, scales(cfg)[single])), "n_images": len(test), "n_masses": int(sum(len(b) for b in test.boxes))}
    curves = {}
    for k, dets in enumerate(stage1.per_scale):
        m = match_detections(dets, test.boxes, cfg["hit_iou"])
        name = "x".join(map(str, scales(cfg)[k]))
        fps, tpr = froc_curve(m)
        recall, precision = precision_recall(m)
        curves[name] = {"fp_per_image": fps.round(4).tolist(), "tpr": tpr.round(4).tolist(), "recall": recall.round(4).tolist(), "precision": precision.round(4).tolist()}
        curves[name]["ap"] = average_precision(m)
        curves[name].update(tpr_fp(cfg, kept(dets, cfg["det_score"]), test.boxes))
    out["ap"] = curves["x".join(map(str, scales(cfg)[single]))]["ap"]
    out["scales"] = curves
    shape = test.images.shape[1:]
    out["msf"] = {}
    for lam in sorted(set(lambdas(cfg)) | {cfg["msf_lambda"]}):
        out["msf"][str(lam)] = tpr_fp(cfg, msf_candidates(cfg, stage1.per_scale, shape, lam), test.boxes)
    return out


def tpr_fp(cfg: dict, candidates, truths) -> dict:
    """TPR and FP per image of a fixed candidate set, under the IoU rule and the centre rule."""
    return two_stage_mod.tpr_fp(candidates, truths, cfg["hit_iou"])


# ----------------------------------------------------------------------------- stage 2








def patches(cfg: dict, images: FullImages, boxes: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, list[str], list[tuple]]:
    """Patches (image_size, crop_margin) around ``boxes`` (default: the ground-truth masses)."""
    return two_stage_mod.patches(images, cfg["image_size"], cfg["crop_margin"], boxes)


def _split_prepared(data: Data, split: str, parts: dict[str, ArraySegmentationDataset]) -> Prepared:
    rows = [{"case_id": c, "part": name} for name, ds in parts.items() for c in ds.case_ids]
    return Prepared(parts, data.split_path, data.split_sha256, pd.DataFrame(rows), split)


def build_segmenter(cfg: dict, variant: str, seed: int) -> nn.Module:
    """v19U-Net++ (smp UnetPlusPlus) or the U-Net decoder (smp Unet) on the same VGG19 encoder."""
    if variant not in SEGMENTERS:
        raise ConfigError(f"unknown segmenter {variant!r}: use one of {', '.join(SEGMENTERS)}")
    weights = cfg["encoder_weights"] or None
    return create_model(SEGMENTERS[variant], seed=seed, encoder_name=cfg["encoder"], encoder_weights=weights)


def onestage_size(cfg: dict) -> tuple[int, int]:
    return cfg["onestage_height"], cfg["onestage_height"] // 2


def onestage_dataset(cfg: dict, images: FullImages) -> ArraySegmentationDataset:
    """Whole images downsampled to onestage_height x onestage_height / 2, equalised."""
    hw = onestage_size(cfg)
    x = np.stack([equalize(_resize(im, hw)) for im in images.images])
    y = np.stack([_resize(m, hw, mask=True) for m in images.masks])
    return ArraySegmentationDataset(x, y, images.case_ids)




def two_stage(cfg: dict, model: nn.Module, test: FullImages, candidates: list[np.ndarray]) -> np.ndarray:
    """Full-image probabilities: each candidate box cropped, segmented and pasted back."""
    return two_stage_mod.segment_candidates(model, test, candidates, cfg["image_size"], cfg["crop_margin"], train_config(cfg))


@dataclass
class SplitResult:
    split: str
    n_train: int
    n_test: int
    stage1: Stage1
    detection: dict
    patch_runs: Runs
    onestage_runs: Runs
    patch_scores: dict[str, list[SegmentationScores]]
    full: dict[str, list[SegmentationScores]]  # "<model> / <setup>" -> per seed
    candidates: dict[str, list[np.ndarray]]  # "single" / "msf" -> boxes per test image
    full_probs: dict[str, np.ndarray] = field(default_factory=dict)  # first seed's, for figures
    test: FullImages | None = None
    seconds: float = 0.0


def run_split(cfg: dict, data: Data, split: str, pretrained: Pretrained | None, progress: bool = False) -> SplitResult:
    """Everything for one split: fine-tune the detector, detect at every scale, fuse, train the
    segmenters on ground-truth patches and the one-stage model on whole images, and score
    every setup of Table 5 (plus the two-stage pipeline fed the ground-truth boxes)."""
    if split not in data.splits:
        raise ConfigError(f"split {split!r} is not in {data.split_path.name}: it holds {', '.join(data.splits)}")
    t0 = time.perf_counter()
    parts = {k: data.images.subset(v) for k, v in data.splits[split].items()}
    train, val, test = parts["train"], parts["val"], parts["test"]
    seed_everything(cfg["seed"])
    stage1 = train_detector(cfg, train, pretrained, cfg["seed"], progress)
    stage1.per_scale = detect_scales(cfg, stage1.model, test)
    detection = detection_metrics(cfg, stage1, test)
    shape = test.images.shape[1:]
    candidates = {
        "single": [b for b, _ in kept(stage1.per_scale[cfg["single_scale"] - 1], cfg["det_score"])],
        "msf": [b for b, _ in msf_candidates(cfg, stage1.per_scale, shape, cfg["msf_lambda"])],
        "ground truth": test.boxes,
    }

    # stage 2 on ground-truth patches (Table 4)
    pdata = {k: patches(cfg, v) for k, v in (("train", train), ("val", val), ("test", test))}
    pparts = {k: ArraySegmentationDataset(x, y, ids) for k, (x, y, ids, _) in pdata.items()}
    dice = build_loss("dice")
    builders = {v: (f"{split}-{name}", lambda seed, v=v: build_segmenter(cfg, v, seed)) for v, name in SEGMENTERS.items()}
    patch_runs = train_all(PAPER, cfg, _split_prepared(data, split, pparts), builders, dice, seeds(cfg), progress=progress)
    ptest = pparts["test"]
    patch_scores = {
        v: [score_predictions(r.probabilities, ptest.masks, ptest.case_ids, cfg["threshold"], EMPTY_MASK_POLICY, extents=ptest.extents) for r in patch_runs.of(v)] for v in SEGMENTERS
    }

    # one-stage: the same architectures trained and run on whole downsampled images
    oparts = {k: onestage_dataset(cfg, v) for k, v in (("train", train), ("val", val), ("test", test))}
    obuilders = {v: (f"{split}-onestage-{name}", lambda seed, v=v: build_segmenter(cfg, v, seed)) for v, name in SEGMENTERS.items()}
    onestage_runs = train_all(PAPER, cfg, _split_prepared(data, split, oparts), obuilders, dice, seeds(cfg), progress=progress)

    full: dict[str, list[SegmentationScores]] = {}
    probs_first: dict[str, np.ndarray] = {}
    for v in SEGMENTERS:
        for setup, source in (("one-stage", None), ("two-stage w/o MSF", "single"), ("two-stage with MSF", "msf"), ("two-stage, ground-truth boxes", "ground truth")):
            key = f"{v} / {setup}"
            full[key] = []
            runs = onestage_runs.of(v) if source is None else patch_runs.of(v)
            for r in runs:
                if source is None:
                    probs = np.stack([_resize(p, shape) for p in r.probabilities])
                else:
                    probs = two_stage(cfg, r.model, test, candidates[source])
                full[key].append(score_predictions(probs, test.masks, test.case_ids, cfg["threshold"], EMPTY_MASK_POLICY))  # stretched, never padded
                probs_first.setdefault(key, probs)
    return SplitResult(split, len(train), len(test), stage1, detection, patch_runs, onestage_runs, patch_scores, full, candidates, probs_first, test, time.perf_counter() - t0)


# ----------------------------------------------------------------------------- tables


def _dice(scores: list[SegmentationScores]) -> float:
    return float(np.mean([s.summary()["dice_per_image"] for s in scores]))


def _mean_sd(values: list[float]) -> dict[str, float]:
    """Mean over splits with the between-split sd and standard error (NaN for one split)."""
    v = np.asarray(values, float)
    sd = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return {"ours": round(float(v.mean()), 4), "ours sd": sd, "ours se": sd / np.sqrt(len(v))}


def _reported(values: list, splits: list[str]) -> float:
    return float(np.mean([values[SPLITS.index(s)] for s in splits]))


@dataclass
class Tables:
    detection: pd.DataFrame  # Table 1 + 2, per split
    patch: pd.DataFrame  # Table 4
    full: pd.DataFrame  # Table 5
    comparisons: pd.DataFrame
    claims: pd.DataFrame


def tables(cfg: dict, results: list[SplitResult]) -> Tables:
    """The paper's Tables 1, 2, 4 and 5 side by side with this run, per split and averaged,
    the paired comparisons of each split, and the claims table. Detection candidates (each
    scale's boxes with score >= det_score, MSF at each lambda) are scored under the paper's
    IoU rule and under the centre-in-box rule."""
    names = [r.split for r in results]
    det_rows = []
    for r in results:
        d = r.detection
        sets = [(f"scale {name}" + (" (the single scale)" if name == d["single_scale"] else ""), v) for name, v in d["scales"].items()]
        sets += [(f"MSF λ={lam}", v) for lam, v in d["msf"].items()]
        for name, v in sets:
            det_rows.append(
                {"split": r.split, "candidates": name, f"AP (IoU >= {cfg['hit_iou']})": round(v["ap"], 4) if "ap" in v else None,
                 f"TPR (IoU >= {cfg['hit_iou']})": v["tpr"], f"FP per image (IoU >= {cfg['hit_iou']})": v["fp_per_image"],
                 "TPR (centre in box)": v["tpr_centre"], "FP per image (centre in box)": v["fp_per_image_centre"]}
            )
    detection = pd.DataFrame(det_rows).set_index(["split", "candidates"])

    patch = pd.DataFrame(
        [{"model": v, **{r.split: round(_dice(r.patch_scores[v]), 4) for r in results}, **_mean_sd([_dice(r.patch_scores[v]) for r in results]),
          "reported (same splits)": round(_reported(REPORTED["patch"][v], names), 4)} for v in SEGMENTERS]
    ).set_index("model")

    full_rows = []
    for key in results[0].full:
        model, setup = key.split(" / ")
        rep = REPORTED["full"].get((model, setup))
        full_rows.append({"model": model, "setup": setup, **{r.split: round(_dice(r.full[key]), 4) for r in results}, **_mean_sd([_dice(r.full[key]) for r in results]),
                          "reported (same splits)": round(_reported(rep, names), 4) if rep else None})
    full = pd.DataFrame(full_rows).set_index(["model", "setup"])

    comps = []
    for r in results:
        c = paired_comparisons(r.full, COMPARISONS, column="dice", seed=cfg["seed"])
        c.insert(0, "split", r.split)
        comps.append(c)
        c = paired_comparisons(r.patch_scores, PATCH_COMPARISON, column="dice", seed=cfg["seed"])
        c.insert(0, "split", r.split)
        comps.append(c)
    comparisons = pd.concat(comps, ignore_index=True)
    return Tables(detection, patch, full, comparisons, claims_table(cfg, results))


def claims_table(cfg: dict, results: list[SplitResult]) -> pd.DataFrame:
    """Reported vs reproduced for the paper's headline numbers, averaged over the splits run."""
    names = [r.split for r in results]
    comparable = cfg["dataset"] == "inbreast" and cfg["profile"] == "full"
    rows = [{"claim": "YOLOv3 AP@0.5 (Table 1)", "reported": _reported(REPORTED["ap"], names), "reproduced": float(np.mean([r.detection["ap"] for r in results]))}]
    for lam in (0.5, 0.6):
        if str(lam) in results[0].detection["msf"]:
            rep = [REPORTED["msf"][lam][SPLITS.index(s)] for s in names]
            ours = [r.detection["msf"][str(lam)] for r in results]
            rows.append({"claim": f"MSF λ={lam} TPR (Table 2)", "reported": float(np.mean([t for t, _ in rep])), "reproduced": float(np.mean([o["tpr"] for o in ours]))})
            rows.append({"claim": f"MSF λ={lam} FP per image (Table 2)", "reported": float(np.mean([f for _, f in rep])), "reproduced": float(np.mean([o["fp_per_image"] for o in ours]))})
    for v in SEGMENTERS:
        rows.append({"claim": f"{v} patch Dice (Table 4)", "reported": _reported(REPORTED["patch"][v], names), "reproduced": float(np.mean([_dice(r.patch_scores[v]) for r in results]))})
    for (model, setup), rep in REPORTED["full"].items():
        rows.append({"claim": f"{model}, {setup}: full-image Dice (Table 5)", "reported": _reported(rep, names), "reproduced": float(np.mean([_dice(r.full[f'{model} / {setup}']) for r in results]))})
    out = pd.DataFrame(rows)
    out["reported"] = out["reported"].round(4)
    out["reproduced"] = out["reproduced"].round(4)
    out["splits"] = ",".join(names)
    out["this run's data"] = cfg["dataset"]
    out["comparable"] = comparable
    return out


def record(cfg: dict, data: Data, pretrained: Pretrained | None, results: list[SplitResult], tabs: Tables, figures: dict | None = None) -> Path:
    """Write results/p3/<dataset>/<profile>/: per-split detection metrics (AP, FROC, TPR@FP per lambda),
    anchors, detector histories, patch and full-image Dice of every setup, tables, config."""
    splits = {}
    frames = []
    for r in results:
        splits[r.split] = {
            "n_train": r.n_train,
            "n_test": r.n_test,
            "seconds": r.seconds,
            "anchors": r.stage1.anchors.round(2).tolist(),
            "anchor_mean_iou": r.stage1.anchor_iou,
            "detector_seconds": r.stage1.seconds,
            "detector_history": r.stage1.history.to_dict(orient="records"),
            "detection": r.detection,
            "patch_dice": {v: [s.summary() for s in sc] for v, sc in r.patch_scores.items()},
            "full": {k: [s.summary() for s in sc] for k, sc in r.full.items()},
            "candidates_per_image": {k: float(np.mean([len(b) for b in v])) for k, v in r.candidates.items()},
            "patch_runs": r.patch_runs.summary(),
            "onestage_runs": r.onestage_runs.summary(),
        }
        for key, sc in r.full.items():
            for seed, s in zip(seeds(cfg), sc):
                f = s.per_case()
                f.insert(0, "split", r.split)
                f.insert(1, "method", key)
                f.insert(2, "seed", seed)
                frames.append(f)
    metrics = {
        "seeds": seeds(cfg),
        "splits_run": [r.split for r in results],
        "scales": ["x".join(map(str, s)) for s in scales(cfg)],
        "train_sizes": ["x".join(map(str, s)) for s in train_sizes(cfg)],
        "pretraining": None if pretrained is None else {"n_images": pretrained.n_images, "seconds": pretrained.seconds, "anchors": pretrained.anchors.round(2).tolist(), "history": pretrained.history.to_dict(orient="records")},
        "per_split": splits,
        "table_detection": tabs.detection.reset_index().to_dict(orient="records"),
        "table_patch": tabs.patch.reset_index().to_dict(orient="records"),
        "table_full": tabs.full.reset_index().to_dict(orient="records"),
        "comparisons": tabs.comparisons.to_dict(orient="records"),
        "claims": tabs.claims.to_dict(orient="records"),
    }
    # the first split's full images: its test part is what the per-case table scores; its
    # training part fits the non-learned baseline's quantile (a method "learned" only above it)
    test0, train0 = results[0].test, data.images.subset(data.splits[results[0].split]["train"])
    prepared = Prepared(
        {"test": ArraySegmentationDataset(test0.images, test0.masks, test0.case_ids), "train": ArraySegmentationDataset(train0.images, train0.masks, train0.case_ids)},
        data.split_path, data.split_sha256, pd.DataFrame(), results[0].split,
    )
    extra = {
        "split_scheme": data_mod.SCHEMES["inbreast"],
        "segmentation_train": train_config(cfg).to_dict(),
        "detector_train": detector_config(cfg, cfg["det_iterations"], cfg["seed"]).to_dict(),
        "loss": "dice",
    }
    return record_run(PAPER, cfg, prepared, metrics, pd.concat(frames, ignore_index=True), extra, figures, claims=claims)


# ----------------------------------------------------------------------------- figures


def _draw_boxes(ax, boxes, colour, scores=None, lw=0.8):
    from matplotlib.patches import Rectangle

    for k, (x0, y0, x1, y1) in enumerate(np.asarray(boxes).reshape(-1, 4)):
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, lw=lw))
        if scores is not None:
            ax.text(x0, y0 - 2, f"{scores[k]:.2f}", color="magenta", fontsize=6)


def _show(ax, image, mask=None, title=""):
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    if mask is not None and np.any(mask):
        ax.contour(mask > 0, [0.5], colors="lime", linewidths=0.7)
    ax.set_title(title, fontsize=7)
    ax.axis("off")


def example_index(cfg: dict, result: SplitResult) -> int:
    """The test image shown in Figs. 2-3: the one with the most candidate boxes over all scales."""
    counts = [sum(int((result.stage1.per_scale[s][i][1] >= cfg["det_score"]).sum()) for s in range(len(result.stage1.per_scale))) for i in range(result.n_test)]
    return int(np.argmax(counts))


def plot_detector_history(pretrained: Pretrained | None, results: list[SplitResult]):
    """The detector's training loss per 10 iterations: pre-training, then each split's fine-tuning."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    offset = 0
    if pretrained is not None and len(pretrained.history):
        ax.plot(pretrained.history["iteration"], pretrained.history["loss"], label="pre-training")
        offset = int(pretrained.history["iteration"].max())
    for r in results:
        h = r.stage1.history
        if len(h):
            ax.plot(h["iteration"] + offset, h["loss"], label=f"fine-tuning {r.split}")
    ax.set(xlabel="iteration", ylabel="YOLOv3 loss", yscale="log", title="detector training")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_scales(cfg: dict, result: SplitResult, index: int | None = None):
    """The paper's Fig. 2: one test mammogram's candidates (score >= det_score) at every scale."""
    import matplotlib.pyplot as plt

    i = example_index(cfg, result) if index is None else index
    test = result.test
    sizes = scales(cfg)
    fig, axes = plt.subplots(1, len(sizes), figsize=(2.2 * len(sizes), 4.2), squeeze=False)
    for ax, size, dets in zip(axes[0], sizes, result.stage1.per_scale):
        b, s = kept([dets[i]], cfg["det_score"])[0]
        _show(ax, test.images[i], test.masks[i], f"{size[0]}x{size[1]}: {len(b)} boxes")
        _draw_boxes(ax, b, "red", s)
    fig.suptitle(f"{test.case_ids[i]}: YOLOv3 at each scale (red), mass (green)", fontsize=8)
    fig.tight_layout()
    return fig


def plot_fusion(cfg: dict, result: SplitResult, index: int | None = None):
    """The paper's Fig. 3: (a) every scale's boxes, (b) the fused mask M_s (eq. 1), (c) M_s >=
    lambda, (d) the component boxes."""
    import matplotlib.pyplot as plt

    i = example_index(cfg, result) if index is None else index
    test = result.test
    per = [kept([d[i]], cfg["det_score"])[0] for d in result.stage1.per_scale]
    fused = fuse_scales(per, test.images.shape[1:], cfg["msf_lambda"])
    fig, axes = plt.subplots(1, 4, figsize=(9, 4.4))
    _show(axes[0], test.images[i], test.masks[i], "(a) boxes of all scales")
    for b, _ in per:
        _draw_boxes(axes[0], b, "red")
    axes[1].imshow(fused.fusion, cmap="viridis", vmin=0, vmax=1)
    axes[1].set_title("(b) fused mask M_s", fontsize=7)
    axes[1].axis("off")
    keep = fused.fusion > 0 if cfg["msf_lambda"] == 0 else fused.fusion >= cfg["msf_lambda"]
    axes[2].imshow(keep, cmap="gray")
    axes[2].set_title(f"(c) M_s >= {cfg['msf_lambda']}", fontsize=7)
    axes[2].axis("off")
    _show(axes[3], test.images[i], test.masks[i], f"(d) {len(fused.boxes)} fused box(es)")
    _draw_boxes(axes[3], fused.boxes, "yellow")
    fig.tight_layout()
    return fig


def plot_pr(results: list[SplitResult]):
    """The paper's Fig. 4: precision-recall of the single-scale detector on each split."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3.4))
    for r in results:
        c = r.detection["scales"][r.detection["single_scale"]]
        ax.plot(c["recall"], c["precision"], label=f"{r.split} (AP {c['ap']:.2f})")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="YOLOv3, IoU >= 0.5")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_froc(cfg: dict, result: SplitResult, max_fp: float = 3.0):
    """The paper's Fig. 5: FROC of every single scale and MSF's TPR@FPavg at each lambda (stars)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for name, c in result.detection["scales"].items():
        ax.plot(c["fp_per_image"], c["tpr"], label=f"scale {name}", lw=1)
    for lam, v in result.detection["msf"].items():
        ax.plot(v["fp_per_image"], v["tpr"], "*", ms=10, label=f"MSF λ={lam}")
    ax.set(xlabel="false positives per image", ylabel="TPR", xlim=(0, max_fp), ylim=(0, 1.02), title=f"FROC, split {result.split}")
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def plot_delineations(cfg: dict, result: SplitResult, model: str = "v19U-Net++", n: int = 3):
    """The paper's Figs. 6-7: final detections (yellow), segmentation (red) and the masses
    (green), two-stage without MSF (top) and with MSF (bottom); the images where MSF changes
    the Dice most."""
    import matplotlib.pyplot as plt

    rows = (("two-stage w/o MSF", "single"), ("two-stage with MSF", "msf"))
    dice = {setup: result.full[f"{model} / {setup}"][0].per_case()["dice"].to_numpy() for setup, _ in rows}
    order = np.argsort(-np.abs(dice[rows[1][0]] - dice[rows[0][0]]), kind="stable")[:n]
    test = result.test
    fig, axes = plt.subplots(2, len(order), figsize=(2.4 * len(order), 8.4), squeeze=False)
    for row, (setup, source) in enumerate(rows):
        probs = result.full_probs[f"{model} / {setup}"]
        for ax, i in zip(axes[row], order):
            _show(ax, test.images[i], test.masks[i], f"{setup}\n{test.case_ids[i]}: Dice {dice[setup][i]:.2f}")
            _draw_boxes(ax, result.candidates[source][i], "yellow")
            if np.any(probs[i] >= cfg["threshold"]):
                ax.contour(probs[i] >= cfg["threshold"], [0.5], colors="red", linewidths=0.7)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- claim records


def claims(run_dir: Path) -> list[Claim]:
    """The claims table of a p3 result folder as records: detection numbers as the paper's tables
    define them, full-image Dice per image with its 95 % CI over images and the all-background
    Dice per image (empty-mask policy "one": the share of test images without a mass)."""
    m = json.loads((Path(run_dir) / "metrics.json").read_text())
    learned = learned_table(run_dir)  # the degeneracy gate, once for the folder
    out = []
    trivial_dice = 1.0 - m["n_test_with_lesion"] / m["n_test"] if m["n_test"] else None
    for r in m["claims"]:
        name = r["claim"]
        c = Claim("p3", name, "inbreast", r["reported"], "as the paper's table", r["reproduced"], higher_is_better="FP per image" not in name, experiment="Tables 1-5 of the chapter")
        if "full-image Dice" in name:
            method = name.split(":")[0].replace(", ", " / ")
            c.strict, c.strict_name = r["reproduced"], "Dice / image"
            c.trivial, c.trivial_reading = trivial_dice, f"{ALL_BACKGROUND}, Dice / image"
            c = with_ci(with_learned(c, learned, method), per_case_estimate(run_dir, "dice", "dice_per_image", method=method), "reproduced")
        out.append(c)
    return out + comparison_claims(run_dir, PAPER, COMPARISONS, learned, "inbreast", metric="dice")

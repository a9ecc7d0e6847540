"""Training and running the YOLOv3 detector on full mammograms (Yan et al. sec. 3.2, 4.1).

* **Multi-scale training** (YOLOv3, kept by the paper): every ``resize_every`` (10) batches
  the input size is drawn again from ``train_sizes``, heights that are multiples of 64 so
  both sides of a 2:1 mammogram stay multiples of 32.
* **Schedule**: a fixed number of iterations, Adam, learning rate x0.1 after 1/3 and 2/3 of
  them (the paper: 0.001, x0.1 after 10k and 20k of 30k iterations on INbreast).
* **Transfer**: :func:`fit_detector` continues from whatever weights the model holds, so
  pre-training on one dataset and fine-tuning on another are two calls on one model.
* **Augmentation**: horizontal flips (a left breast becomes a right one).

Images are float32 (N, H, W) in [0, 1] at one "full" resolution; boxes are per image (K, 4)
in that resolution's pixels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch

from mammorepro.detection.boxes import scale_boxes
from mammorepro.detection.yolo import YOLOv3, decode, yolo_loss
from mammorepro.engine import resolve_device
from mammorepro.errors import ConfigError


@dataclass
class DetectorConfig:
    iterations: int = 300
    batch_size: int = 8
    lr: float = 1e-3
    train_sizes: tuple[tuple[int, int], ...] = ((320, 160),)  # (height, width) choices
    resize_every: int = 10
    flip: bool = True
    grad_clip: float = 10.0
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.iterations < 0 or self.batch_size < 1 or self.lr <= 0 or self.resize_every < 1:
            raise ConfigError(
                f"detector iterations={self.iterations}, batch_size={self.batch_size}, lr={self.lr}, "
                f"resize_every={self.resize_every}: use iterations >= 0, batch >= 1, lr > 0, resize_every >= 1"
            )
        for h, w in self.train_sizes:
            if h % 32 or w % 32 or h < 32 or w < 32:
                raise ConfigError(f"detector training size {h}x{w} must be a multiple of 32 on both sides")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DetectorHistory:
    rows: list[dict] = field(default_factory=list)  # every 10 iterations: mean loss and its parts
    seconds: float = 0.0

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows)


def resize_images(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Images (B, H, W) resized to ``size`` = (height, width), area-averaged when shrinking."""
    h, w = size
    interp = cv2.INTER_AREA if h < images.shape[1] else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (w, h), interpolation=interp) for im in images])


def resize_batch(images: np.ndarray, boxes: Sequence[np.ndarray], size: tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Images (B, H, W) and their boxes resized to ``size`` = (height, width)."""
    return resize_images(images, size), [scale_boxes(b, images.shape[1:], size) for b in boxes]


def fit_detector(model: YOLOv3, images: np.ndarray, boxes: Sequence[np.ndarray], cfg: DetectorConfig, progress: bool = False) -> DetectorHistory:
    """Train ``model`` in place for ``cfg.iterations`` batches and return the loss history."""
    if len(images) != len(boxes):
        raise ConfigError(f"{len(images)} images but {len(boxes)} box lists")
    if len(images) == 0:
        raise ConfigError("no training images for the detector")
    device = resolve_device(cfg.device)
    model.to(device).train()
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = [cfg.iterations // 3, 2 * cfg.iterations // 3]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[s for s in steps if s > 0], gamma=0.1)
    history = DetectorHistory()
    order: list[int] = []
    window: list[dict] = []
    size = cfg.train_sizes[0]
    t0 = time.perf_counter()
    for it in range(cfg.iterations):
        if it % cfg.resize_every == 0:
            size = cfg.train_sizes[int(rng.integers(len(cfg.train_sizes)))]
        if len(order) < cfg.batch_size:
            order += list(rng.permutation(len(images)))
        idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
        x, bx = resize_batch(images[idx], [boxes[i] for i in idx], size)
        if cfg.flip:
            for k in np.flatnonzero(rng.random(len(idx)) < 0.5):
                x[k] = x[k, :, ::-1]
                b = bx[k].copy()
                bx[k] = np.stack([size[1] - b[:, 2], b[:, 1], size[1] - b[:, 0], b[:, 3]], 1) if len(b) else b
        xt = torch.from_numpy(np.ascontiguousarray(x[:, None], dtype=np.float32)).to(device)
        loss, parts = yolo_loss(model(xt), bx, model.anchors)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        if not np.isfinite(loss.item()):
            raise ConfigError(f"the detector's loss became {loss.item()} at iteration {it}: lower lr (now {cfg.lr})")
        window.append({"loss": loss.item(), **parts})
        if len(window) == 10 or it == cfg.iterations - 1:
            row = {"iteration": it + 1, "size": f"{size[0]}x{size[1]}", "lr": opt.param_groups[0]["lr"]}
            row.update({k: float(np.mean([w[k] for w in window])) for k in window[0]})
            history.rows.append(row)
            window = []
            if progress:
                print(row)
    history.seconds = time.perf_counter() - t0
    model.eval()
    return history


def pad_to_stride(x: np.ndarray, stride: int = 32) -> np.ndarray:
    """Zero-pad (B, H, W) at the bottom and right to multiples of ``stride``; box coordinates,
    measured from the top-left corner, are unchanged."""
    h, w = x.shape[1:]
    ph, pw = -h % stride, -w % stride
    return np.pad(x, ((0, 0), (0, ph), (0, pw))) if ph or pw else x


@torch.no_grad()
def detect(
    model: YOLOv3,
    images: np.ndarray,
    size: tuple[int, int],
    score_threshold: float = 0.01,
    nms_iou: float = 0.45,
    max_detections: int = 100,
    batch_size: int = 8,
    device: str = "auto",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run the detector on every image resized to ``size`` (zero-padded to multiples of 32);
    per image ``(boxes, scores)`` in the images' own (full) pixels, after the score threshold
    and NMS."""
    from torchvision.ops import nms

    dev = resolve_device(device)
    model.to(dev).eval()
    full = images.shape[1:]
    out = []
    for s in range(0, len(images), batch_size):
        x = pad_to_stride(resize_images(images[s : s + batch_size], size))
        boxes, conf = decode(model(torch.from_numpy(x[:, None]).to(dev)), model.anchors)
        for b, c in zip(boxes, conf):
            keep = c >= score_threshold
            b, c = b[keep], c[keep]
            b[:, 0::2] = b[:, 0::2].clamp(0, size[1])
            b[:, 1::2] = b[:, 1::2].clamp(0, size[0])
            ok = (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])
            b, c = b[ok], c[ok]
            kept = nms(b, c, nms_iou)[:max_detections]
            out.append((scale_boxes(b[kept].cpu().numpy(), size, full), c[kept].cpu().numpy()))
    return out

"""YOLOv3 (Redmon & Farhadi 2018), the detector of Yan et al. sec. 3.2.

* **Backbone**: Darknet-53 (53 convolutions in residual stages of 1, 2, 8, 8, 4 blocks), taken
  from timm's CSPNet family (``darknet53``). ``width`` scales every stage's channels (1.0 is
  Darknet-53 itself; the CPU profiles use fewer channels, said so in the chapter).
* **Neck and heads**: YOLOv3's three detection scales at strides 8, 16 and 32. The stride-32
  features pass a 5-convolution set, give the large-object head, are reduced, upsampled x2 and
  concatenated with the stride-16 features, and so on down to stride 8.
* **Anchors**: 9 (width, height) pairs in input pixels, sorted by area; the three smallest go
  to the stride-8 head, the three largest to the stride-32 head.
* **Outputs**: per head ``(B, 3, H, W, 5 + classes)``: ``tx, ty, tw, th``, objectness, class
  logits. Decoding (YOLOv2 eq. 2): ``bx = (sigmoid(tx) + cx) * stride``,
  ``bw = anchor_w * exp(tw)``; confidence = sigmoid(objectness) * sigmoid(class).
* **Loss**: each ground-truth box is assigned to the cell holding its centre in the head of the
  anchor (among all 9) with the best shape IoU; BCE on the centre offsets and the objectness,
  squared error on ``tw, th`` weighted by ``2 - w h / (W H)`` (small boxes count more), BCE on
  the class. Predictions overlapping any ground truth with IoU > ``ignore_iou`` (0.5) are not
  penalised as background (YOLOv3 sec. 2.1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mammorepro.errors import ConfigError

STRIDES = (8, 16, 32)


def _conv(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.1, inplace=True))


def _conv_set(cin: int, mid: int) -> nn.Sequential:
    """The five alternating 1x1 / 3x3 convolutions before each YOLOv3 head."""
    return nn.Sequential(_conv(cin, mid, 1), _conv(mid, 2 * mid, 3), _conv(2 * mid, mid, 1), _conv(mid, 2 * mid, 3), _conv(2 * mid, mid, 1))


def darknet53(width: float = 1.0, in_channels: int = 1) -> nn.Module:
    """timm's Darknet-53 with every channel count multiplied by ``width``."""
    from timm.models.cspnet import CspNet, model_cfgs

    base = model_cfgs["darknet53"]
    if width == 1.0:
        cfg = base
    else:
        chans = tuple(max(8, int(round(c * width))) for c in base.stages.out_chs)
        cfg = dataclasses.replace(
            base, stem=dataclasses.replace(base.stem, out_chs=max(8, int(round(base.stem.out_chs * width)))), stages=dataclasses.replace(base.stages, out_chs=chans)
        )
    return CspNet(cfg=cfg, in_chans=in_channels)


class YOLOv3(nn.Module):
    """Darknet-53 + YOLOv3 neck and three heads; ``anchors`` (9, 2) in input pixels."""

    def __init__(self, anchors: np.ndarray, classes: int = 1, width: float = 1.0, in_channels: int = 1):
        super().__init__()
        if not 0 < width <= 1:
            raise ConfigError(f"detector width={width} must be in (0, 1]; 1 is Darknet-53")
        self.classes = classes
        self.width = width
        self.register_buffer("anchors", torch.as_tensor(np.asarray(anchors, np.float32)).reshape(9, 2).clone())
        self.backbone = darknet53(width, in_channels)
        c3, c4, c5 = (self.backbone.feature_info[i]["num_chs"] for i in (3, 4, 5))
        out = 3 * (5 + classes)
        self.set5, self.set4, self.set3 = _conv_set(c5, c5 // 2), _conv_set(c4 + c4 // 2, c4 // 2), _conv_set(c3 + c3 // 2, c3 // 2)
        self.head5 = nn.Sequential(_conv(c5 // 2, c5, 3), nn.Conv2d(c5, out, 1))
        self.head4 = nn.Sequential(_conv(c4 // 2, c4, 3), nn.Conv2d(c4, out, 1))
        self.head3 = nn.Sequential(_conv(c3 // 2, c3, 3), nn.Conv2d(c3, out, 1))
        self.reduce5, self.reduce4 = _conv(c5 // 2, c4 // 2, 1), _conv(c4 // 2, c3 // 2, 1)
        for head in (self.head3, self.head4, self.head5):
            # objectness prior p = 0.01 (Lin et al. 2017, sec. 4.1): without it the thousands of
            # background cells dominate the first iterations' loss
            with torch.no_grad():
                head[-1].bias.view(3, 5 + classes)[:, 4].fill_(-4.6)

    def backbone_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.backbone.stem(x)
        feats = []
        for i, stage in enumerate(self.backbone.stages):
            x = stage(x)
            if i >= 2:
                feats.append(x)
        return feats

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Raw head outputs, strides 8, 16, 32: each (B, 3, H/s, W/s, 5 + classes)."""
        if x.shape[-2] % 32 or x.shape[-1] % 32:
            raise ConfigError(f"YOLOv3 input {x.shape[-2]}x{x.shape[-1]} must be a multiple of 32 in both sides")
        f3, f4, f5 = self.backbone_features(x)
        p5 = self.set5(f5)
        p4 = self.set4(torch.cat([F.interpolate(self.reduce5(p5), scale_factor=2.0, mode="nearest"), f4], 1))
        p3 = self.set3(torch.cat([F.interpolate(self.reduce4(p4), scale_factor=2.0, mode="nearest"), f3], 1))
        outs = []
        for p, head in ((p3, self.head3), (p4, self.head4), (p5, self.head5)):
            o = head(p)
            b, _, h, w = o.shape
            outs.append(o.view(b, 3, 5 + self.classes, h, w).permute(0, 1, 3, 4, 2).contiguous())
        return outs

    def load_backbone(self, path: str | Path) -> None:
        """Darknet-53 ImageNet weights from a local file (timm's ``darknet53`` state dict). Only
        a width of 1 fits them; a 3-channel stem is summed to 1 channel."""
        from mammorepro.models.registry import load_weights

        if self.width != 1.0:
            raise ConfigError(f"backbone weights need the full Darknet-53 (detector width 1.0, not {self.width})")
        load_weights(self.backbone, Path(path))


def _anchor_groups(anchors: torch.Tensor) -> list[torch.Tensor]:
    return [anchors[3 * i : 3 * i + 3] for i in range(3)]


def decode(outputs: Sequence[torch.Tensor], anchors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Head outputs -> boxes (B, P, 4) as x0, y0, x1, y1 in input pixels and confidences (B, P)."""
    boxes, confs = [], []
    for out, stride, group in zip(outputs, STRIDES, _anchor_groups(anchors)):
        b, a, h, w, _ = out.shape
        gy, gx = torch.meshgrid(torch.arange(h, device=out.device), torch.arange(w, device=out.device), indexing="ij")
        cx = (torch.sigmoid(out[..., 0]) + gx) * stride
        cy = (torch.sigmoid(out[..., 1]) + gy) * stride
        bw = group[:, 0].view(1, a, 1, 1) * torch.exp(out[..., 2].clamp(max=10))
        bh = group[:, 1].view(1, a, 1, 1) * torch.exp(out[..., 3].clamp(max=10))
        conf = torch.sigmoid(out[..., 4]) * torch.sigmoid(out[..., 5:]).max(dim=-1).values
        boxes.append(torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1).reshape(b, -1, 4))
        confs.append(conf.reshape(b, -1))
    return torch.cat(boxes, 1), torch.cat(confs, 1)


def build_targets(boxes: Sequence[np.ndarray], anchors: torch.Tensor, shapes: Sequence[tuple[int, int]], classes: int = 1) -> list[torch.Tensor]:
    """Targets per head (B, 3, H, W, 6 + classes): tx, ty in [0, 1), tw, th (log ratios),
    objectness, box-size weight, one-hot class. ``boxes[b]`` holds image b's (N, 4) boxes in
    input pixels; ``shapes`` the heads' grid sizes. A box goes to its best-shape anchor among
    all 9; when two boxes claim one cell and anchor, the later one wins (rare for masses)."""
    a = anchors.detach().cpu().numpy()
    targets = [torch.zeros(len(boxes), 3, h, w, 6 + classes) for h, w in shapes]
    in_h, in_w = shapes[0][0] * STRIDES[0], shapes[0][1] * STRIDES[0]
    for b, bx in enumerate(boxes):
        for x0, y0, x1, y1 in np.asarray(bx, np.float32).reshape(-1, 4):
            w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
            inter = np.minimum(w, a[:, 0]) * np.minimum(h, a[:, 1])
            best = int(np.argmax(inter / (w * h + a[:, 0] * a[:, 1] - inter)))
            level, k = divmod(best, 3)
            stride = STRIDES[level]
            gh, gw = shapes[level]
            cx, cy = (x0 + x1) / 2 / stride, (y0 + y1) / 2 / stride
            i, j = min(int(cy), gh - 1), min(int(cx), gw - 1)
            t = targets[level][b, k, i, j]
            t[0], t[1] = float(cx - j), float(cy - i)
            t[2], t[3] = float(np.log(w / a[best, 0])), float(np.log(h / a[best, 1]))
            t[4] = 1.0
            t[5] = float(2.0 - (w * h) / (in_w * in_h))
            t[6] = 1.0  # the single class: mass
    return targets


def yolo_loss(outputs: Sequence[torch.Tensor], boxes: Sequence[np.ndarray], anchors: torch.Tensor, ignore_iou: float = 0.5) -> tuple[torch.Tensor, dict]:
    """The YOLOv3 loss summed over heads and averaged over images; also returns its parts."""
    from torchvision.ops import box_iou as tv_box_iou

    shapes = [tuple(o.shape[2:4]) for o in outputs]
    targets = [t.to(outputs[0].device) for t in build_targets(boxes, anchors, shapes, outputs[0].shape[-1] - 5)]
    pred_boxes, _ = decode([o.detach() for o in outputs], anchors)
    ignore = torch.zeros(pred_boxes.shape[:2], dtype=torch.bool, device=pred_boxes.device)
    for b, bx in enumerate(boxes):
        if len(bx):
            gt = torch.as_tensor(np.asarray(bx, np.float32), device=pred_boxes.device)
            ignore[b] = tv_box_iou(pred_boxes[b], gt).max(dim=1).values > ignore_iou
    parts = {"xy": 0.0, "wh": 0.0, "obj": 0.0, "cls": 0.0}
    start = 0
    n = max(len(boxes), 1)
    for out, t in zip(outputs, targets):
        size = out.shape[1] * out.shape[2] * out.shape[3]
        ign = ignore[:, start : start + size].view(out.shape[:4])
        start += size
        pos = t[..., 4] > 0
        neg = ~pos & ~ign
        obj_bce = F.binary_cross_entropy_with_logits(out[..., 4], t[..., 4], reduction="none")
        parts["obj"] = parts["obj"] + (obj_bce[pos].sum() + obj_bce[neg].sum()) / n
        if pos.any():
            scale = t[..., 5][pos]
            parts["xy"] = parts["xy"] + (scale[:, None] * F.binary_cross_entropy_with_logits(out[..., 0:2][pos], t[..., 0:2][pos], reduction="none")).sum() / n
            parts["wh"] = parts["wh"] + (scale[:, None] * 0.5 * (out[..., 2:4][pos] - t[..., 2:4][pos]) ** 2).sum() / n
            parts["cls"] = parts["cls"] + F.binary_cross_entropy_with_logits(out[..., 5:][pos], t[..., 6:][pos], reduction="sum") / n
    total = sum(v for v in parts.values() if torch.is_tensor(v))
    return total, {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in parts.items()}

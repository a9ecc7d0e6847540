"""Segmentation losses on logits: soft Dice, log-Dice, (weighted) BCE, binary focal, weighted sums.

All take ``logits`` and ``target`` of shape (N, 1, H, W) with target in {0, 1} and return a
scalar. ``build_loss("focal+dice")`` parses a "+"-joined spec with per-term weights, e.g.
``build_loss("bce+dice", weights=(0.5, 0.5))``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mammorepro.errors import ConfigError


class SoftDiceLoss(nn.Module):
    """1 - soft Dice, pooled over the batch (Milletari et al. 2016, V-Net eq. 1 without squares).

    ``smooth`` keeps the loss defined on empty masks (then an empty prediction scores ~0)."""

    def __init__(self, smooth: float = 1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits.float())
        t = target.float()
        inter = (p * t).sum()
        return 1 - (2 * inter + self.smooth) / (p.sum() + t.sum() + self.smooth)


class LogDiceLoss(nn.Module):
    """Exponential logarithmic Dice loss (Wong et al. 2018): mean over images of
    ``(-ln D_i) ** gamma``, with the per-image soft Dice
    ``D_i = (2 sum p t + smooth) / (sum p^2 + sum t^2 + smooth)`` (squared denominator, as in
    Milletari et al. 2016 eq. 1). ``gamma < 1`` weights images that are already well segmented
    less than a plain ``1 - D`` does.

    ``reduction="batch"`` is the p1 authors' released form (Models/DeepSupervision.py,
    ``soft_dice_loss``, gamma 0.3, smooth 1): ``(-ln mean_i D_i) ** gamma``, the power of the
    log of the batch's mean Dice. ``"image"`` (the default, Wong et al.'s) weighs every image
    alike: an image without a mass contributes a term that pushes its prediction towards
    empty."""

    REDUCTIONS = ("image", "batch")

    def __init__(self, gamma: float = 0.3, smooth: float = 1.0, squared: bool = True, reduction: str = "image"):
        super().__init__()
        if gamma <= 0 or smooth <= 0:
            raise ConfigError(f"log-Dice loss needs gamma > 0 and smooth > 0, got gamma={gamma}, smooth={smooth}")
        if reduction not in self.REDUCTIONS:
            raise ConfigError(f"log-Dice reduction {reduction!r}: use 'image' (mean of (-ln D_i)^gamma) or 'batch' ((-ln mean D_i)^gamma, the p1 released code's)")
        self.gamma, self.smooth, self.squared, self.reduction = gamma, smooth, squared, reduction

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits.float()).flatten(1)
        t = target.float().flatten(1)
        denom = (p * p).sum(1) + (t * t).sum(1) if self.squared else p.sum(1) + t.sum(1)
        dice = (2 * (p * t).sum(1) + self.smooth) / (denom + self.smooth)
        if self.reduction == "batch":
            dice = dice.mean(0, keepdim=True)
        # clamp: (-ln D) ** gamma has an infinite slope at D = 1
        return (-torch.log(dice)).clamp_min(1e-6).pow(self.gamma).mean()


class WeightedBCELoss(nn.Module):
    """Binary cross entropy with separate weights for the positive and negative terms.

    ``neg_weight > pos_weight`` penalises false positives more (p1 sec I, contribution 3)."""

    def __init__(self, pos_weight: float = 1.0, neg_weight: float = 1.0):
        super().__init__()
        self.pos_weight, self.neg_weight = pos_weight, neg_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = target.float()
        w = self.pos_weight * t + self.neg_weight * (1 - t)
        return F.binary_cross_entropy_with_logits(logits.float(), t, weight=w)


def frequency_weights(masks=None, *, mass_share: float | None = None) -> tuple[float, float]:
    """p4's class weights (sec. 3.4): a class covering x % of the training pixels weighs
    ``1 - x / 100``. The share comes from the training ``masks`` or is given as ``mass_share``
    (a fraction, e.g. measured on the crops drawn for training). Returns ``(pos_weight,
    neg_weight)`` for :class:`WeightedBCELoss`."""
    import numpy as np

    if (masks is None) == (mass_share is None):
        raise ConfigError("frequency_weights needs either the training masks or mass_share, not both")
    fraction = float(np.mean(np.asarray(masks) > 0)) if mass_share is None else float(mass_share)
    if not 0 <= fraction <= 1:
        raise ConfigError(f"mass_share={fraction} must be a fraction in [0, 1]")
    return 1.0 - fraction, fraction


class BinaryFocalLoss(nn.Module):
    """Focal loss (Lin et al. 2017, eq. 5): -alpha_t (1 - p_t)^gamma log p_t, mean over pixels."""

    def __init__(self, gamma: float = 2.0, alpha: float | None = 0.25):
        super().__init__()
        self.gamma, self.alpha = gamma, alpha

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = target.float()
        logits = logits.float()
        ce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
        p_t = torch.exp(-ce)
        loss = (1 - p_t) ** self.gamma * ce
        if self.alpha is not None:
            loss = loss * (self.alpha * t + (1 - self.alpha) * (1 - t))
        return loss.mean()


class WeightedSum(nn.Module):
    """sum_i w_i * loss_i."""

    def __init__(self, terms: list[tuple[float, nn.Module]]):
        super().__init__()
        self.weights = [float(w) for w, _ in terms]
        self.terms = nn.ModuleList([m for _, m in terms])

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(w * m(logits, target) for w, m in zip(self.weights, self.terms))


def disk(radius: int) -> torch.Tensor:
    """A disk of ``radius`` pixels as a (2r+1) x (2r+1) 0/1 footprint (skimage's ``disk``)."""
    r = torch.arange(-radius, radius + 1, dtype=torch.float32)
    return ((r[:, None] ** 2 + r[None, :] ** 2) <= radius * radius).float()


def mask_boundary(target: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """The mask minus its erosion by a disk of ``radius``: a band ``radius`` pixels wide inside
    the mask's edge (p1's released ``composite_loss``, Models/DeepSupervision.py at 7109b32,
    ``be``: ``x - binary_erosion(x, disk(3))``). Outside the image counts as mask, as in
    skimage's erosion, so a mass cut by the border keeps no band along the border."""
    t = (target.float() > 0.5).float()
    k = disk(radius).to(t.device)[None, None]
    hits = F.conv2d(F.pad(t, (radius,) * 4, value=1.0), k)
    eroded = (hits >= k.sum() - 0.5).float()
    return t * (1 - eroded)


class DeepSupervisionLoss(nn.Module):
    """Loss for models that return ``{"out", "sides"}`` (deep supervision, p1 sec. I
    contribution 1): ``main(out) + w(t) * sum_i side(side_i, target_i)``.

    As in p1's released ``composite_loss`` (Models/DeepSupervision.py, commit 7109b32): the first
    ``boundary_sides`` side outputs (the encoder's, which "attend to boundaries") are supervised
    against :func:`mask_boundary`, the others against the mask, and the side weight decays with
    the epoch ``t`` (0-based, set by the engine through :meth:`set_epoch`):
    ``w(t) = side_weight * max(0, 1 - t / decay_epochs) ** 2``; ``decay_epochs=0`` keeps it
    constant. ``boundary_sides=0, decay_epochs=0, side_weight=1/n_sides`` is the earlier
    behaviour of this project (every side against the mask, their mean, a constant weight). A
    plain tensor output gets ``main`` alone, as does a dict without side outputs."""

    def __init__(self, main: nn.Module, side: nn.Module | None = None, side_weight: float = 1.0, boundary_sides: int = 0, boundary_radius: int = 3, decay_epochs: float = 0.0):
        super().__init__()
        if boundary_sides < 0 or boundary_radius < 1 or decay_epochs < 0 or side_weight < 0:
            raise ConfigError(f"deep supervision needs side_weight >= 0, boundary_sides >= 0, boundary_radius >= 1 and decay_epochs >= 0, got {side_weight}, {boundary_sides}, {boundary_radius}, {decay_epochs}")
        self.main, self.side, self.side_weight = main, side if side is not None else main, float(side_weight)
        self.boundary_sides, self.boundary_radius, self.decay_epochs = int(boundary_sides), int(boundary_radius), float(decay_epochs)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def weight(self) -> float:
        """The side weight at the current epoch."""
        if not self.decay_epochs:
            return self.side_weight
        return self.side_weight * max(0.0, 1.0 - self.epoch / self.decay_epochs) ** 2

    def forward(self, output, target: torch.Tensor) -> torch.Tensor:
        if isinstance(output, torch.Tensor):
            return self.main(output, target)
        loss = self.main(output["out"], target)
        sides = list(output.get("sides", []))
        w = self.weight()
        if sides and w:
            edge = mask_boundary(target, self.boundary_radius) if self.boundary_sides else None
            loss = loss + w * sum(self.side(s, edge if k < self.boundary_sides else target) for k, s in enumerate(sides))
        return loss


LOSSES = {"dice": SoftDiceLoss, "logdice": LogDiceLoss, "bce": WeightedBCELoss, "focal": BinaryFocalLoss}


def build_loss(spec: str, weights: tuple[float, ...] | None = None, **kwargs) -> nn.Module:
    """Build a loss from ``"name"`` or ``"name+name"``; ``kwargs`` are routed by prefix,
    e.g. ``bce_neg_weight=0.7`` or ``focal_gamma=2``."""
    names = [n.strip() for n in spec.split("+") if n.strip()]
    unknown = [n for n in names if n not in LOSSES]
    if not names or unknown:
        raise ConfigError(f"unknown loss {spec!r}: use one of {sorted(LOSSES)} or a '+' combination")
    weights = tuple(weights) if weights is not None else (1.0,) * len(names)
    if len(weights) != len(names):
        raise ConfigError(f"loss {spec!r} has {len(names)} terms but {len(weights)} weights")
    used = set()
    terms = []
    for w, name in zip(weights, names):
        kw = {k[len(name) + 1 :]: v for k, v in kwargs.items() if k.startswith(name + "_")}
        used |= {name + "_" + k for k in kw}
        try:
            terms.append((w, LOSSES[name](**kw)))
        except TypeError as exc:
            raise ConfigError(f"bad option for loss {name!r}: {exc}") from None
    extra = set(kwargs) - used
    if extra:
        raise ConfigError(f"loss options {sorted(extra)} match no term of {spec!r}: prefix them with a term name")
    return terms[0][1] if len(terms) == 1 and weights[0] == 1.0 else WeightedSum(terms)


__all__ = ["LOSSES", "BinaryFocalLoss", "DeepSupervisionLoss", "LogDiceLoss", "SoftDiceLoss", "WeightedBCELoss", "WeightedSum", "build_loss", "frequency_weights"]

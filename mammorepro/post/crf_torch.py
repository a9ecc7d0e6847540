"""The dense CRF of :mod:`mammorepro.post.crf` as batched torch tensors, for a GPU.

The same model as pydensecrf2 (Krähenbühl & Koltun 2011), the same parameters
(:class:`~mammorepro.post.crf.CRFParams`), the same mean-field update:

    Q_i(l) ∝ exp(-U_i(l) + sum_k w_k n_k(i) sum_j k_k(i, j) n_k(j) Q_j(l))

with the unary U = -log p (p shifted by ``prob_shift`` and clipped, as pydensecrf's
``unary_from_softmax``), a Potts compatibility w_k per kernel, and pydensecrf's symmetric
normalisation n_k(i) = 1 / sqrt(sum_j k_k(i, j)). The two kernels:

- Gaussian, exp(-|p_i - p_j|^2 / (2 gaussian_sxy^2)): separable, so computed exactly as two 1-D
  convolutions truncated at 4 standard deviations;
- bilateral, exp(-|p_i - p_j|^2 / (2 bilateral_sxy^2) - |I_i - I_j|^2 / (2 bilateral_schan^2)):
  a truncated square window of radius ``window`` x bilateral_sxy around each pixel
  (ConvCRF-style, Teichmann & Cipolla 2019): its weights are computed once per image and every
  iteration is one unfold and one weighted sum (offset by offset when memory is short).

pydensecrf approximates both kernels with a permutohedral lattice; here they are exact within
the window, so the two agree closely but not bit for bit: ``tests/test_crf.py`` and
``benchmarks/crf_speed.py`` measure the difference (Dice of the refined masks).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from mammorepro.errors import ConfigError
from mammorepro.post.crf_params import CRFParams


def _gaussian_1d(sigma: float, device, dtype) -> torch.Tensor:
    radius = max(1, int(math.ceil(4 * sigma)))
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    return torch.exp(-(x**2) / (2 * sigma**2))


def _separable(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve every channel of (N, C, H, W) with the outer product of ``kernel`` (zero padding)."""
    c, r = x.shape[1], len(kernel) // 2
    kx = kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0)), kx, groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r)), ky, groups=c)


def _bilateral(x: torch.Tensor, grey: torch.Tensor, sxy: float, schan: float, radius: int) -> torch.Tensor:
    """sum_j k(i, j) x_j over the window, k the bilateral kernel; x (N, C, H, W), grey (N, 1, H, W)."""
    n, c, h, w = x.shape
    xp = F.pad(x, (radius, radius, radius, radius))
    gp = F.pad(grey, (radius, radius, radius, radius), value=float("nan"))  # outside the image: no neighbour
    out = torch.zeros_like(x)
    inv_s, inv_c = 1.0 / (2 * sxy**2), 1.0 / (2 * schan**2)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            spatial = (dy * dy + dx * dx) * inv_s
            g = gp[:, :, radius + dy : radius + dy + h, radius + dx : radius + dx + w]
            weight = torch.exp(-spatial - (grey - g) ** 2 * inv_c).nan_to_num_(0.0)
            out += weight * xp[:, :, radius + dy : radius + dy + h, radius + dx : radius + dx + w]
    return out


def _bilateral_weights(grey: torch.Tensor, sxy: float, schan: float, radius: int) -> torch.Tensor:
    """The bilateral kernel's weights of every window offset: (N, K, H*W), K = (2 radius + 1)^2,
    0 outside the image. Computed once and reused by every mean-field iteration."""
    k = 2 * radius + 1
    gp = F.pad(grey, (radius, radius, radius, radius), value=float("nan"))
    neighbours = F.unfold(gp, k)  # (N, K, H*W)
    d = torch.arange(-radius, radius + 1, device=grey.device, dtype=grey.dtype)
    spatial = ((d[:, None] ** 2 + d[None, :] ** 2) / (2 * sxy**2)).reshape(1, -1, 1)
    centre = grey.flatten(2)  # (N, 1, H*W)
    return torch.exp(-spatial - (centre - neighbours) ** 2 / (2 * schan**2)).nan_to_num_(0.0)


def _bilateral_apply(x: torch.Tensor, weights: torch.Tensor, radius: int) -> torch.Tensor:
    """sum_j k(i, j) x_j with precomputed ``weights`` (N, K, H*W); x (N, C, H, W)."""
    n, c, h, w = x.shape
    cols = F.unfold(F.pad(x, (radius, radius, radius, radius)), 2 * radius + 1).view(n, c, -1, h * w)
    return (cols * weights[:, None]).sum(2).view(n, c, h, w)


@torch.no_grad()
def dense_crf_torch(
    probs: np.ndarray,
    images: np.ndarray,
    params: CRFParams | None = None,
    device: str = "auto",
    batch_size: int = 16,
    window: float = 2.0,
    max_bytes: int = 1 << 30,
) -> np.ndarray:
    """Refine foreground probabilities (N, H, W) with their grey images (N, H, W; integers or
    floats in [0, 1]). Returns the refined foreground probabilities (N, H, W) as float32.
    Images are processed ``batch_size`` at a time, fewer when the window tensors of a batch
    would exceed ``max_bytes``; an image too large for it alone is filtered offset by offset."""
    p = params or CRFParams()
    probs = np.asarray(probs, dtype=np.float32)
    images = np.asarray(images)
    if probs.ndim != 3 or images.shape != probs.shape:
        raise ConfigError(f"the CRF needs probability maps (N, H, W) and images of the same shape, got {probs.shape} and {images.shape}")
    if window <= 0:
        raise ConfigError(f"window={window} must be > 0 (in units of bilateral_sxy)")
    if np.issubdtype(images.dtype, np.integer):
        grey = images.astype(np.float32) * (255.0 / np.iinfo(images.dtype).max)
    else:
        grey = np.clip(images.astype(np.float32), 0, 1) * 255.0
    dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else ("cpu" if device == "auto" else device))
    radius = max(1, int(math.ceil(window * p.bilateral_sxy)))
    kernel = _gaussian_1d(p.gaussian_sxy, dev, torch.float32)
    out = np.empty_like(probs)
    eps = 1e-6
    window_floats = (2 * radius + 1) ** 2 * probs.shape[1] * probs.shape[2] * 3  # weights + 2 label columns
    per_chunk = max_bytes // (4 * window_floats)  # images whose window tensors fit the budget
    chunk = max(1, min(batch_size, per_chunk))
    for start in range(0, len(probs), chunk):
        fg = torch.from_numpy(probs[start : start + chunk]).to(dev)[:, None]
        g = torch.from_numpy(grey[start : start + chunk]).to(dev)[:, None]
        fg = (fg + p.prob_shift).clamp(eps, 1 - eps)
        unary = -torch.log(torch.cat([1 - fg, fg], dim=1))  # (n, 2, H, W)
        if per_chunk >= 1:  # every offset at once, weights computed once
            weights = _bilateral_weights(g, p.bilateral_sxy, p.bilateral_schan, radius)

            def bilateral(x):
                return _bilateral_apply(x, weights, radius)
        else:  # an image too large for the budget: offset by offset

            def bilateral(x):
                return _bilateral(x, g, p.bilateral_sxy, p.bilateral_schan, radius)

        ones = torch.ones_like(fg)
        norm_g = _separable(ones, kernel).clamp_min(1e-20).rsqrt()
        norm_b = bilateral(ones).clamp_min(1e-20).rsqrt()
        q = torch.softmax(-unary, dim=1)
        for _ in range(p.iterations):
            message = p.gaussian_compat * norm_g * _separable(norm_g * q, kernel)
            message = message + p.bilateral_compat * norm_b * bilateral(norm_b * q)
            q = torch.softmax(-unary + message, dim=1)
        out[start : start + len(fg)] = q[:, 1].float().cpu().numpy()
    return out

"""Procedural full-field mammogram phantom: the embedded default dataset.

No mammography dataset can be downloaded at run time, so the book, the tests and a first
rerun all use this generator. It draws, deterministically from a seed:

* a breast outline (semi-ellipse with a wavy boundary) on a dark background, a skin line,
  and a thickness fall-off towards the skin as in a compressed breast;
* a pectoral muscle wedge on MLO views;
* parenchymal texture from power-law noise with spectrum ~ 1/f^beta (beta about 3, the
  exponent measured on real mammograms, Burgess et al. 2001), thresholded softly into a
  fibroglandular fraction that follows the BI-RADS density classes A-D;
* 0-3 masses with shapes round / oval / lobulated / irregular / spiculated and margins from
  circumscribed to ill-defined; their ground-truth mask is exact (the shape before blurring);
* calcification clusters (bright specks that are NOT part of the mass mask: distractors for
  mass segmentation); each cluster's region (the convex hull of its specks plus a margin, like
  the loose outlines of CBIS-DDSM's calcification ROIs) is kept as ``calcification_mask`` for
  papers that segment calcifications too (p5);
* quantum and electronic noise, and optional film artifacts (bright scanner borders and a
  label) like digitised DDSM film.

Difficulty is set by :class:`PhantomConfig` (mass contrast, size range, density mix). Its
defaults are calibrated so that a small U-Net trained for a few minutes on a CPU clearly beats
the all-background prediction but stays far from perfect (``tests/test_calibration.py`` pins
that). The images are 16-bit, ``height x width`` (default 1024 x 512, the aspect of a real
mammogram), tissue bright on a dark background (MONOCHROME2).
"""

from __future__ import annotations

import functools

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from mammorepro.errors import ConfigError

DENSITY_CLASSES = ("A", "B", "C", "D")
MASS_SHAPES = ("round", "oval", "lobulated", "irregular", "spiculated")
MASS_MARGINS = ("circumscribed", "obscured", "microlobulated", "ill-defined", "spiculated")
# Gaussian blur of the mass edge, in units of the mass radius, per margin.
_MARGIN_BLUR = {
    "circumscribed": 0.04,
    "obscured": 0.12,
    "microlobulated": 0.08,
    "ill-defined": 0.25,
    "spiculated": 0.10,
}
# Fibroglandular area fraction per BI-RADS density class (A almost entirely fat ... D extremely dense).
_GLAND_FRACTION = {"A": 0.12, "B": 0.32, "C": 0.55, "D": 0.78}


@dataclass(frozen=True)
class PhantomConfig:
    """Every knob of the generator. Sizes are in pixels of the output image unless noted."""

    height: int = 1024
    width: int = 512
    p_mlo: float = 0.5
    density_probs: tuple[float, float, float, float] = (0.2, 0.35, 0.3, 0.15)
    # probability of 0, 1, 2, 3 masses in one image
    n_mass_probs: tuple[float, float, float, float] = (0.15, 0.6, 0.2, 0.05)
    # mass radius as a fraction of the image height (1024 px ~ 24 cm: 0.02-0.06 is ~ 1-3 cm diameter)
    mass_radius: tuple[float, float] = (0.02, 0.055)
    # mass attenuation excess relative to fibroglandular tissue; low values vanish in dense breasts
    mass_contrast: tuple[float, float] = (0.4, 0.9)
    texture_beta: float = 3.0
    p_calcifications: float = 0.4
    p_film_artifacts: float = 0.5
    quantum_noise: float = 0.012
    electronic_noise: float = 0.004
    bits: int = 16
    shapes: tuple[str, ...] = MASS_SHAPES
    margins: tuple[str, ...] = MASS_MARGINS

    def __post_init__(self) -> None:
        if self.height < 64 or self.width < 32:
            raise ConfigError(f"phantom size {self.height}x{self.width} is too small: use at least 64x32 pixels")
        for name in ("density_probs", "n_mass_probs"):
            probs = getattr(self, name)
            if len(probs) != 4 or min(probs) < 0 or abs(sum(probs) - 1) > 1e-6:
                raise ConfigError(f"phantom {name}={probs} must be 4 non-negative numbers summing to 1")
        lo, hi = self.mass_radius
        if not 0 < lo <= hi < 0.25:
            raise ConfigError(f"phantom mass_radius={self.mass_radius} must satisfy 0 < low <= high < 0.25")
        unknown = set(self.shapes) - set(MASS_SHAPES) or set(self.margins) - set(MASS_MARGINS)
        if unknown:
            raise ConfigError(f"unknown phantom mass shape/margin {sorted(unknown)}: valid are {MASS_SHAPES} and {MASS_MARGINS}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Lesion:
    """One mass: its kind, its exact mask's bounding box (half-open: row0:row1, col0:col1) and centre."""

    shape: str
    margin: str
    contrast: float
    radius: float
    center: tuple[int, int]
    bbox: tuple[int, int, int, int]
    area: int
    kind: str = "mass"  # every phantom lesion is a mass (calcifications are distractors, not lesions)


@dataclass
class PhantomCase:
    """One phantom mammogram with its exact mass mask and metadata."""

    case_id: str
    patient_id: str
    image: np.ndarray  # uint16, height x width
    mask: np.ndarray  # uint8 {0, 1}, union of the masses
    lesion_masks: list[np.ndarray] = field(default_factory=list)
    lesions: list[Lesion] = field(default_factory=list)
    view: str = "CC"
    laterality: str = "L"
    density: str = "B"
    has_calcifications: bool = False
    has_film_artifacts: bool = False
    official_split: str | None = None  # the phantom has no official split; same attribute as real cases
    calcification_mask: np.ndarray | None = None  # the calcification cluster's region, when there is one

    def mask_for(self, kinds: tuple[str, ...] = ("mass",), shape: tuple[int, int] | None = None) -> np.ndarray:
        """Union of the lesions of the given kinds ("mass", "calcification"), the same call as on
        a real dataset's case. ``shape`` must be the image's (phantom masks are never resized)."""
        if shape is not None and tuple(shape) != self.mask.shape:
            raise ConfigError(f"phantom masks are {self.mask.shape}, not {tuple(shape)}")
        out = self.mask.copy() if "mass" in kinds else np.zeros_like(self.mask)
        if "calcification" in kinds and self.calcification_mask is not None:
            out |= self.calcification_mask
        return out

    @property
    def has_mass(self) -> bool:
        return bool(self.lesions)

    def mass_masks(self) -> list[np.ndarray]:
        """One mask per mass (the same call as on a real dataset's case)."""
        return list(self.lesion_masks)

    @property
    def meta(self) -> dict:
        return {
            "case_id": self.case_id,
            "patient_id": self.patient_id,
            "view": self.view,
            "laterality": self.laterality,
            "density": self.density,
            "n_masses": len(self.lesions),
            "mass_fraction": float(self.mask.mean()),
            "has_calcifications": self.has_calcifications,
            "has_film_artifacts": self.has_film_artifacts,
        }


@functools.lru_cache(maxsize=8)
def _power_law_amplitude(h: int, w: int, beta: float) -> np.ndarray:
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    amplitude = f ** np.float32(-beta / 2.0)
    amplitude[0, 0] = 0.0
    amplitude.setflags(write=False)
    return amplitude


def power_law_noise(shape: tuple[int, int], beta: float, rng: np.random.Generator, downsample: int = 1) -> np.ndarray:
    """Gaussian random field with power spectrum ~ 1/f^beta, zero mean and unit variance.

    ``downsample > 1`` synthesises the field on a grid that much coarser and upsamples it
    bilinearly: for beta >= 2 almost all the power is at low frequencies, so this is ~4x
    faster for ``downsample=2`` at no visible cost."""
    h, w = shape
    sh, sw = -(-h // downsample), -(-w // downsample)
    amplitude = _power_law_amplitude(sh, sw, float(beta))
    noise = rng.standard_normal((2,) + amplitude.shape, dtype=np.float32)
    spectrum = amplitude * (noise[0] + 1j * noise[1]).astype(np.complex64)
    field_ = sp_fft.irfft2(spectrum, s=(sh, sw)).astype(np.float32)
    if downsample > 1:
        field_ = cv2.resize(field_, (w, h), interpolation=cv2.INTER_LINEAR)
    field_ -= field_.mean()
    field_ /= field_.std() + 1e-12
    return field_


def _breast_geometry(cfg: PhantomConfig, view: str, rng: np.random.Generator):
    """Return (breast mask, normalised distance to the skin 0..1 inside, pectoral mask), chest wall at col 0."""
    h, w = cfg.height, cfg.width
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    if view == "CC":
        cy = h * rng.uniform(0.46, 0.54)
        ry = h * rng.uniform(0.36, 0.44)
        rx = w * rng.uniform(0.68, 0.86)
    else:  # MLO: the breast runs off the top edge (axillary tail) and sags downwards
        cy = h * rng.uniform(0.36, 0.44)
        ry = h * rng.uniform(0.52, 0.58)
        rx = w * rng.uniform(0.72, 0.9)
    theta = np.arctan2((rows - cy) / ry, cols / rx)
    # low-frequency waviness of the outline, tabulated over the angle
    table = np.linspace(-np.pi, np.pi, 721, dtype=np.float32)
    wobble_table = 1.0 + sum(
        rng.uniform(0, 0.025) * np.cos(k * table + rng.uniform(0, 2 * np.pi)) for k in (2, 3, 5)
    )
    idx = ((theta + np.pi) * (720 / (2 * np.pi))).astype(np.int32)
    wobble = wobble_table.astype(np.float32)[np.clip(idx, 0, 720)]
    r = np.sqrt(((rows - cy) / ry) ** 2 + (cols / rx) ** 2) / wobble
    breast = r < 1.0
    # distance to the skin in units of the breast size: 0 at the skin, grows inwards
    edge = np.clip(1.0 - r, 0.0, 1.0)
    pectoral = np.zeros((h, w), dtype=bool)
    if view == "MLO":
        top = w * rng.uniform(0.3, 0.5)
        depth = h * rng.uniform(0.3, 0.5)
        bow = rng.uniform(0.0, 0.12)
        line = top * (1 - rows / depth) * (1 + bow * np.sin(np.pi * np.clip(rows / depth, 0, 1)))
        pectoral = (cols < line) & breast
    return breast, edge.astype(np.float32), pectoral


def _mass_shape(shape: str, radius: float, rng: np.random.Generator, size: int):
    """Exact binary mass mask on a (size x size) patch centred in the patch, plus spicule image."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32) - (size - 1) / 2.0
    theta = np.arctan2(yy, xx)
    rho = np.hypot(yy, xx)
    rot = rng.uniform(0, 2 * np.pi)
    if shape == "round":
        r_theta = radius * (1 + 0.04 * np.cos(2 * (theta - rot)))
    elif shape == "oval":
        ratio = rng.uniform(0.5, 0.8)
        c, s = np.cos(theta - rot), np.sin(theta - rot)
        r_theta = radius * ratio / np.sqrt((ratio * c) ** 2 + s**2)
    elif shape == "lobulated":
        k = rng.integers(3, 6)
        r_theta = radius * (1 + rng.uniform(0.12, 0.22) * np.cos(k * (theta - rot)))
    else:  # irregular and spiculated share an irregular core
        r_theta = radius * np.ones_like(theta)
        for k in range(2, 9):
            r_theta += radius * rng.uniform(0.0, 0.16 / np.sqrt(k)) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    core = rho <= r_theta
    spicules = np.zeros((size, size), dtype=np.float32)
    if shape == "spiculated":
        for _ in range(rng.integers(8, 16)):
            ang = rng.uniform(0, 2 * np.pi)
            length = radius * rng.uniform(0.8, 2.0)
            t = np.linspace(radius * 0.6, radius + length, int(3 * length) + 2)
            ys = np.clip(np.round((size - 1) / 2 + t * np.sin(ang)).astype(int), 0, size - 1)
            xs = np.clip(np.round((size - 1) / 2 + t * np.cos(ang)).astype(int), 0, size - 1)
            spicules[ys, xs] = np.linspace(1.0, 0.2, len(t))
        spicules = ndimage.gaussian_filter(spicules, 0.8) * 2.5
    return core, spicules


def _add_calcifications(attn: np.ndarray, breast: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add one cluster of specks; return its region (uint8): the convex hull of the specks
    dilated by half the cluster's spread. The region draws nothing from ``rng``, so the pixels
    are the same as before regions were recorded."""
    h, w = attn.shape
    specks = []
    inside = np.argwhere(breast)
    cy, cx = inside[rng.integers(len(inside))]
    spread = max(h, w) * rng.uniform(0.008, 0.02)
    for _ in range(rng.integers(5, 20)):
        y = int(np.clip(cy + rng.normal(0, spread), 0, h - 1))
        x = int(np.clip(cx + rng.normal(0, spread), 0, w - 1))
        rad = rng.integers(1, 3)
        attn[max(0, y - rad) : y + rad, max(0, x - rad) : x + rad] += rng.uniform(0.5, 1.0)
        specks.append((x, y))
    region = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(np.array(specks, np.int32)), 1)
    margin = max(2, round(spread / 2))
    region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1)))
    return region


def _add_film_artifacts(img: np.ndarray, breast: np.ndarray, rng: np.random.Generator) -> None:
    """Bright scanner borders on some edges and a film label in the background (DDSM-like)."""
    h, w = img.shape
    for side in range(4):
        if rng.random() < 0.5:
            t = int(rng.integers(2, max(3, h // 60)))
            level = rng.uniform(0.75, 0.95)
            if side == 0:
                img[:t, :] = level
            elif side == 1:
                img[-t:, :] = level
            elif side == 2:
                img[:, :t] = level
            else:
                img[:, -t:] = level
    lh, lw = int(h * rng.uniform(0.04, 0.07)), int(w * rng.uniform(0.15, 0.3))
    y0 = int(rng.choice([h * 0.03, h * 0.88]))
    x0 = int(w - lw - w * 0.05)
    if not breast[y0 : y0 + lh, x0 : x0 + lw].any():
        img[y0 : y0 + lh, x0 : x0 + lw] = rng.uniform(0.8, 0.95)
        # dark "characters"
        for k in range(rng.integers(3, 7)):
            cx = x0 + int((k + 0.5) * lw / 7)
            img[y0 + lh // 4 : y0 + 3 * lh // 4, cx : cx + max(1, lw // 20)] = 0.2


def make_case(index: int, seed: int = 0, config: PhantomConfig | None = None) -> PhantomCase:
    """Generate phantom case ``index`` of the series defined by ``seed``; same inputs, same pixels."""
    cfg = config or PhantomConfig()
    rng = np.random.default_rng([seed, index])
    h, w = cfg.height, cfg.width
    view = "MLO" if rng.random() < cfg.p_mlo else "CC"
    laterality = "L" if rng.random() < 0.5 else "R"
    density = DENSITY_CLASSES[rng.choice(4, p=cfg.density_probs)]
    breast, edge, pectoral = _breast_geometry(cfg, view, rng)

    # attenuation image: fat background + fibroglandular tissue + muscle + masses
    texture = power_law_noise((h, w), cfg.texture_beta, rng, downsample=2)
    fine = power_law_noise((h, w), 2.0, rng, downsample=2)
    frac = _GLAND_FRACTION[density]
    # glandular tissue concentrates behind the nipple, away from the skin and the chest wall
    envelope = np.sqrt(np.clip(edge * np.float32(3.0), 0, 1))
    thr = np.float32(np.quantile(texture[breast][::7], 1 - frac)) if breast.any() else np.float32(0.0)
    gland = np.float32(1.0) / (1.0 + np.exp((thr - texture) * np.float32(3.0))) * envelope
    attn = 0.25 + 0.55 * gland + 0.04 * fine * envelope
    if pectoral.any():  # muscle: dense, brighter towards the axilla, with a soft border
        rr, cc = np.nonzero(pectoral)
        muscle = 0.68 + 0.12 * (1 - rr / max(rr.max(), 1)) + 0.04 * fine[rr, cc]
        box = (slice(0, min(h, rr.max() + 8)), slice(0, min(w, cc.max() + 8)))
        soft = ndimage.gaussian_filter(pectoral[box].astype(np.float32), 2.0)[rr, cc]
        attn[rr, cc] = soft * muscle + (1 - soft) * attn[rr, cc]

    n_masses = int(rng.choice(4, p=cfg.n_mass_probs))
    mask = np.zeros((h, w), dtype=np.uint8)
    lesion_masks: list[np.ndarray] = []
    lesions: list[Lesion] = []
    candidates = np.argwhere(breast & ~pectoral & (edge > 0.2))
    for _ in range(n_masses if len(candidates) else 0):
        radius = h * rng.uniform(*cfg.mass_radius)
        shape = str(rng.choice(cfg.shapes))
        margin = "spiculated" if shape == "spiculated" else str(rng.choice([m for m in cfg.margins if m != "spiculated"] or ["circumscribed"]))
        contrast = rng.uniform(*cfg.mass_contrast)
        size = int(2 * radius * 3.2) | 1
        core, spicules = _mass_shape(shape, radius, rng, size)
        cy, cx = candidates[rng.integers(len(candidates))]
        y0, x0 = cy - size // 2, cx - size // 2
        # clip the patch to the image
        py0, px0 = max(0, -y0), max(0, -x0)
        py1, px1 = size - max(0, y0 + size - h), size - max(0, x0 + size - w)
        iy0, ix0 = max(0, y0), max(0, x0)
        sl = (slice(iy0, iy0 + py1 - py0), slice(ix0, ix0 + px1 - px0))
        core = core[py0:py1, px0:px1] & breast[sl]
        if core.sum() < 16:
            continue
        blur = max(0.6, _MARGIN_BLUR[margin] * radius)
        # dome-shaped density: denser centre, soft margin
        dist = ndimage.distance_transform_edt(core).astype(np.float32)
        dome = np.clip(dist / (0.5 * radius), 0, 1) ** 0.5 * 0.4 + core * 0.6
        profile = ndimage.gaussian_filter(dome, blur) + spicules[py0:py1, px0:px1] * 0.35
        attn[sl] += contrast * 0.55 * profile * breast[sl]
        lesion = np.zeros((h, w), dtype=np.uint8)
        lesion[sl] = core
        lesion_masks.append(lesion)
        mask |= lesion
        rr, cc = np.nonzero(core)
        lesions.append(
            Lesion(
                shape=shape,
                margin=margin,
                contrast=float(contrast),
                radius=float(radius),
                center=(int(cy), int(cx)),
                bbox=(int(iy0 + rr.min()), int(iy0 + rr.max() + 1), int(ix0 + cc.min()), int(ix0 + cc.max() + 1)),
                area=int(core.sum()),
            )
        )

    has_calc = rng.random() < cfg.p_calcifications
    calc_region = _add_calcifications(attn, breast & ~pectoral, rng) if has_calc else None

    # projection: thickness falls off towards the skin; the skin line is a thin brighter band
    thickness = np.clip(edge / 0.12, 0, 1) ** 0.5
    skin = (edge > 0) & (edge < 0.012)
    img = np.where(breast, 0.08 + 0.72 * attn * thickness, np.float32(0.03)).astype(np.float32)
    img[skin] += 0.08
    img = np.clip(img, 0, 1)
    img = img + rng.standard_normal(img.shape, dtype=np.float32) * (
        cfg.quantum_noise * np.sqrt(img) + cfg.electronic_noise
    )
    has_film = rng.random() < cfg.p_film_artifacts
    if has_film:
        _add_film_artifacts(img, breast, rng)
    img = np.clip(img, 0, 1)

    if laterality == "R":  # chest wall on the right for right breasts
        img, mask = img[:, ::-1], mask[:, ::-1]
        lesion_masks = [m[:, ::-1] for m in lesion_masks]
        calc_region = calc_region[:, ::-1] if calc_region is not None else None
        for les in lesions:
            r0, r1, c0, c1 = les.bbox
            les.bbox = (r0, r1, w - c1, w - c0)
            les.center = (les.center[0], w - 1 - les.center[1])
    top = 2**cfg.bits - 1
    image = np.ascontiguousarray(np.round(img * top)).astype(np.uint16 if cfg.bits > 8 else np.uint8)
    return PhantomCase(
        case_id=f"phantom_s{seed}_{index:05d}",
        patient_id=f"P{seed}_{index // 2:05d}",  # two views per patient, as in screening
        image=image,
        mask=np.ascontiguousarray(mask),
        lesion_masks=[np.ascontiguousarray(m) for m in lesion_masks],
        lesions=lesions,
        view=view,
        laterality=laterality,
        density=density,
        has_calcifications=bool(has_calc),
        has_film_artifacts=bool(has_film),
        calcification_mask=np.ascontiguousarray(calc_region) if calc_region is not None else None,
    )


def make_cases(n: int, seed: int = 0, config: PhantomConfig | None = None, start: int = 0) -> list[PhantomCase]:
    """Generate ``n`` cases ``start .. start+n-1`` of the series ``seed``."""
    if n < 0:
        raise ConfigError(f"number of phantom cases n={n} is negative: pass n >= 0")
    return [make_case(i, seed, config) for i in range(start, start + n)]

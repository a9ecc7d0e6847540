"""The one interface every dataset loader returns: an index of :class:`Case` records plus the
:class:`Problem` lines its integrity check found.

A ``Case`` is one mammogram image. Pixels are read lazily (``case.image``, ``case.mask``),
so indexing a dataset of thousands of DICOMs is fast and nothing is held in memory twice.
Masks are built from each lesion's annotation: a mask file, a polygon or a circle; the
``mask`` property is the union of the *mass* lesions (other kinds are kept apart in
``lesions`` for detection or distractor analysis).

Nothing here ever writes under a data root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np


@dataclass
class Lesion:
    """One annotated abnormality.

    Exactly one of ``mask_path`` (a full-size mask image), ``polygon`` (N x 2 array of
    (row, col) vertices) or ``circle`` ((row, col, radius) in pixels) describes its extent.
    ``coarse`` is True where the annotation only approximates the outline (mini-MIAS circles).
    """

    kind: str
    mask_path: Path | None = None
    polygon: np.ndarray | None = None
    circle: tuple[float, float, float] | None = None
    coarse: bool = False
    meta: dict = field(default_factory=dict)
    mask_reader: Callable[[Path], np.ndarray] | None = None  # how to read ``mask_path`` (dataset-specific)

    def render(self, shape: tuple[int, int]) -> np.ndarray:
        """The lesion's binary mask (uint8 {0, 1}) on an image of ``shape``."""
        if self.mask_path is not None:
            m = self.mask_reader(self.mask_path) if self.mask_reader else cv2.imread(str(self.mask_path), cv2.IMREAD_GRAYSCALE)
            if m is None:
                from mammorepro.errors import DataError

                raise DataError(f"mask file {self.mask_path} is unreadable")
            return (m > 0).astype(np.uint8)
        out = np.zeros(shape, dtype=np.uint8)
        if self.polygon is not None:
            pts = np.round(self.polygon[:, ::-1]).astype(np.int32)  # cv2 wants (x, y)
            cv2.fillPoly(out, [pts], 1)
            cv2.polylines(out, [pts], True, 1)  # the outline belongs to the lesion
        elif self.circle is not None:
            r, c, rad = self.circle
            cv2.circle(out, (int(round(c)), int(round(r))), int(round(rad)), 1, thickness=-1)
        return out


@dataclass
class Case:
    """One mammogram with its annotations and metadata; pixels are read on first access."""

    case_id: str
    patient_id: str
    dataset: str
    image_path: Path | None
    view: str = ""
    laterality: str = ""
    lesions: list[Lesion] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    official_split: str | None = None  # e.g. "train" / "test" for CBIS-DDSM
    image_reader: Callable[[Path], np.ndarray] | None = None

    @property
    def has_mass(self) -> bool:
        return any(les.kind == "mass" for les in self.lesions)

    @property
    def image(self) -> np.ndarray:
        from mammorepro.data.io import read_gray

        return self.image_reader(self.image_path) if self.image_reader else read_gray(self.image_path)

    def lesion_masks(self, kinds: tuple[str, ...] = ("mass",), shape: tuple[int, int] | None = None) -> list[np.ndarray]:
        shape = shape or self.image.shape
        return [les.render(shape) for les in self.lesions if les.kind in kinds]

    def mass_masks(self) -> list[np.ndarray]:
        """One mask per mass lesion (the same call as on a phantom case)."""
        return self.lesion_masks(("mass",))

    def mask_for(self, kinds: tuple[str, ...] = ("mass",), shape: tuple[int, int] | None = None) -> np.ndarray:
        """Union of the lesions of the given kinds, at the image's size (or ``shape``)."""
        shape = shape or self.image.shape
        out = np.zeros(shape, dtype=np.uint8)
        for m in self.lesion_masks(kinds, shape):
            if m.shape != shape:
                from mammorepro.errors import DataError

                raise DataError(
                    f"{self.case_id}: a mask is {m.shape[0]}x{m.shape[1]} but the image is {shape[0]}x{shape[1]}; "
                    f"this pair is defective in the source data and is never stretched: exclude it"
                )
            out |= m
        return out

    @property
    def mask(self) -> np.ndarray:
        return self.mask_for(("mass",))


@dataclass
class Problem:
    """One integrity finding: what is wrong, where, and how to fix it, as one line."""

    kind: str  # missing-file | unreadable | transfer-syntax | size-mismatch | empty-mask | duplicate | metadata
    where: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"[{self.kind}] {self.where}: {self.message}" + (f" -> {self.fix}" if self.fix else "")


@dataclass
class DatasetIndex:
    """What a loader returns: the cases it could index and the problems it found."""

    dataset: str
    root: Path
    cases: list[Case]
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "images": len(self.cases),
            "patients": len({c.patient_id for c in self.cases}),
            "images_with_mass": sum(c.has_mass for c in self.cases),
            "mass_lesions": sum(les.kind == "mass" for c in self.cases for les in c.lesions),
            "other_lesions": sum(les.kind != "mass" for c in self.cases for les in c.lesions),
            "problems": len(self.problems),
        }

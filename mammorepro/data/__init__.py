"""Datasets: the procedural phantom, real-dataset roots, saved splits and image I/O."""

from __future__ import annotations

from mammorepro.data.phantom import PhantomCase, PhantomConfig, make_case, make_cases
from mammorepro.data.roots import resolve_root
from mammorepro.data.splits import SCHEMES, draw_kfold, draw_split, get_or_create_splits, load_splits, make_dataset_splits, save_splits


def load_cases(dataset: str, data_root: str | None = None, n: int = 100, seed: int = 0, phantom: PhantomConfig | None = None):
    """Cases (image, mask, ids, metadata) of ``dataset``. The phantom is generated from ``seed``
    (``n`` cases); real datasets are indexed from their root (see :mod:`mammorepro.data.roots`),
    every image, with pixels read on access."""
    if dataset == "phantom":
        if data_root:
            resolve_root(dataset, data_root)  # raises: the phantom has no data root
        return make_cases(n, seed, phantom)
    from mammorepro.data.check import scan

    return scan(dataset, data_root).cases


__all__ = [
    "PhantomCase",
    "PhantomConfig",
    "SCHEMES",
    "draw_kfold",
    "draw_split",
    "get_or_create_splits",
    "load_cases",
    "load_splits",
    "make_case",
    "make_cases",
    "make_dataset_splits",
    "resolve_root",
    "save_splits",
]

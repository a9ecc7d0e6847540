"""Datasets: the procedural phantom, real-dataset roots, saved splits and image I/O."""

from __future__ import annotations

from mammorepro.data.phantom import PhantomCase, PhantomConfig, make_case, make_cases
from mammorepro.data.roots import resolve_root
from mammorepro.data.splits import draw_split, get_or_create_split, load_split, save_split
from mammorepro.errors import ConfigError, DataError


def load_cases(dataset: str, data_root: str | None = None, n: int = 100, seed: int = 0, phantom: PhantomConfig | None = None):
    """Cases (image, mask, ids, metadata) of ``dataset``. The phantom is generated from ``seed``;
    real datasets are read from their root (see :mod:`mammorepro.data.roots`)."""
    if dataset == "phantom":
        if data_root:
            raise ConfigError("the phantom is generated in memory and has no data root: leave data_root empty")
        return make_cases(n, seed, phantom)
    root = resolve_root(dataset, data_root)
    raise DataError(
        f"found {root}, but the {dataset!r} loader is not part of this version yet (it is tracked as the real-datasets issue): "
        f"use dataset='phantom' for now"
    )


__all__ = [
    "PhantomCase",
    "PhantomConfig",
    "draw_split",
    "get_or_create_split",
    "load_cases",
    "load_split",
    "make_case",
    "make_cases",
    "resolve_root",
    "save_split",
]

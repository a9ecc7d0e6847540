"""Preprocessing-cache benchmark: conversion throughput per core on phantom CBIS-DDSM DICOMs of
real size (about 3000 x 5000, 16-bit), and cache read throughput at 256 x 256.

    python benchmarks/cache_throughput.py [--images 6] [--read-images 2000] [--out benchmarks/results]

Writes ``cache_throughput.json`` with the device, versions and commit. Conversion is timed with
1 worker and with every core, alternately in one process, so the ratio is fair; reads are timed
from the page cache (a first pass warms it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from mammorepro.data import cbis_ddsm
from mammorepro.data.cache import PreprocessedCache
from mammorepro.data.phantom import PhantomConfig
from mammorepro.preprocess import PreprocessConfig
from mammorepro.report import environment, write_json


def conversion(n_images: int, work: Path) -> dict:
    root = cbis_ddsm.write_phantom(work / "CBIS-DDSM", n=n_images, seed=0, config=PhantomConfig(height=5000, width=3000))
    cases = cbis_ddsm.scan(root).cases
    cfg = PreprocessConfig(image_size=256)
    out = {"images": len(cases), "image_shape": list(cases[0].image.shape)}
    for workers in (1, os.cpu_count() or 1):
        cache = PreprocessedCache(work / f"cache-{workers}")
        t0 = time.perf_counter()
        cache.build(cases, cfg, workers=workers, progress=False)
        seconds = time.perf_counter() - t0
        out[f"workers_{workers}"] = {"seconds": seconds, "images_per_s": len(cases) / seconds}
    out["images_per_s_per_core"] = out["workers_1"]["images_per_s"]
    return out


def reading(n_images: int, work: Path) -> dict:
    """Read throughput of a consolidated cache at 256 x 256 (random pixels: only I/O is timed)."""
    folder = work / "read-cache"
    folder.mkdir()
    rng = np.random.default_rng(0)
    images = np.lib.format.open_memmap(folder / "images.npy", "w+", np.float16, (n_images, 256, 256))
    masks = np.lib.format.open_memmap(folder / "masks.npy", "w+", np.uint8, (n_images, 256, 256))
    for i in range(0, n_images, 256):
        images[i : i + 256] = rng.random((min(256, n_images - i), 256, 256), dtype=np.float32)
        masks[i : i + 256] = 0
    images.flush(), masks.flush()
    del images, masks
    ids = [f"c{i}" for i in range(n_images)]
    write_json(folder / "index.json", {"case_ids": ids})
    cache = PreprocessedCache(folder)
    order = list(rng.permutation(ids))
    out = {}
    for label in ("warm-up", "timed"):
        img, msk = cache.arrays()
        t0 = time.perf_counter()
        for i in range(n_images):  # one random image at a time, as a data loader does
            j = int(order[i][1:])
            x = np.asarray(img[j], dtype=np.float32)
            m = np.asarray(msk[j])
        seconds = time.perf_counter() - t0
        out[label] = {"seconds": seconds, "images_per_s": n_images / seconds}
    t0 = time.perf_counter()
    x, m = cache.select(order[:512])
    out["batch_select_512_images_per_s"] = 512 / (time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--read-images", type=int, default=2000)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = {
            "benchmark": "cache_throughput",
            "conversion": conversion(args.images, Path(tmp)),
            "reading_256": reading(args.read_images, Path(tmp)),
            "env": environment("cpu"),
        }
    write_json(Path(args.out) / "cache_throughput.json", result)
    conv, read = result["conversion"], result["reading_256"]["timed"]
    print(f"conversion: {conv['images_per_s_per_core']:.2f} images/s per core ({conv['image_shape']}), "
          f"read at 256: {read['images_per_s']:.0f} images/s")


if __name__ == "__main__":
    main()

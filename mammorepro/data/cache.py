"""Preprocessing cache: convert a dataset once to the training resolution, then read it fast.

Full mammograms are large (CBIS-DDSM: ~3000 x 5000 16-bit DICOMs, 0.3-1 s each to decode and
preprocess), so the preprocessed arrays are written once per set of preprocessing parameters:

* the cache folder is ``<cache root>/<dataset>/<key>/`` where ``key`` fingerprints the dataset
  root, the preprocessing parameters and the lesion kinds in the mask; the cache root is
  ``$MAMMOREPRO_CACHE`` or ``~/.cache/mammorepro`` and must lie outside the data root;
* each case is fingerprinted by its files' size and modification time and by its annotation
  (the lesions the loader read: circles, polygons, mask files), so an image replaced or an
  annotation line edited under the same root is converted again, never served stale;
* conversion runs in parallel processes with a progress bar; each case is written atomically
  to its own file, so an interrupted build resumes where it stopped;
* when every case is converted, the files are consolidated into ``images.npy`` (float16,
  N x S x S) and ``masks.npy`` (uint8) with an ``index.json`` receipt (case ids, each image's
  extent on the padded canvas, parameters, versions, time), read later through memory maps.

Images are stored as float16 (the preprocessed values, ~1e-3 precision in [0, 1]), masks as uint8.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mammorepro.errors import ConfigError, DataError
from mammorepro.preprocess import PreprocessConfig, image_extent, preprocess_case
from mammorepro.files import atomic_write, atomic_write_text, is_inside

CACHE_VERSION = 3  # 2: per-case fingerprints of files and annotations; 3: each image's extent


def cache_root(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("MAMMOREPRO_CACHE"):
        return Path(os.environ["MAMMOREPRO_CACHE"]).expanduser()
    return Path.home() / ".cache" / "mammorepro"


def cache_key(dataset: str, data_root: Path | None, cfg: PreprocessConfig, kinds: tuple[str, ...]) -> str:
    spec = [CACHE_VERSION, dataset, str(Path(data_root).resolve()) if data_root else None, cfg.to_dict(), sorted(kinds)]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _stat(path) -> list | None:
    if path is None:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns]


def case_fingerprint(case) -> str:
    """A hash of what a case's cached arrays are made from: its image file and mask files (size
    and modification time) and its annotation (each lesion's kind, circle and polygon)."""
    lesions = []
    for les in getattr(case, "lesions", []):
        polygon = None if les.polygon is None else hashlib.sha256(np.ascontiguousarray(les.polygon, dtype=np.float64).tobytes()).hexdigest()
        lesions.append([les.kind, _stat(les.mask_path), None if les.circle is None else [float(v) for v in les.circle], polygon])
    spec = [case.case_id, _stat(getattr(case, "image_path", None)), lesions]
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _convert(job) -> str:
    """Preprocess one case and write it atomically as ``<case_id>.<fingerprint>.npz``: the
    image and mask (2 x S x S float16) and the image's extent (y0, x0, y1, x1)."""
    case, cfg, kinds, out = job
    if out.is_file():
        return case.case_id
    image = case.image
    mask = case.mask_for(kinds, image.shape) if hasattr(case, "mask_for") else case.mask
    x, m = preprocess_case(image, mask, cfg)
    pair = np.stack([x.astype(np.float16), m.astype(np.float16)])
    _write_part(out, pair, image_extent(image.shape, cfg))
    return case.case_id


def _write_part(path: Path, pair: np.ndarray, extent) -> None:
    def write(tmp):
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
            np.savez(fh, pair=pair, extent=np.asarray(extent, dtype=np.int64))

    atomic_write(path, write)


class PreprocessedCache:
    """One dataset converted with one set of preprocessing parameters."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def for_dataset(
        cls,
        dataset: str,
        data_root: Path | None,
        cfg: PreprocessConfig,
        kinds: tuple[str, ...] = ("mass",),
        root: str | os.PathLike | None = None,
    ) -> PreprocessedCache:
        base = cache_root(root)
        if data_root is not None and is_inside(base, data_root):
            raise ConfigError(f"the cache root {base} lies inside the data root {data_root}: set MAMMOREPRO_CACHE to a folder outside it")
        return cls(base / dataset / cache_key(dataset, data_root, cfg, kinds))

    @property
    def complete(self) -> bool:
        return (self.folder / "index.json").is_file()

    def case_ids(self) -> list[str]:
        if not self.complete:
            raise DataError(f"cache {self.folder} is not built: call build() first")
        return json.loads((self.folder / "index.json").read_text())["case_ids"]

    def build(self, cases, cfg: PreprocessConfig, kinds: tuple[str, ...] = ("mass",), workers: int | None = None, progress: bool = True) -> dict:
        """Convert every case not yet converted, then consolidate. Returns the receipt."""
        from tqdm import tqdm

        ids = [c.case_id for c in cases]
        prints = {c.case_id: case_fingerprint(c) for c in cases}
        old = json.loads((self.folder / "index.json").read_text()) if self.complete else None
        if old and old["case_ids"] == ids and old.get("fingerprints") == prints:
            return old
        parts = self.folder / "cases"
        parts.mkdir(parents=True, exist_ok=True)
        part = {c: parts / f"{c}.{fp}.npz" for c, fp in prints.items()}
        if old and old.get("fingerprints"):  # unchanged cases come from the consolidated arrays, not a new conversion
            images, masks = self.arrays()
            for i, c in enumerate(old["case_ids"]):
                if c in prints and old["fingerprints"].get(c) == prints[c] and not part[c].is_file():
                    pair = np.stack([np.asarray(images[i]), np.asarray(masks[i]).astype(np.float16)])
                    _write_part(part[c], pair, old["extents"][i])
            del images, masks
        todo = [(c, cfg, kinds, part[c.case_id]) for c in cases if not part[c.case_id].is_file()]
        workers = workers or os.cpu_count() or 1
        t0 = time.perf_counter()
        if todo:
            try:
                pickle.dumps(todo[0])
                pool_cls = ProcessPoolExecutor if workers > 1 else ThreadPoolExecutor
            except Exception:  # noqa: BLE001 - unpicklable readers: threads still overlap I/O and decoding
                pool_cls = ThreadPoolExecutor
            with pool_cls(max_workers=workers) as pool:
                for _ in tqdm(pool.map(_convert, todo, chunksize=1), total=len(todo), disable=not progress, desc="preprocessing"):
                    pass
        seconds = time.perf_counter() - t0
        # the old receipt goes first: an interrupted consolidation must never look complete
        (self.folder / "index.json").unlink(missing_ok=True)
        receipt = self._consolidate(ids, part, cfg, kinds)
        receipt.update({"fingerprints": prints, "converted_now": len(todo), "conversion_seconds": seconds, "workers": workers})
        atomic_write_text(self.folder / "index.json", json.dumps(receipt, indent=1))
        shutil.rmtree(parts)  # per-case files (and any temporary left by a killed worker)
        return receipt

    def _consolidate(self, ids: list[str], part: dict[str, Path], cfg: PreprocessConfig, kinds) -> dict:
        s = cfg.image_size
        extents = []
        for name, dtype in (("images", np.float16), ("masks", np.uint8)):
            tmp = self.folder / f".{name}.npy.tmp"
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(len(ids), s, s))
            for i, c in enumerate(ids):
                with np.load(part[c]) as f:
                    pair = f["pair"]
                    if name == "images":
                        extents.append([int(v) for v in f["extent"]])
                arr[i] = pair[0] if name == "images" else pair[1].astype(np.uint8)
            arr.flush()
            del arr
            os.replace(tmp, self.folder / f"{name}.npy")
        from mammorepro import __version__

        return {
            "case_ids": ids,
            "extents": extents,  # (y0, x0, y1, x1) of each image on its padded canvas
            "preprocess": cfg.to_dict(),
            "kinds": list(kinds),
            "cache_version": CACHE_VERSION,
            "mammorepro": __version__,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(images float16 N x S x S, masks uint8) as read-only memory maps."""
        if not self.complete:
            raise DataError(f"cache {self.folder} is not built: call build() first")
        return (
            np.load(self.folder / "images.npy", mmap_mode="r"),
            np.load(self.folder / "masks.npy", mmap_mode="r"),
        )

    def select(self, case_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """float32 images and uint8 masks of the given cases, in that order."""
        position = {c: i for i, c in enumerate(self.case_ids())}
        missing = [c for c in case_ids if c not in position]
        if missing:
            raise DataError(f"case {missing[0]} is not in cache {self.folder}: rebuild it")
        idx = np.array([position[c] for c in case_ids], dtype=np.int64)
        images, masks = self.arrays()
        return images[idx].astype(np.float32), np.asarray(masks[idx])

    def extents(self, case_ids: list[str]) -> np.ndarray:
        """(N, 4) int64: each case's extent (y0, x0, y1, x1) on the padded canvas, in order."""
        index = json.loads((self.folder / "index.json").read_text()) if self.complete else None
        if index is None:
            raise DataError(f"cache {self.folder} is not built: call build() first")
        extent = dict(zip(index["case_ids"], index["extents"]))
        missing = [c for c in case_ids if c not in extent]
        if missing:
            raise DataError(f"case {missing[0]} is not in cache {self.folder}: rebuild it")
        return np.array([extent[c] for c in case_ids], dtype=np.int64).reshape(len(case_ids), 4)

"""How far the smoke chapters' numbers move when only the CPU code path changes.

    python benchmarks/cpu_code_paths.py [--out benchmarks/results] [--paths native default avx2] [--work DIR]

Every notebook of the book is executed with the smoke profile once per CPU code path, each in a
fresh process: ``native`` (the machine's own ATen kernels and oneDNN ISA), ``default``
(``ATEN_CPU_CAPABILITY=default``: ATen's scalar kernels), ``avx2`` (``ATEN_CPU_CAPABILITY=avx2``),
``sse41`` (``ONEDNN_MAX_CPU_ISA=SSE41``: oneDNN's convolutions capped) and combinations such as
``default+sse41``. Every numeric leaf of every chapter's ``metrics.json`` is compared across the
paths; ``cpu_code_paths.json`` records, per value, the spread (max - min) and whether any path
flipped it.

This is the measurement the test suite's tolerances come from: a value whose spread is zero on
every path is a property of the data and the code, and a test may pin it exactly; a value that
moves is a training outcome amplified from the last bits of a float, and a test asserts a property
of it instead (tests/test_cpu_paths.py reads the spreads recorded here).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mammorepro.report import environment, write_json

PATHS = {
    "native": {},
    "default": {"ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "sse41": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "default+sse41": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def leaves(node, prefix: str = "") -> dict[str, float | tuple]:
    """Every numeric leaf of a JSON tree, keyed by its slash-joined path; a list of numbers (a
    precision-recall curve) is one leaf, a tuple."""
    out: dict = {}
    if isinstance(node, dict):
        for k, v in node.items():
            out.update(leaves(v, f"{prefix}/{k}" if prefix else str(k)))
    elif isinstance(node, list) and node and all(_number(v) for v in node):
        out[prefix] = tuple(float(v) for v in node)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            key = v.get("variant") if isinstance(v, dict) and "variant" in v else i
            out.update(leaves(v, f"{prefix}/{key}"))
    elif _number(node) and math.isfinite(node):
        out[prefix] = float(node)
    return out


def spread(values: list) -> float:
    """max - min of numbers; for curves the largest element-wise spread (inf if lengths differ)."""
    if isinstance(values[0], tuple):
        if len({len(v) for v in values}) > 1:
            return math.inf
        return max((max(col) - min(col) for col in zip(*values)), default=0.0)
    return max(values) - min(values)


def run_book(path: str, work: Path) -> tuple[dict[str, float], float]:
    env = {**os.environ, **PATHS[path]}
    shutil.rmtree(work / path, ignore_errors=True)  # a run cut off before: start that path again
    results = work / path / "results"
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "mammorepro", "run", "--all", "--profile", "smoke", "--jobs", "1",
           "--output", str(work / path / "executed"), "-p", "results_root", str(results)]
    subprocess.run(cmd, env=env, check=True)
    seconds = time.perf_counter() - t0
    values: dict[str, float] = {}
    for f in sorted(results.rglob("metrics.json")):
        chapter = f.relative_to(results).parent.as_posix()
        values.update({f"{chapter}:{k}": v for k, v in leaves(json.loads(f.read_text())).items()})
    return values, seconds


def compare(by_path: dict[str, dict]) -> dict[str, dict]:
    """key -> {"spread"} for every value all paths recorded, with each path's value where it moved."""
    keys = sorted(set.intersection(*(set(v) for v in by_path.values())))
    out = {}
    for k in keys:
        vals = [by_path[p][k] for p in by_path]
        s = spread(vals)
        out[k] = {"spread": s} if s == 0 else {"spread": s, "values": {p: (v if not isinstance(v, tuple) else f"curve of {len(v)}") for p, v in zip(by_path, vals)}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--paths", nargs="+", default=["native", "default", "avx2"], choices=sorted(PATHS))
    ap.add_argument("--work", help="keep each path's numbers here and reuse them when rerun (resumable)")
    args = ap.parse_args()
    by_path, seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        for path in args.paths:
            done = work / f"{path}.json"
            if done.exists():
                saved = json.loads(done.read_text())
                by_path[path] = {k: tuple(v) if isinstance(v, list) else v for k, v in saved["values"].items()}
                seconds[path] = saved["seconds"]
            else:
                by_path[path], seconds[path] = run_book(path, work)
                done.write_text(json.dumps({"values": by_path[path], "seconds": seconds[path]}))
            print(f"{path}: {len(by_path[path])} values in {seconds[path]:.0f} s", flush=True)
    values = compare(by_path)
    moved = {k: v for k, v in values.items() if v["spread"] > 0}
    print(f"{len(moved)} of {len(values)} values move across {args.paths}")
    out = {
        "paths": {p: PATHS[p] for p in args.paths},
        "seconds": seconds,
        "n_values": len(values),
        "n_moved": len(moved),
        "values": values,
        "env": environment(),
    }
    Path(args.out).mkdir(parents=True, exist_ok=True)
    write_json(Path(args.out) / "cpu_code_paths.json", out)
    for k, v in sorted(moved.items(), key=lambda kv: -kv[1]["spread"])[:40]:
        print(f"  {v['spread']:.3g}  {k}")


if __name__ == "__main__":
    main()

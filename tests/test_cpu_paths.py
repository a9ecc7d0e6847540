"""Every value a test pins exactly was measured to be identical on every CPU code path.

benchmarks/cpu_code_paths.py executes the whole book with the smoke profile once per CPU code
path (the machine's own kernels, ATEN_CPU_CAPABILITY=default: ATen's scalar kernels, and
ATEN_CPU_CAPABILITY=avx2) and
records, for every number of every metrics.json, its spread across the paths. The smoke tests
pin only values whose spread was 0; every other value is checked as a property. This test reads
the committed measurement, so pinning a value that moves fails here, on any machine."""

import importlib
import json
import math
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEASURED = REPO / "benchmarks" / "results" / "cpu_code_paths.json"
sys.path.insert(0, str(REPO / "benchmarks"))

# (chapter folder, test module holding EXACT, metrics.json key the values sit under)
PINNED = [
    ("tour", "test_notebooks", "methods"),
    ("p1", "test_p1", "methods"),
    ("p1", "test_p1", "methods_authors"),
    ("p2", "test_p2", "methods"),
    ("p4", "test_p4", "methods"),
    ("p5", "test_p5", "methods"),
]


# a key renamed after the measurement: p1's authors' rule was Otsu on every map when measured;
# the pinned values are the all-background prediction's, the same under either rule
MEASURED_AS = {"methods_authors": "methods_otsu"}


@pytest.fixture(scope="module")
def measured():
    data = json.loads(MEASURED.read_text())
    assert {"native", "default"} <= set(data["paths"]) and len(data["paths"]) >= 3, data["paths"]
    return data


@pytest.mark.parametrize("chapter, module, key", PINNED, ids=[f"{c}-{k}" for c, _, k in PINNED])
def test_pinned_values_do_not_move_across_cpu_code_paths(measured, chapter, module, key):
    exact = importlib.import_module(module).EXACT
    for method, values in exact.items():
        for name, value in values.items():
            entry = measured["values"][f"{chapter}/phantom/smoke:{MEASURED_AS.get(key, key)}/{method}/{name}"]
            assert entry["spread"] == 0, (chapter, key, method, name, entry)


def test_the_measurement_saw_training_outcomes_move(measured):
    """The paths really differ: trained models' numbers moved, which is why they are not pinned."""
    moved = [k for k, v in measured["values"].items() if v["spread"] is None or v["spread"] > 0]
    assert any(":runs/" in k and "train_loss" in k for k in moved), "no training loss moved: were the paths applied?"


def test_spread_of_numbers_and_curves():
    from cpu_code_paths import leaves, spread

    assert leaves({"a": {"b": 1, "c": [0.5, 0.25]}, "runs": [{"variant": "U-Net", "loss": 2.0}], "flag": True}) == {
        "a/b": 1.0,
        "a/c": (0.5, 0.25),
        "runs/U-Net/loss": 2.0,
    }
    assert spread([0.5, 0.75, 0.5]) == 0.25 and spread([(0.0, 1.0), (0.0, 0.5)]) == 0.5
    assert math.isinf(spread([(0.0,), (0.0, 1.0)]))

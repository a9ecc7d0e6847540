"""DistributedDataParallel via torchrun: two CPU processes (gloo) train the same model as one
process with the same global batch; only rank 0 writes the result folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

# DeepLabv3-ResNet18 has GroupNorm and no dropout, and its weighted BCE is a mean over pixels:
# the gradient of a global batch is then exactly the mean of the ranks' gradients, so one and
# two processes must agree up to floating-point summation order. 29 phantom cases give 16
# training images with a mass: every global batch of 4 is full (a DistributedSampler pads a
# training set that does not split evenly with repeated images, which one process never sees).
ARGS = ["DeepLabv3", "--profile", "smoke", "-p", "n_cases", "29", "-p", "epochs", "2", "-p", "batch_size", "4", "-p", "augment", "False"]
TOLERANCE = 1e-4  # relative, on every epoch's training loss and the test Dice


def _torchrun(nproc: int, results: Path) -> dict:
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", str(nproc), "-m", "mammorepro.train", *ARGS, "-p", "results_root", str(results), "-p", "device", "cpu"]
    res = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    runs = sorted((results / "train").glob("*/*/metrics.json"))
    assert len(runs) == 1, runs  # rank 0 alone writes
    return json.loads(runs[0].read_text())


@pytest.mark.notebook
def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    one = _torchrun(1, tmp_path / "one" / "results")
    two = _torchrun(2, tmp_path / "two" / "results")
    assert one["world_size"] == 1 and two["world_size"] == 2
    assert one["split_sha256"] == two["split_sha256"]
    loss_one = [r["train_loss"] for r in one["history"]]
    loss_two = [r["train_loss"] for r in two["history"]]
    assert loss_two == pytest.approx(loss_one, rel=TOLERANCE)
    assert two["test"]["dice_pooled"] == pytest.approx(one["test"]["dice_pooled"], rel=TOLERANCE, abs=1e-6)
    assert [r["val_loss"] for r in two["history"]] == pytest.approx([r["val_loss"] for r in one["history"]], rel=TOLERANCE)


def test_global_batch_must_split_evenly():
    from unittest import mock

    import numpy as np
    import torch

    from mammorepro.engine import ArraySegmentationDataset, TrainConfig, fit
    from mammorepro.errors import ConfigError

    ds = ArraySegmentationDataset(np.zeros((4, 8, 8), np.float32), np.zeros((4, 8, 8), np.uint8))
    with mock.patch("mammorepro.engine.training.distributed_context", return_value=(2, 0)):
        with pytest.raises(ConfigError, match="divisible by the 2 processes"):
            fit(torch.nn.Conv2d(1, 1, 1), ds, None, torch.nn.BCEWithLogitsLoss(), TrainConfig(epochs=1, batch_size=3, device="cpu"), progress=False)

"""The phantom's difficulty is calibrated: a small U-Net trained briefly on a CPU clearly beats
the all-background prediction on lesion-level Dice, and stays far from perfect.

This runs the tour's pipeline (library calls, no notebook) with a calibration profile sized to
take about two minutes on 2 CPU cores.

Nothing here is a pinned training outcome: the same run gives dice_pooled 0.3399 (torch 2.15,
AVX2), 0.4045 (torch 2.14.1, AVX-512 and ATEN_CPU_CAPABILITY=avx2) and 0.3285 (torch 2.14.1,
ATEN_CPU_CAPABILITY=default) -- 14 short epochs amplify the last bits of a float into 0.07 Dice.
Sensitivity per image moves with it: 0.373 (torch 2.14.1, AVX2) and 0.251 (torch 2.14.1,
ATEN_CPU_CAPABILITY=default; the CI's second code path, which failed an earlier bound of 0.3).
The asserted properties hold on every one of those paths with room to spare."""

import numpy as np
import pytest

from mammorepro import tour
from mammorepro.metrics import bootstrap_ci

CALIBRATION = dict(n_cases=160, image_size=128, epochs=14, batch_size=8, lr=3e-3, base_width=16)


@pytest.mark.slow
def test_small_unet_beats_all_background_but_is_far_from_perfect(tmp_path):
    cfg = tour.configure("default", results_root=str(tmp_path / "results"), **CALIBRATION)
    cases = tour.load(cfg)
    prepared = tour.prepare(cfg, cases)
    model = tour.build_model(cfg)
    history = tour.train(cfg, model, prepared)
    scored = tour.score(cfg, model, prepared)
    unet, bg = scored.scores["U-Net"], scored.scores["all-background"]
    u, b = unet.summary(), bg.summary()
    # lesion images only: the all-background prediction scores 0 there by definition
    lesion = unet.per_case()["has_lesion"].to_numpy()
    u_lesion = unet.per_case()["dice"].to_numpy()[lesion]
    print("calibration", {k: round(v, 4) for k, v in u.items()}, "lesion dice", u_lesion.mean())
    # clearly beats finding nothing: the 95 % CI of the lesion-image Dice lies well above the
    # all-background prediction's, which is exactly 0 there
    lo, hi = bootstrap_ci(u_lesion)
    assert b["dice_pooled"] == 0.0 and lo > 0.15, (lo, hi)
    # it finds part of most masses, on every measured path (lowest seen: sensitivity 0.251)
    assert u["dice_pooled"] > 0.2 and u["sensitivity_per_image"] > 0.15
    assert np.mean(u_lesion) < 0.85  # ... but far from perfect
    # it learned: the training loss of the last epochs is clearly below that of the first
    losses = history.column("train_loss")
    assert np.mean(losses[-3:]) < 0.8 * losses[0], losses

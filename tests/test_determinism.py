"""The pipeline is bit-identical when run twice in one process with the same seed: data,
preprocessing, training, prediction and scoring. This is the reproducibility a test can demand on
any CPU. Across CPUs it cannot: another machine's kernels (AVX2 / AVX-512 / oneDNN paths) round
differently and a short training run amplifies that into Dice points, which is why the other
tests assert properties of trained models instead of their values (benchmarks/cpu_code_paths.py
measures how far each value moves)."""

import numpy as np
import torch

from mammorepro import tour
from mammorepro.papers import p2


def _untimed(rows):
    """History rows without their wall-clock seconds (the only thing allowed to differ)."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _tour_once(results_root):
    cfg = tour.configure("smoke", results_root=str(results_root))
    prepared = tour.prepare(cfg, tour.load(cfg))
    model = tour.build_model(cfg)
    history = tour.train(cfg, model, prepared)
    scored = tour.score(cfg, model, prepared)
    return model, history, scored


def test_tour_pipeline_is_bit_identical_when_run_twice(tmp_path):
    # two result roots: the second run cannot resume from the first one's checkpoints
    model_a, history_a, scored_a = _tour_once(tmp_path / "a" / "results")
    model_b, history_b, scored_b = _tour_once(tmp_path / "b" / "results")
    assert _untimed(history_a.rows) == _untimed(history_b.rows)
    for (name, wa), wb in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(wa, wb), name
    assert np.array_equal(scored_a.probabilities, scored_b.probabilities)
    assert scored_a.summary() == scored_b.summary()
    # ... and the run trained something: the weights moved from their seeded start
    start = tour.build_model(tour.configure("smoke"))
    assert any(not torch.equal(w, s) for w, s in zip(model_a.state_dict().values(), start.state_dict().values()))


def test_p2_variants_are_bit_identical_when_run_twice(tmp_path):
    def once(root):
        cfg = p2.configure("smoke", results_root=str(root), epochs=1)
        prepared = p2.prepare(cfg, p2.load(cfg))
        return p2.train_variants(cfg, prepared)

    a, b = once(tmp_path / "a" / "results"), once(tmp_path / "b" / "results")
    assert [_untimed(r.history.rows) for r in a.runs] == [_untimed(r.history.rows) for r in b.runs]
    for ra, rb in zip(a.runs, b.runs):
        assert np.array_equal(ra.probabilities, rb.probabilities), ra.variant


def _without_timings(obj):
    """A metrics.json without its wall-clock fields (every key naming seconds), the only values
    allowed to differ between two runs on one machine."""
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if "seconds" not in str(k)}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def test_p4_result_folder_is_identical_when_run_twice(tmp_path):
    """The chapter that once differed between two runs (a CI [0.313, 0.975] became [0.272,
    1.048]): two runs into two result roots write the same metrics.json, per_case.csv and
    claims.json, apart from timings."""
    import json

    from mammorepro.papers import p4

    def once(root):
        cfg = p4.configure("smoke", results_root=str(root), epochs=1, models="fcn32,unet")
        prepared = p4.prepare(cfg, p4.load(cfg))
        runs = p4.train_models(cfg, prepared)
        return p4.record(cfg, prepared, runs, p4.score(cfg, prepared, runs), figures={})

    a, b = once(tmp_path / "a" / "results"), once(tmp_path / "b" / "results")
    metrics_a, metrics_b = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert json.dumps(_without_timings(metrics_a), sort_keys=True) == json.dumps(_without_timings(metrics_b), sort_keys=True)
    for name in ("per_case.csv", "claims.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name

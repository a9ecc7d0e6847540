"""The tour's pipeline on a real-format tree (phantom-written mini-MIAS): loader, saved 5-fold
split, preprocessing cache, training and scoring, all through the same library calls."""

import json

from mammorepro import tour
from mammorepro.data import mias
from mammorepro.data.phantom import PhantomConfig
from tests_helpers import snapshot


def test_tour_runs_on_a_real_layout(tmp_path, monkeypatch):
    root = mias.write_phantom(tmp_path / "data" / "mias", n=12, seed=0, config=PhantomConfig(height=256, width=128))
    monkeypatch.setenv("MAMMOREPRO_CACHE", str(tmp_path / "cache"))
    before = snapshot(root)
    cfg = tour.configure("smoke", dataset="mias", data_root=str(root), results_root=str(tmp_path / "results"), epochs=1)
    cases = tour.load(cfg)
    prepared = tour.prepare(cfg, cases)
    assert prepared.split_name == "fold1" and sum(len(p) for p in prepared.parts.values()) == 12
    assert (tmp_path / "cache" / "mias").is_dir()  # converted once into the cache
    model = tour.build_model(cfg)
    history = tour.train(cfg, model, prepared)
    out = tour.record(cfg, prepared, model, history, tour.score(cfg, model, prepared))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "mias" and metrics["split_name"] == "fold1"
    assert snapshot(root) == before

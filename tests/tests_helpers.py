"""Small helpers shared by the data tests."""

from pathlib import Path


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime: equal snapshots mean nothing was written."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(Path(root).rglob("*")) if p.is_file()}


# metrics that are fractions: every method's value lies in [0, 1]
FRACTIONS = ("dice", "iou", "accuracy", "sensitivity", "specificity", "precision", "recall", "f1", "miou")


def assert_run_properties(metrics: dict, exact: dict, key: str = "methods") -> None:
    """A chapter's metrics.json checked for what holds on every CPU and torch build.

    ``exact``: method -> metric -> value, for values that depend only on the data and the metric
    code (the all-background prediction, counts). They are pinned to 1e-6, and
    tests/test_cpu_paths.py checks that each one has a spread of 0 across the CPU code paths
    measured by benchmarks/cpu_code_paths.py. Every trained method's values are checked as
    properties: finite, fractions within [0, 1]; every run's losses finite and positive."""
    import math

    import pytest

    for method, expected in exact.items():
        for name, value in expected.items():
            assert metrics[key][method][name] == pytest.approx(value, abs=1e-6), (key, method, name)
    for method, values in metrics[key].items():
        for name, value in values.items():
            if isinstance(value, float):
                assert math.isfinite(value) or math.isnan(value), (method, name, value)
                if any(f in name for f in FRACTIONS) and not math.isnan(value):
                    assert -1e-9 <= value <= 1 + 1e-9, (method, name, value)
    for run in metrics.get("runs", []):
        losses = [row["train_loss"] for row in run["history"]]
        assert losses and all(math.isfinite(v) and v > 0 for v in losses), (run.get("variant"), losses)


def assert_refused_in_one_line(configure, tmp_path: Path, message: str, **params) -> None:
    """A chapter's ``configure`` refuses ``params`` with a one-line ConfigError matching
    ``message``, before anything is written under the results root."""
    import pytest

    from mammorepro.errors import ConfigError

    with pytest.raises(ConfigError, match=message) as info:
        configure("smoke", results_root=str(tmp_path / "results"), **params)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "results").exists()


def load_smoke_run(results: Path, paper: str) -> dict:
    """A chapter's smoke result folder: asserts the four provenance files exist and returns
    ``{"run": folder, "metrics": metrics.json}`` (the phantom's folder: results/<paper>/phantom/smoke)."""
    import json

    run = Path(results) / paper / "phantom" / "smoke"
    for name in ("config.json", "metrics.json", "per_case.csv", "env.json"):
        assert (run / name).is_file(), name
    return {"run": run, "metrics": json.loads((run / "metrics.json").read_text())}

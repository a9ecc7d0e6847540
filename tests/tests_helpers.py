"""Small helpers shared by the data tests."""

from pathlib import Path


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime: equal snapshots mean nothing was written."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(Path(root).rglob("*")) if p.is_file()}


def assert_pinned_run(metrics: dict, pinned_metrics: dict, pinned_losses: dict, key: str = "methods") -> None:
    """A chapter's metrics.json against pinned values: metrics within 1e-3 (absolute), each run's
    training losses within 2e-3 (relative)."""
    import pytest

    for method, expected in pinned_metrics.items():
        for name, value in expected.items():
            assert metrics[key][method][name] == pytest.approx(value, abs=1e-3), (key, method, name)
    losses = {r["variant"]: [row["train_loss"] for row in r["history"]] for r in metrics.get("runs", [])}
    for variant, values in pinned_losses.items():
        assert losses[variant] == pytest.approx(values, rel=2e-3), variant


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
    ``{"run": folder, "metrics": metrics.json}``."""
    import json

    run = Path(results) / paper / "smoke"
    for name in ("config.json", "metrics.json", "per_case.csv", "env.json"):
        assert (run / name).is_file(), name
    return {"run": run, "metrics": json.loads((run / "metrics.json").read_text())}

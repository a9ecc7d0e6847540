import json
import math

import matplotlib
import pandas as pd
import pytest

from mammorepro.errors import ConfigError
from mammorepro.report import RunRecorder, environment

matplotlib.use("Agg")


def test_recorder_writes_every_file_with_provenance(tmp_path):
    import matplotlib.pyplot as plt

    rec = RunRecorder("p0", "smoke", tmp_path / "results")
    rec.write_config({"lr": 1e-3})
    rec.write_metrics({"dice": 0.5, "undefined": math.nan})
    rec.write_per_case(pd.DataFrame({"case_id": ["a"], "dice": [0.5]}))
    rec.write_env("cpu")
    fig, _ = plt.subplots()
    rec.save_figure(fig, "curve")
    run = tmp_path / "results" / "p0" / "smoke"
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "env.json", "figures", "metrics.json", "per_case.csv"]
    assert json.loads((run / "metrics.json").read_text()) == {"dice": 0.5, "undefined": None}
    env = json.loads((run / "env.json").read_text())
    assert env["device"] == "cpu" and env["versions"]["torch"] and "commit" in env["git"]
    assert (run / "figures" / "curve.png").stat().st_size > 0
    assert not list(run.rglob("*.tmp"))  # atomic writes leave no temporaries


def test_results_only_land_in_a_results_folder(tmp_path):
    with pytest.raises(ConfigError, match="results"):
        RunRecorder("p0", "smoke", tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="folder name"):
        RunRecorder("../p0", "smoke", tmp_path / "results")


def test_environment_names_versions():
    env = environment()
    assert env["python"] and env["versions"]["numpy"]


def test_git_state_ignores_rewritten_results_but_not_code(tmp_path):
    import subprocess

    from mammorepro.report.results import git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "metrics.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    assert git_commit(tmp_path)["dirty"] is False
    (tmp_path / "results" / "metrics.json").write_text('{"rerun": 1}')  # a rerun rewrites its own outputs
    assert git_commit(tmp_path)["dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    state = git_commit(tmp_path)
    assert state["dirty"] is True and len(state["commit"]) == 40

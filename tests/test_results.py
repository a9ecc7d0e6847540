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

    with RunRecorder("p0", "smoke", tmp_path / "results") as rec:
        rec.write_config({"lr": 1e-3})
        rec.write_metrics({"dice": 0.5, "undefined": math.nan})
        rec.write_per_case(pd.DataFrame({"case_id": ["a"], "dice": [0.5]}))
        rec.write_env("cpu")
        fig, _ = plt.subplots()
        rec.save_figure(fig, "curve")
        assert not rec.dir.exists()  # nothing is in place before the last file is written
    run = tmp_path / "results" / "p0" / "phantom" / "smoke"
    assert rec.dir == run
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
    with pytest.raises(ConfigError, match="dataset name"):
        RunRecorder("p0", "smoke", tmp_path / "results", dataset="../mias")


def _write(root, dataset="phantom", overwrite=False, fail=False, **parameters):
    with RunRecorder("p0", "smoke", root, dataset, {"epochs": 2, "results_root": str(root), **parameters}, overwrite) as rec:
        rec.write_config({"parameters": {"epochs": 2, "results_root": str(root), **parameters}})
        rec.write_metrics({"seed": parameters.get("seed", 0)})
        if fail:
            raise KeyboardInterrupt  # a run killed between two files
        rec.write_env("cpu")
    return rec.dir


def test_runs_on_two_datasets_live_side_by_side(tmp_path):
    root = tmp_path / "results"
    phantom, mias = _write(root), _write(root, dataset="mias")
    assert phantom != mias and (phantom / "metrics.json").is_file() and (mias / "metrics.json").is_file()
    from mammorepro.report.results import run_folders

    assert [p.relative_to(root).as_posix() for p in run_folders(root)] == ["p0/mias/smoke", "p0/phantom/smoke"]


def test_a_folder_made_with_other_parameters_is_replaced_only_when_told(tmp_path):
    root = tmp_path / "results"
    folder = _write(root, seed=4)
    _write(root, seed=4, device="cuda")  # the same run again (where it ran is not what it ran): allowed
    with pytest.raises(ConfigError, match=r"other parameters \(seed 4 -> 6\).*--overwrite") as info:
        _write(root, seed=6)
    assert "\n" not in str(info.value) and json.loads((folder / "metrics.json").read_text()) == {"seed": 4}
    _write(root, seed=6, overwrite=True)
    assert json.loads((folder / "metrics.json").read_text()) == {"seed": 6}


def test_a_killed_run_leaves_the_previous_folder_whole(tmp_path):
    root = tmp_path / "results"
    folder = _write(root, seed=4)
    with pytest.raises(KeyboardInterrupt):
        _write(root, seed=6, overwrite=True, fail=True)
    assert json.loads((folder / "metrics.json").read_text()) == {"seed": 4}
    assert json.loads((folder / "config.json").read_text())["parameters"]["seed"] == 4 and (folder / "env.json").is_file()
    assert sorted(p.name for p in folder.parent.iterdir()) == ["smoke"]  # the partial folder is gone


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


def test_result_files_follow_the_umask_and_a_second_run_is_refused(tmp_path):
    """Results are readable like any file the user writes (before: 0600 files in a 0700 folder,
    from the temporary files), and a run whose folder another live run holds is refused with one
    line (before: the later run silently replaced the other's folder)."""
    import os
    import subprocess
    import sys

    from mammorepro.errors import ConfigError
    from mammorepro.files import default_mode
    from mammorepro.report import RunLock, RunRecorder

    with RunRecorder("tour", "smoke", tmp_path / "results") as rec:
        rec.write_metrics({"dataset": "phantom"})
    assert (rec.dir / "metrics.json").stat().st_mode & 0o777 == default_mode()
    assert rec.dir.stat().st_mode & 0o777 == default_mode(folder=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = RunLock(rec.dir)
        lock.path.write_text(str(other.pid))
        with pytest.raises(ConfigError, match=f"another run \\(pid {other.pid}\\) is writing"):
            RunRecorder("tour", "smoke", tmp_path / "results", overwrite=True)
    finally:
        other.kill()
        other.wait()
    assert lock.holder() is None  # the holder is gone: the lock is stale and taken over
    with lock:
        assert lock.path.read_text() == str(os.getpid())
    assert not lock.path.exists()

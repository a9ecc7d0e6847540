"""Bad input on the command line: one line, exit status 2, nothing written."""

import subprocess
import sys

import pytest

from conftest import REPO


def _run(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "mammorepro", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "00_tour", "-p", "epoch", "3"], "unknown parameter(s) epoch for 00_tour: valid names are"),
        (["run", "00_tour", "-p", "epochs", "-1"], "epochs=-1 must be >= 0"),
        (["run", "00_tour", "-p", "image_size", "100"], "image_size=100 does not suit model 'unet'"),
        (["run", "00_tour", "-p", "dataset", "mias", "-p", "data_root", "/nonexistent/mias"], "not a folder"),
        (["run", "no_such_notebook"], "unknown notebook 'no_such_notebook'"),
    ],
)
def test_bad_input_is_one_line(args, expected, tmp_path):
    res = _run(*args, "--output", str(tmp_path / "out"))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()  # nothing executed, nothing written


def test_models_lists_the_registry():
    res = _run("models")
    assert res.returncode == 0 and "unet" in res.stdout and "smp-unet" in res.stdout


def test_parameter_values_are_typed_like_papermill():
    from mammorepro.notebooks import parse_parameters, parse_value

    assert parse_value("1e-3") == 1e-3 and parse_value("5") == 5 and parse_value("None") is None
    assert parse_value("False") is False and parse_value("off") == "off"
    assert parse_value("2024", default="") == "2024"  # a string parameter stays a string
    params = parse_parameters(["00_tour"], [("lr", "1e-3"), ("data_root", "2024"), ("epochs", "3")])
    assert params == {"lr": 1e-3, "data_root": "2024", "epochs": 3}


def test_all_checks_every_notebook_before_running_any(tmp_path):
    res = _run("run", "--all", "-p", "epochs", "x", "--output", str(tmp_path / "out"))
    assert res.returncode == 2 and "epochs='x' must be an integer" in res.stderr and not (tmp_path / "out").exists()


def test_a_file_where_a_folder_is_expected_is_one_line(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    res = _run("data", "phantom", "mias", str(target / "sub"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_a_run_with_other_parameters_is_refused_before_it_starts(tmp_path):
    """A committed folder is never replaced by a differently configured run unless --overwrite:
    the refusal comes before a kernel starts."""
    import json

    from mammorepro import tour

    folder = tmp_path / "results" / "tour" / "phantom" / "smoke"
    folder.mkdir(parents=True)
    made = tour.configure("smoke", results_root=str(tmp_path / "results"))  # what a smoke run records
    (folder / "config.json").write_text(json.dumps({"parameters": made}))
    args = ("run", "00_tour", "--profile", "smoke", "-p", "results_root", str(tmp_path / "results"), "-p", "epochs", "1", "--output", str(tmp_path / "out"))
    res = _run(*args)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "other parameters (epochs 2 -> 1)" in res.stderr and "--overwrite" in res.stderr
    assert not (tmp_path / "out").exists()
    from mammorepro.notebooks import check_parameters

    cfg = check_parameters("00_tour", {"profile": "smoke", "results_root": str(tmp_path / "results"), "epochs": 1, "overwrite": True})
    assert cfg["overwrite"] is True  # told to: accepted


def test_relative_paths_mean_the_callers_directory(tmp_path, monkeypatch):
    """Notebooks run from the repository root: a relative results_root or data_root typed in
    another directory is made absolute there, once, before any check or run (before, the checks
    used the caller's directory and the notebook the repository's)."""
    from mammorepro import __main__ as cli
    from mammorepro import notebooks

    seen = {}
    monkeypatch.setattr(notebooks, "execute_all", lambda per_notebook, *a, **k: seen.update(per_notebook))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "copy").mkdir()
    mias_root = notebooks.absolute_paths({"data_root": "copy"})["data_root"]
    assert mias_root == str(tmp_path / "copy")
    assert cli.main(["run", "00_tour", "--profile", "smoke", "-p", "results_root", "out/results"]) == 0
    assert seen["00_tour"]["results_root"] == str(tmp_path / "out" / "results")
    assert notebooks.absolute_paths({"results_root": "/abs/results", "epochs": 3, "data_root": ""}) == {"results_root": "/abs/results", "epochs": 3, "data_root": ""}


def test_faults_that_used_to_print_tracebacks_are_one_line(tmp_path, monkeypatch, capsys):
    """A non-UTF-8 byte in a CBIS-DDSM CSV, a symlink loop as data_root, Ctrl-C and a full disk:
    each ends with one actionable line (exit 2; 130 for Ctrl-C), never a traceback."""
    import errno

    from mammorepro import __main__ as cli

    cbis = tmp_path / "cbis"
    assert _run("data", "phantom", "cbis-ddsm", str(cbis), "-n", "4").returncode == 0
    csv = next(cbis.rglob("mass_case_description_train_set.csv"))
    csv.write_bytes(csv.read_bytes().replace(b"\n", b"\n\xff", 1))
    res = _run("data", "check", "cbis-ddsm", "--root", str(cbis), "--quick", "--no-progress")
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert f"{csv} line 2: byte 0xff is not UTF-8 text" in res.stderr
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    res = _run("run", "00_tour", "-p", "dataset", "mias", "-p", "data_root", str(loop), "--output", str(tmp_path / "out"))
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    for fault, code, words in ((KeyboardInterrupt(), 130, "interrupted"), (OSError(errno.ENOSPC, "No space left on device", "/x/metrics.json"), 2, "no space left")):
        def raise_it(_args, fault=fault):
            raise fault

        monkeypatch.setattr(cli, "_models", raise_it)
        assert cli.main(["models"]) == code
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and words in err


def test_an_empty_data_root_is_refused_before_a_kernel_starts(tmp_path):
    empty = tmp_path / "mias"
    empty.mkdir()
    (empty / "Info.txt").write_text("nothing listed\n")
    res = _run("run", "00_tour", "-p", "dataset", "mias", "-p", "data_root", str(empty), "--output", str(tmp_path / "out"))
    assert res.returncode == 2 and "holds no usable mias image" in res.stderr and "data check mias" in res.stderr
    assert not (tmp_path / "out").exists()

import pytest

from mammorepro import tour
from mammorepro.data import load_cases, resolve_root
from mammorepro.errors import ConfigError, DataError


def test_profiles_fill_unset_parameters():
    cfg = tour.configure("smoke", epochs=None, seed=3)
    assert cfg["epochs"] == tour.PROFILES["smoke"]["epochs"] and cfg["seed"] == 3 and cfg["profile"] == "smoke"


def test_unknown_parameter_lists_valid_names():
    with pytest.raises(ConfigError) as err:
        tour.configure("smoke", epoch=3)
    assert "epoch" in str(err.value) and "epochs" in str(err.value) and "image_size" in str(err.value)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"epochs": -1}, "epochs=-1"),
        ({"image_size": 100}, "multiple of 16"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0}, "lr"),
        ({"dataset": "ddsm"}, "unknown dataset"),
        ({"epochs": 2.5}, "integer"),
    ],
)
def test_out_of_range_values(params, match):
    with pytest.raises(ConfigError, match=match):
        tour.configure("smoke", **params)


def test_unknown_profile():
    with pytest.raises(ConfigError, match="unknown profile"):
        tour.configure("quick")


def test_data_roots(tmp_path, monkeypatch):
    for var in ("MAMMOREPRO_DATA", "MAMMOREPRO_MIAS"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(DataError, match="MAMMOREPRO_MIAS"):
        resolve_root("mias")
    with pytest.raises(DataError, match="not a folder"):
        resolve_root("mias", tmp_path / "nope")
    monkeypatch.setenv("MAMMOREPRO_DATA", str(tmp_path))
    (tmp_path / "mias").mkdir()
    assert resolve_root("mias") == tmp_path / "mias"
    with pytest.raises(ConfigError, match="no data root"):
        load_cases("phantom", data_root=str(tmp_path))

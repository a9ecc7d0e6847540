import json

import pytest

from mammorepro.data.splits import SCHEMES, draw_kfold, draw_split, get_or_create_splits, load_splits, make_dataset_splits
from mammorepro.errors import ConfigError, DataError

IDS = [f"c{i:03d}" for i in range(100)]
PATIENTS = [f"p{i // 2:03d}" for i in range(100)]
OWNER = dict(zip(IDS, PATIENTS))


def _by_patient(parts):
    """Every case in exactly one part, and a patient never straddles two parts."""
    all_ids = sorted(c for v in parts.values() for c in v)
    assert all_ids == sorted(set(all_ids))
    patient_part = {}
    for name, members in parts.items():
        for c in members:
            assert patient_part.setdefault(OWNER[c], name) == name
    return all_ids


def test_split_is_by_patient_and_complete():
    parts = draw_split(IDS, PATIENTS, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=0)
    assert _by_patient(parts) == IDS
    assert [len(parts[k]) for k in ("train", "val", "test")] == [60, 20, 20]
    assert draw_split(IDS, PATIENTS, {"train": 0.6, "val": 0.2, "test": 0.2}, seed=1) != parts


def test_kfold_partitions_patients():
    folds = draw_kfold(IDS, PATIENTS, 5, seed=0)
    assert sorted(c for f in folds for c in f) == IDS and [len(f) for f in folds] == [20] * 5


@pytest.mark.parametrize("dataset", sorted(SCHEMES))
def test_every_dataset_scheme(dataset):
    official = ["test" if i >= 80 else "train" for i in range(100)] if dataset == "cbis-ddsm" else None
    splits = make_dataset_splits(dataset, IDS, PATIENTS, official, seed=0)
    expected_names = {"inbreast": [f"T{i}" for i in range(1, 6)], "mias": [f"fold{i}" for i in range(1, 6)]}
    assert list(splits) == expected_names.get(dataset, list(splits))
    for parts in splits.values():
        assert set(parts) == {"train", "val", "test"} and _by_patient(parts) == IDS
    if dataset == "cbis-ddsm":
        assert splits["official"]["test"] == IDS[80:]  # the official test set is kept as is
    if dataset == "holdout70":
        assert list(splits) == ["holdout"] and len(splits["holdout"]["test"]) == 30
    if dataset == "inbreast":
        assert all(len(p["test"]) == 30 for p in splits.values())  # 70/30
        assert len({tuple(p["test"]) for p in splits.values()}) == 5  # five different draws
    if dataset == "mias":
        assert sorted(c for p in splits.values() for c in p["test"]) == IDS  # each case tested once
    if dataset == "mini-ddsm":
        assert [len(splits["default"][k]) for k in ("train", "val", "test")] == [80, 10, 10]


def test_saved_splits_are_reused_never_redrawn(tmp_path):
    splits, path, sha = get_or_create_splits(tmp_path, "inbreast", IDS, PATIENTS, seed=0)
    mtime = path.stat().st_mtime_ns
    again = get_or_create_splits(tmp_path, "inbreast", IDS, PATIENTS, seed=0)
    assert again == (splits, path, sha) and path.stat().st_mtime_ns == mtime
    loaded, meta, sha2 = load_splits(path)
    assert loaded == splits and sha2 == sha and meta["group_by"] == "patient" and meta["scheme"] == SCHEMES["inbreast"]
    assert get_or_create_splits(tmp_path, "inbreast", IDS, PATIENTS, seed=5)[1] != path


def test_tampered_split_files_are_refused(tmp_path):
    _, path, _ = get_or_create_splits(tmp_path, "phantom", IDS, PATIENTS, seed=0)
    payload = json.loads(path.read_text())
    payload["splits"]["default"]["val"].append(payload["splits"]["default"]["train"][0])
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match="two parts"):
        load_splits(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="unreadable"):
        load_splits(path)


def test_bad_split_inputs():
    with pytest.raises(ConfigError, match="sum to 1"):
        draw_split(IDS, PATIENTS, {"train": 0.5}, 0)
    with pytest.raises(DataError, match="duplicate"):
        draw_split(["a", "a"], ["p", "p"], {"train": 1.0}, 0)
    with pytest.raises(ConfigError, match="official part"):
        make_dataset_splits("cbis-ddsm", IDS, PATIENTS, None)


def test_image_grouping_splits_a_patients_views_and_has_its_own_file(tmp_path):
    ids = [f"c{i}" for i in range(40)]
    patients = [f"p{i // 2}" for i in range(40)]  # two views per patient
    by_patient, path_p, _ = get_or_create_splits(tmp_path, "phantom", ids, patients, seed=0)
    by_image, path_i, _ = get_or_create_splits(tmp_path, "phantom", ids, patients, seed=0, group_by="image")
    assert path_p != path_i and "by-image" in path_i.name and json.loads(path_i.read_text())["meta"]["group_by"] == "image"

    def separated(parts):  # patients with views in two different parts
        where = {c: name for name, members in parts.items() for c in members}
        return sum(where[f"c{2 * k}"] != where[f"c{2 * k + 1}"] for k in range(20))

    assert separated(by_patient["default"]) == 0 and separated(by_image["default"]) > 0
    with pytest.raises(ConfigError, match="grouping"):
        make_dataset_splits("phantom", ids, patients, group_by="breast")

import json

import pytest

from mammorepro.data.splits import draw_split, get_or_create_split, load_split
from mammorepro.errors import ConfigError, DataError

IDS = [f"c{i:03d}" for i in range(100)]
PATIENTS = [f"p{i // 2:03d}" for i in range(100)]
FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def test_split_is_by_patient_and_complete():
    parts = draw_split(IDS, PATIENTS, FRACTIONS, seed=0)
    all_ids = sorted(c for v in parts.values() for c in v)
    assert all_ids == IDS
    owner = {c: p for c, p in zip(IDS, PATIENTS)}
    patient_part = {}
    for name, members in parts.items():
        for c in members:
            assert patient_part.setdefault(owner[c], name) == name  # a patient never straddles parts
    assert [len(parts[k]) for k in ("train", "val", "test")] == [60, 20, 20]
    assert draw_split(IDS, PATIENTS, FRACTIONS, seed=1) != parts


def test_saved_split_is_reused_never_redrawn(tmp_path):
    parts, path, sha = get_or_create_split(tmp_path, "phantom", IDS, PATIENTS, FRACTIONS, seed=0)
    mtime = path.stat().st_mtime_ns
    again, path2, sha2 = get_or_create_split(tmp_path, "phantom", IDS, PATIENTS, FRACTIONS, seed=0)
    assert (again, path2, sha2) == (parts, path, sha) and path.stat().st_mtime_ns == mtime
    loaded, meta, sha3 = load_split(path)
    assert loaded == parts and sha3 == sha and meta["group_by"] == "patient"
    other = get_or_create_split(tmp_path, "phantom", IDS, PATIENTS, FRACTIONS, seed=5)
    assert other[1] != path  # a different seed is a different file


def test_tampered_split_files_are_refused(tmp_path):
    _, path, _ = get_or_create_split(tmp_path, "phantom", IDS, PATIENTS, FRACTIONS, seed=0)
    payload = json.loads(path.read_text())
    payload["parts"]["val"].append(payload["parts"]["train"][0])
    path.write_text(json.dumps(payload))
    with pytest.raises(DataError, match="two parts"):
        load_split(path)
    path.write_text("{not json")
    with pytest.raises(DataError, match="unreadable"):
        load_split(path)


def test_bad_split_inputs():
    with pytest.raises(ConfigError, match="sum to 1"):
        draw_split(IDS, PATIENTS, {"train": 0.5}, 0)
    with pytest.raises(DataError, match="duplicate"):
        draw_split(["a", "a"], ["p", "p"], {"train": 1.0}, 0)

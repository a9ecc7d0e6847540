"""requirements.lock: complete, exact, hashed, installed; and each result folder's env.json
compared with it (the README and the environment page show every difference)."""

import json
import re
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from mammorepro.errors import ConfigError
from mammorepro.report import lock

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
KEPT_BY_OWN_TORCH = re.compile(r"^(torch|torchvision|triton|nvidia-[a-z0-9-]+|cuda-[a-z0-9-]+)$")


def _blocks(text: str) -> dict[str, list[str]]:
    """package -> its lines in a pip-compile lock (the pin and its --hash lines)."""
    blocks, current = {}, None
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            current = lock.normalize(line.split("==")[0])
            blocks[current] = [line]
        elif current and line.strip():
            blocks[current].append(line)
    return blocks


def test_every_requirement_is_pinned_exactly_with_hashes():
    pins = lock.read_lock(LOCK)
    direct = [lock.normalize(re.split(r"[=<>~!]", line)[0]) for line in (REPO / "requirements.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert direct and not [d for d in direct if d not in pins]
    for name, lines in _blocks(LOCK.read_text()).items():
        assert re.match(r"^[A-Za-z0-9._-]+==\S+ \\$", lines[0]), lines[0]
        assert any("--hash=sha256:" in line for line in lines[1:]), f"{name} has no hash"
    # the lock pins what the committed results' README promises: the registry's torch, not 2.13.0
    assert pins["torch"] != "2.13.0" and not pins["torch"].endswith("+cpu")


def test_the_installed_packages_are_the_locks():
    """The environment the tests run in is the lock (torch and its CUDA wheels may be a GPU
    machine's own under ``make install TORCH=own``: those are left out)."""
    off = {}
    for name, version in lock.read_lock(LOCK).items():
        if KEPT_BY_OWN_TORCH.match(name):
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            off[name] = (installed, version)
    assert not off, f"installed (left) differs from requirements.lock (right): {off}; run `make install`"


def test_torch_own_keeps_only_torch_and_its_cuda_wheels(tmp_path):
    """The Makefile's filter for TORCH=own drops exactly the torch blocks and leaves every other
    block whole, hashes included."""
    makefile = (REPO / "Makefile").read_text()
    pattern = re.search(r"^OWN_TORCH := (.+)$", makefile, re.M).group(1)
    out = subprocess.run(["awk", f"/^[^ #]/ {{ skip = ($0 ~ /{pattern}/) }} !skip", str(LOCK)], capture_output=True, text=True, check=True).stdout
    full, kept = _blocks(LOCK.read_text()), _blocks(out)
    dropped = set(full) - set(kept)
    assert {"torch", "torchvision", "triton"} <= dropped
    assert all(KEPT_BY_OWN_TORCH.match(name) for name in dropped), dropped
    assert all(kept[name] == full[name] for name in kept)


def _env(folder: Path, **versions) -> None:
    folder.mkdir(parents=True)
    (folder / "env.json").write_text(json.dumps({"versions": versions, "python": "3.11.7", "git": {"commit": "abcdef1234567"}}))


def test_result_folders_that_differ_from_the_lock_are_named(tmp_path):
    lock_file = tmp_path / "requirements.lock"
    lock_file.write_text("# header\ntorch==2.14.1 \\\n    --hash=sha256:00\nnumpy==2.4.6 \\\n    --hash=sha256:11\n")
    results = tmp_path / "results"
    _env(results / "p1" / "phantom" / "default", torch="2.14.1", numpy="2.4.6", mammorepro="0.1.0")
    _env(results / "p2" / "phantom" / "default", torch="2.15.0", numpy="2.4.6")
    table = lock.environment_table(results, lock_file).set_index("result folder")
    assert table.loc["p1/phantom/default", "matches the lock"]
    assert not table.loc["p2/phantom/default", "matches the lock"]
    assert table.loc["p2/phantom/default", "differs from the lock"] == "torch 2.15.0 (lock 2.14.1)"
    lines = lock.summary_lines(results, lock_file)
    assert lines[0].startswith("Environment: 1 of 2 result folders") and any("`p2/phantom/default` | torch 2.15.0 (lock 2.14.1)" in line for line in lines)


def test_a_missing_or_empty_lock_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="no lock file") as info:
        lock.read_lock(tmp_path / "requirements.lock")
    assert "\n" not in str(info.value)
    (tmp_path / "empty.lock").write_text("# nothing\n")
    with pytest.raises(ConfigError, match="pins no package"):
        lock.read_lock(tmp_path / "empty.lock")

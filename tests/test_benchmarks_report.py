"""The benchmark page's CPU-settings table reads what benchmarks/cpu_settings.py writes."""

import json
from pathlib import Path

from mammorepro.report import benchmarks

REPO = Path(__file__).resolve().parents[1]


def test_cpu_settings_table_marks_the_fastest_setting_per_model():
    result = {
        "models": {
            "m": {
                "fastest": "1 thread",
                "settings": {
                    "today's loop": {"images_per_s": 10.0, "over_today": 1.0},
                    "1 thread": {"images_per_s": 12.5, "over_today": 1.25},
                },
            }
        }
    }
    table = benchmarks.cpu_settings_table(result)
    assert table.loc[("m", "1 thread"), "fastest"] and not table.loc[("m", "today's loop"), "fastest"]
    assert table.loc[("m", "1 thread"), "x today's loop"] == 1.25


def test_committed_cpu_settings_file_has_today_loop_as_reference_and_a_fastest_setting():
    path = REPO / "benchmarks" / "results" / "cpu_settings.json"
    result = json.loads(path.read_text())
    assert result["env"]["git"]["commit"], "the file names the commit it was measured at"
    for model, m in result["models"].items():
        assert m["settings"]["today's loop"]["over_today"] == 1.0, model
        ratios = {k: v["over_today"] for k, v in m["settings"].items()}
        assert m["fastest"] == max(ratios, key=ratios.get), model
        assert all(v["images_per_s"] > 0 for v in m["settings"].values()), model


def test_p4_budget_without_its_file_says_how_to_make_it():
    from mammorepro.report import benchmarks

    assert "benchmarks/p4_budget.py" in benchmarks.p4_budget_findings(None)[0]
    assert benchmarks.budget_table(None).empty


def test_p2_budget_findings_count_the_runs_stopped_at_their_start():
    from mammorepro.report import benchmarks

    def row(setting, seed, kept_dice, kept, run):
        return {"setting": setting, "model": "U-Net", "seed": seed, "best_val_dice_lesion": max(kept_dice, 0.3), "val_dice_lesion_at_kept_epoch": kept_dice,
                "kept_epoch": kept, "epochs_run": run, "train_loss_first": 0.8, "train_loss_last": 0.3, "train_seconds": 10.0}

    result = {"rows": [row("patience 8", 0, 0.06, 1, 9), row("patience 8", 1, 0.30, 5, 13), row("no stop", 0, 0.35, 20, 24), row("no stop", 1, 0.41, 17, 24)]}
    first, second = benchmarks.p2_budget_findings(result)
    assert "0.180 (seeds 0.060 to 0.300)" in first and "9-13 epochs run" in first and "1 of 2 seeds kept epoch 2 or earlier" in first
    assert second.startswith("U-Net, no stop") and "0 of 2 seeds" in second
    table = benchmarks.budget_table(result)
    assert table.index.names == ["setting", "model", "seed"] and table.loc[("patience 8", "U-Net", 0), "kept epoch"] == 1
    assert "benchmarks/p2_budget.py" in benchmarks.p2_budget_findings(None)[0]


def test_a_budget_probe_trains_each_setting_under_a_scratch_root_and_keeps_one_row_per_run():
    import sys
    from types import SimpleNamespace

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _probe import probe

    def run(variant, seed, kept, dice):
        history = SimpleNamespace(rows=[{"epoch": e + 1, "train_loss": 1.0 / (e + 1), "val_dice_lesion": d} for e, d in enumerate(dice)], best_epoch=kept)
        return SimpleNamespace(variant=variant, seed=seed, history=history, train_seconds=2.0)

    roots = []

    def train(change, results_root):
        roots.append(results_root)
        return {"lr": change["lr"]}, SimpleNamespace(runs=[run("U-Net", 0, 0, [0.1, 0.3]), run("U-Net", 1, 1, [0.2, 0.4])])

    rows = probe({"slow": {"lr": 0.01}, "fast": {"lr": 0.1}}, train, ("lr",))
    assert [(r["setting"], r["seed"], r["lr"]) for r in rows] == [("slow", 0, 0.01), ("slow", 1, 0.01), ("fast", 0, 0.1), ("fast", 1, 0.1)]
    first = rows[0]
    assert first["best_val_dice_lesion"] == 0.3 and first["epoch_of_best_val_dice_lesion"] == 2 and first["val_dice_lesion_at_kept_epoch"] == 0.1 and first["kept_epoch"] == 1
    assert first["train_loss_first"] == 1.0 and first["train_loss_last"] == 0.5 and first["epochs_run"] == 2
    assert len(set(roots)) == 1 and not Path(roots[0]).parent.exists()  # one scratch root, removed afterwards

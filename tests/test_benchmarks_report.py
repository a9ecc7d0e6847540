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
    assert benchmarks.p4_budget_table(None).empty

"""Claims vs reproduced: the verdict rule branch by branch, the readers on the committed result
folders, the page's smoke run, and the README's generated results section."""

import shutil

import pytest

from conftest import REPO
from mammorepro.errors import ConfigError
from mammorepro import chapters
from mammorepro.papers import p1, p2, p5
from mammorepro.report import claims, readme


def _claim(**kw):
    base = dict(paper="p9", claim="x", paper_data="cbis-ddsm", reported=0.9, definition="d", reproduced=0.5, dataset="cbis-ddsm")
    return claims.Claim(**{**base, **kw})


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"trivial": 0.895}, "explained by metric definition"),  # within REACH below the reported value
        ({"trivial": 0.88, "higher_is_better": True}, "reproduced"),  # falls through: no CI, but...
        ({"leak": 0.93, "leak_ci_low": 0.02}, "explained by split leakage"),
        ({"leak": 0.93, "leak_ci_low": -0.01}, "not reproduced"),  # a leak that is not measurable explains nothing
        ({"paper_data": "private"}, "cannot be tested here"),
        ({"paper_data": "private", "trivial": 0.95}, "cannot be tested here"),  # no metric-definition verdict about private data
        ({"dataset": "inbreast", "trivial": 0.95}, "cannot be tested here"),  # nor about another dataset than the paper's
        ({"dataset": "phantom"}, "mechanism shown on the phantom"),
        ({"dataset": "phantom", "trivial": 0.95}, "mechanism shown on the phantom"),  # the phantom never judges a paper
        ({"learned": False, "trivial": 0.95, "ci_low": 0.85, "ci_high": 0.95, "ci_of": "reproduced"}, "not testable at this budget"),
        ({"learned": True, "ci_low": 0.85, "ci_high": 0.95, "ci_of": "reproduced"}, "reproduced"),
        ({"ci_low": 0.85, "ci_high": 0.95, "ci_of": "reproduced"}, "reproduced"),
        ({"ci_low": 0.40, "ci_high": 0.60, "ci_of": "reproduced"}, "not reproduced"),
        ({"ci_low": 0.85, "ci_high": 0.95, "ci_of": "strict"}, "not reproduced"),  # a strict CI does not test the paper's number
        ({"trivial": 0.95, "higher_is_better": False}, "not reproduced"),  # rule 1 only where higher is better
    ],
)
def test_verdict_rule(kw, expected):
    if expected == "reproduced" and "ci_low" not in kw:
        kw = {**kw, "reproduced": 0.895}
    assert claims.verdict(_claim(**kw))[0] == expected


def test_committed_results_give_every_reported_number_a_computed_verdict():
    frame = claims.claims_frame(claims.collect(REPO / "results"))
    default = frame[frame["profile"] == "default"]
    assert set(default["paper"]) == {c.writes for c in chapters.papers()}
    assert set(default["verdict"]) <= set(claims.VERDICTS)
    reported = set(default["reported"].round(4))
    assert {round(r["reported"], 4) for r in p1.REPORTED + p2.REPORTED} <= reported
    assert {p5.REPORTED["iou"], p5.REPORTED["f1"]} <= reported
    assert (default["result_dir"].str.startswith("results/")).all() and (default["commit"].str.len() == 10).all()
    phantom = default[default["dataset"] == "phantom"]
    assert (phantom["verdict"] == "mechanism shown on the phantom").all()  # the phantom decides no verdict about a paper


def test_no_verdict_rests_on_a_degenerate_run():
    """Over every committed result folder: a claim whose method learned nothing (or equals a
    trivial prediction) is never judged reproduced, not reproduced or explained."""
    frame = claims.claims_frame(claims.collect(REPO / "results"))
    judged = frame[frame["verdict"].isin(["reproduced", "not reproduced", "explained by metric definition", "explained by split leakage"])]
    assert not (judged["learned"] == False).any()  # noqa: E712 - None means "not a segmentation claim"
    assert (frame[frame["learned"] == False]["verdict"].isin(["mechanism shown on the phantom", "not testable at this budget"])).all()  # noqa: E712


def test_the_degeneracy_gate_on_hand_made_predictions(tmp_path):
    """A method that predicts nothing, one that predicts everything and one that segments, on
    hand-made per-case counts: only the last passes the gate."""
    import pandas as pd

    from mammorepro.report.learned import learned_table

    rows = []
    for i in range(20):
        lesion = i % 4 != 0
        mass = 100 if lesion else 0
        for method, (tp, fp) in {"nothing": (0, 0), "everything": (mass, 10_000 - mass), "segments": (int(0.7 * mass), 20 if lesion else 0)}.items():
            fn, tn = mass - tp, 10_000 - mass - fp
            dice = 1.0 if not lesion and tp + fp == 0 else (2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 1.0)
            rows.append({"case_id": f"c{i}", "method": method, "seed": 0, "rule": "p >= 0.5", "tp": tp, "fp": fp, "fn": fn, "tn": tn, "has_lesion": lesion, "dice": dice})
    pd.DataFrame(rows).to_csv(tmp_path / "per_case.csv", index=False)
    t = learned_table(tmp_path).set_index("method")
    assert t.loc["nothing", "degenerate"] == "all-background" and t.loc["nothing", "reading"].startswith("no better")
    assert t.loc["everything", "degenerate"] == "all-foreground"
    assert t.loc["segments", "degenerate"] == "" and t.loc["segments", "reading"] == "beats all-background"
    c = claims.with_learned(_claim(), t.reset_index(), "everything")
    assert c.learned is False and "all-foreground" in c.learned_note and claims.verdict(c)[0] == "not testable at this budget"
    assert claims.with_learned(_claim(), t.reset_index(), "segments").learned is True


@pytest.mark.notebook
def test_claims_page_smoke_reads_every_chapter(smoke_book):
    import nbformat

    nb = nbformat.read(smoke_book["executed"]["claims"], as_version=4)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for c in nb.cells for o in c.get("outputs", []))
    assert "result folders read" in text
    frame = claims.claims_frame(claims.collect(smoke_book["results"]))
    assert set(frame["paper"]) == {c.writes for c in chapters.papers()} and (frame["profile"] == "smoke").all()


def test_readme_results_section_is_current():
    assert readme.update(REPO / "README.md", REPO / "results", check=True), "run `python -m mammorepro readme` and commit README.md"


def test_readme_section_is_rewritten_and_markers_are_required(tmp_path):
    path = tmp_path / "README.md"
    shutil.copy(REPO / "README.md", path)
    text = path.read_text()
    head, rest = text.split(readme.BEGIN, 1)
    path.write_text(head + readme.BEGIN + "\nstale\n" + readme.END + rest.split(readme.END, 1)[1])
    assert not readme.update(path, REPO / "results", check=True)
    assert not readme.update(path, REPO / "results")
    assert readme.update(path, REPO / "results", check=True) and path.read_text() == text
    path.write_text("# no markers\n")
    with pytest.raises(ConfigError, match="no generated results block"):
        readme.update(path, REPO / "results")


def test_a_difference_made_on_images_without_a_lesion_is_shown_as_such(tmp_path):
    """Two hand-made methods that segment every mass alike and differ only in specks on the
    images without one: the claim's gain lies wholly on those images, none on the lesion images."""
    import pandas as pd

    folder = tmp_path / "results" / "p1" / "cdd-cesm" / "real"
    folder.mkdir(parents=True)
    rows = []
    for seed in (0, 1, 2):
        for i in range(40):
            lesion = i % 2 == 0
            for method in ("clean", "specks"):
                dice = 0.6 + 0.01 * (i % 5) if lesion else (1.0 if method == "clean" or i % 4 == 1 else 0.0)
                rows.append({"case_id": f"c{i}", "method": method, "seed": seed, "rule": "p >= 0.5", "has_lesion": lesion, "dice": dice})
    pd.DataFrame(rows).to_csv(folder / "per_case.csv", index=False)
    [c] = claims.comparison_claims(folder, "p1", [{"claim": "clean beats specks", "better": "clean", "than": "specks", "where": "here"}], pd.DataFrame(columns=["method"]), "cbis-ddsm")
    c.dataset, c.result_dir = "cdd-cesm", str(folder)
    assert claims.verdict(c)[0] == "holds on the run's data" and (c.better, c.than, c.metric) == ("clean", "specks", "dice")
    row = claims.lesion_breakdown([c], tmp_path / "results").iloc[0]
    assert row["images with a lesion"].startswith("+0.000") and "(n=20)" in row["images with a lesion"]
    assert row["images without one"].startswith("+0.500") and "(n=20)" in row["images without one"]
    c.dataset = "phantom"  # the phantom decides nothing: no row
    assert claims.lesion_breakdown([c], tmp_path / "results").empty

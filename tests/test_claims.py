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
        ({"dataset": "phantom"}, "cannot be tested here"),
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
    p5_iou = default[(default["paper"] == "p5") & default["claim"].str.contains("IoU")].iloc[0]
    assert p5_iou["verdict"] == "explained by metric definition" and p5_iou["trivial"] >= 0.946


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

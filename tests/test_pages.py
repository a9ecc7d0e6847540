"""No result, setting or verdict in the book is typed by hand: the reproducibility reports are
rendered from templates, profiles and result files (and must be current), and every number a
hand-written text states (templates, notebook markdown, the book's static pages) comes from the
chapter's profiles, spec, settings or declared quotations of the paper."""

import nbformat
import pytest

from conftest import REPO
from mammorepro import chapters
from mammorepro.errors import ConfigError
from mammorepro.papers import p5
from mammorepro.report import pages


def test_reproducibility_pages_are_current():
    stale = chapters.build_pages(REPO, check=True)
    assert not stale, f"run `python -m mammorepro pages` and commit: {[str(p.relative_to(REPO)) for p in stale]}"


def _markdown(notebook: str) -> str:
    nb = nbformat.read(REPO / "notebooks" / f"{notebook}.ipynb", as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("chapter", chapters.CHAPTERS, ids=lambda c: c.notebook)
def test_no_hand_typed_number_in_a_chapter(chapter):
    allowed = pages.numbers_of(chapters.stated_number_sources(chapter))
    texts = {f"notebooks/{chapter.notebook}.ipynb": _markdown(chapter.notebook)}
    template = REPO / chapters.TEMPLATES / f"{chapter.writes}.md"
    if chapter.writes and chapter.has_claims:
        texts[str(template.relative_to(REPO))] = template.read_text()
    for where, text in texts.items():
        found = pages.hand_typed_numbers(text, allowed)
        assert not found, f"{where} states numbers its profiles, spec or QUOTED do not give:\n" + "\n".join(found)


def test_no_hand_typed_number_in_the_static_pages():
    allowed = pages.numbers_of([s for c in chapters.CHAPTERS for s in chapters.stated_number_sources(c)])
    for page in ("book/intro.md", "book/reproducibility/index.md", "book/adding_a_paper.md"):
        found = pages.hand_typed_numbers((REPO / page).read_text(), allowed)
        assert not found, f"{page}:\n" + "\n".join(found)


def test_the_check_catches_a_stale_setting_and_skips_references():
    allowed = pages.numbers_of([p5.PROFILES, p5.REPORTED])
    stale = "The default profile runs at 128 x 128 for 10.5 epochs (Table 1, sec. 2.3, Figs. 4-5, eq. 1; 2021)."
    assert [f.split(" in ")[0] for f in pages.hand_typed_numbers(stale, allowed)] == ["'128'", "'128'", "'10.5'"]
    size = p5.PROFILES["default"]["image_size"]
    fine = f"The default profile runs at {size} x {size}; the paper reports mean IoU {p5.REPORTED['iou']} ({100 * p5.REPORTED['f1']:.1f} % F1). `-p epochs 77`"
    assert pages.hand_typed_numbers(fine, allowed) == []
    assert pages.numbers_of([[0.7, 0.8], [(0.9, 0.1), (0.7, 0.3)]]) >= {0.75, 0.8, 0.2}  # per-split means are quotable


def test_a_template_with_an_unknown_name_fails_in_one_line(tmp_path):
    t = tmp_path / "t.md"
    t.write_text("value {{ missing.field }}\n")
    with pytest.raises(ConfigError, match="missing"):
        pages.render(t, {})
    t.write_text("value {{ x | pct }}, {{ y | f(2) }}\n")
    assert pages.render(t, {"x": 0.5, "y": 1 / 3}).endswith("value 50.00 %, 0.33\n")


def test_the_provenance_box_links_served_folders_only(tmp_path):
    import json

    folder = tmp_path / "results" / "p2" / "phantom" / "smoke"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"dataset": "phantom", "profile": "smoke", "seeds": [0, 1]}))
    outside = pages.provenance_html(folder, "p2_multires_unet")
    assert "<a href" not in outside and "<code>metrics.json</code>" in outside and "seeds</th><td>0, 1" in outside
    served = pages.provenance_html(REPO / "results" / "p2" / "phantom" / "default", "p2_multires_unet")
    assert 'href="../../result-files/p2/phantom/default/metrics.json"' in served
    assert "python -m mammorepro run p2_multires_unet --profile default -p dataset phantom" in served

"""The one registry of the book's chapters: which notebook, which library module owns its
profiles and steps, what the page is called and where its results go.

A chapter that trains (``writes`` is set) stores ``results/<writes>/<dataset>/<profile>/``; a
paper chapter's module also holds its spec (``REPORTED``: the paper's numbers with table and
section) and ``claims(run_dir)``, which turns a result folder into claim records (its run writes
them to claims.json). Pages that only read result folders (``writes`` None) run after the others.
Adding a paper is one :class:`Chapter` line here, its module, its notebook and a ``_toc.yml``
entry (the book's "adding a paper" page; ``tests/test_chapter_contract.py`` checks each one).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from mammorepro.errors import ConfigError


@dataclass(frozen=True)
class Chapter:
    notebook: str  # notebooks/<notebook>.py / .ipynb and book/executed/<notebook>.ipynb
    module: str  # the library module with PROFILES, configure(), PAPER (and REPORTED, claims())
    title: str
    writes: str | None = None  # results/<writes>/...; None: the page reads others' results
    spans_papers: bool = False  # the page runs or quotes every paper's methods (its numbers may be any paper's)

    def load(self):
        return importlib.import_module(self.module)

    @property
    def has_claims(self) -> bool:
        return callable(getattr(self.load(), "claims", None))


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("00_tour", "mammorepro.tour", "Tour: data, preprocessing, baseline, metrics", "tour"),
    Chapter("01_data", "mammorepro.data_tour", "Data: five real formats and the integrity check", "data"),
    Chapter("p1_ds_unet_crf", "mammorepro.papers.p1", "p1: DS U-Net + Dense CRF", "p1"),
    Chapter("p2_multires_unet", "mammorepro.papers.p2", "p2: MultiRes U-Net vs U-Net", "p2"),
    Chapter("p3_two_stage_msf", "mammorepro.papers.p3", "p3: two-stage YOLOv3 + MSF + v19U-Net++", "p3"),
    Chapter("p4_model_comparison", "mammorepro.papers.p4", "p4: FCN, U-Net, Dilation10, DeepLabv3 compared", "p4"),
    Chapter("p5_efficientnet_unet", "mammorepro.papers.p5", "p5: EfficientNet-B3 U-Net and the audit of its 0.956", "p5"),
    Chapter("side_by_side", "mammorepro.papers.side_by_side", "All five methods on one shared protocol", "side_by_side", spans_papers=True),
    Chapter("real_data_mias", "mammorepro.papers.real_data", "Real data: mini-MIAS beside the phantom"),
    Chapter("claims", "mammorepro.report.claims", "Claims vs reproduced, with verdicts"),
    Chapter("benchmarks", "mammorepro.report.benchmarks", "Speed: engine vs bare loop, precision, GPU dense CRF"),
    Chapter("environment", "mammorepro.report.lock", "Environment: the lock and each result folder's versions"),
)
BY_NOTEBOOK = {c.notebook: c for c in CHAPTERS}


def papers() -> list[Chapter]:
    """The chapters whose module states a paper's claims (``REPORTED`` and ``claims()``)."""
    return [c for c in CHAPTERS if c.writes and c.has_claims]


def refresh_claims(results_root: str | Path = "results", check: bool = False) -> list[Path]:
    """Recompute every result folder's claims.json from its other files with its chapter's
    ``claims()``; with ``check``, write nothing and return the folders whose claims.json is
    missing or differs (a claims() changed since the run, or a file was edited by hand)."""
    import json
    from dataclasses import asdict

    from mammorepro.files import jsonable
    from mammorepro.report.claims import CLAIMS_FILE, write_claims
    from mammorepro.report.results import run_folders

    out = []
    for chapter in papers():
        for folder in run_folders(results_root, chapter.writes):
            try:
                records = chapter.load().claims(folder)
            except (KeyError, TypeError) as exc:
                raise ConfigError(
                    f"{folder}: its metrics.json predates this version's claim records (no {exc}): rerun it with "
                    f"`python -m mammorepro run {chapter.notebook} -p dataset ... --overwrite`"
                ) from None
            path = folder / CLAIMS_FILE
            if check:
                current = json.loads(path.read_text()) if path.is_file() else None
                if current != jsonable([asdict(c) for c in records]):
                    out.append(folder)
            else:
                write_claims(folder, records)
                out.append(folder)
    return out


TEMPLATES = Path("book") / "templates" / "reproducibility"  # one Jinja template per paper: <writes>.md
PAGES = Path("book") / "reproducibility"


def build_pages(repo: str | Path, results_root: str | Path | None = None, check: bool = False) -> list[Path]:
    """Render every paper's reproducibility report from its template, its profiles, its spec and
    its result folders (:func:`mammorepro.report.pages.render`); with ``check``, write nothing and
    return the pages that are stale. The template sees ``chapter`` (the module: REPORTED and its
    functions), ``default`` and ``full`` (the profiles), ``settings`` (both as a table),
    ``deviations`` (:mod:`mammorepro.papers.deviations`) and ``results``
    (:func:`~mammorepro.report.pages.results_section`)."""
    from mammorepro.config import profile_table
    from mammorepro.papers import deviations
    from mammorepro.report.pages import markdown_table, render, results_section, write_pages

    repo = Path(repo)
    results_root = Path(results_root) if results_root else repo / "results"
    pages = {}
    for chapter in papers():
        template = TEMPLATES / f"{chapter.writes}.md"
        if not (repo / template).is_file():
            raise ConfigError(f"{template} is missing: every paper chapter has a reproducibility report template")
        module = chapter.load()
        profiles = {name: module.PROFILES[name] for name in ("default", "full")}
        context = {
            "chapter": module,
            **profiles,
            "settings": markdown_table(profile_table(profiles).reset_index()),
            "deviations": markdown_table(deviations.frame(chapter.writes).reset_index()),
            "results": results_section(results_root, chapter.writes, chapter.notebook),
        }
        text = render(repo / template, context).replace(str(repo / template), template.as_posix())
        pages[repo / PAGES / f"{chapter.writes}.md"] = text
    return write_pages(pages, check)


# conventions every page may state: the CI level, the probability threshold, the claims rule's REACH
CONVENTIONS = (95, 0.95, 0.5, 0.01)


def stated_number_sources(chapter: Chapter) -> list:
    """What a chapter's pages may state a number from: its profiles, its spec (REPORTED), its
    other settings (SETTINGS), the paper numbers it quotes with their place (QUOTED), the split
    schemes, the phantom's and the augmentation's settings and :data:`CONVENTIONS`. A page
    that reads other chapters' results (``writes`` None) or spans the papers may state any
    chapter's."""
    import inspect

    from mammorepro.data import SCHEMES, PhantomConfig
    from mammorepro.preprocess.augment import build_augmentation

    augment = {k: p.default for k, p in inspect.signature(build_augmentation).parameters.items() if p.default is not inspect.Parameter.empty}
    sources = [CONVENTIONS, SCHEMES, PhantomConfig().to_dict(), augment]
    for c in CHAPTERS if chapter.writes is None or chapter.spans_papers else [chapter]:
        m = c.load()
        sources += [m.PROFILES, getattr(m, "REPORTED", {}), getattr(m, "SETTINGS", {}), list(getattr(m, "QUOTED", {}))]
    return sources

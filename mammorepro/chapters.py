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

    def load(self):
        return importlib.import_module(self.module)

    @property
    def has_claims(self) -> bool:
        return callable(getattr(self.load(), "claims", None))


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("00_tour", "mammorepro.tour", "Tour: data, preprocessing, baseline, metrics", "tour"),
    Chapter("01_data", "mammorepro.data_tour", "Data: four real formats and the integrity check", "data"),
    Chapter("p1_ds_unet_crf", "mammorepro.papers.p1", "p1: DS U-Net + Dense CRF", "p1"),
    Chapter("p2_multires_unet", "mammorepro.papers.p2", "p2: MultiRes U-Net vs U-Net", "p2"),
    Chapter("p3_two_stage_msf", "mammorepro.papers.p3", "p3: two-stage YOLOv3 + MSF + v19U-Net++", "p3"),
    Chapter("p4_model_comparison", "mammorepro.papers.p4", "p4: FCN, U-Net, Dilation10, DeepLabv3 compared", "p4"),
    Chapter("p5_efficientnet_unet", "mammorepro.papers.p5", "p5: EfficientNet-B3 U-Net and the audit of its 0.956", "p5"),
    Chapter("side_by_side", "mammorepro.papers.side_by_side", "All five methods on one shared protocol", "side_by_side"),
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
                from dataclasses import asdict

                current = json.loads(path.read_text()) if path.is_file() else None
                if current != jsonable([asdict(c) for c in records]):
                    out.append(folder)
            else:
                write_claims(folder, records)
                out.append(folder)
    return out

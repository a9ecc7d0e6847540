# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Data: five real formats, one interface, and the integrity report
#
# Every chapter can run on a reader's own copy of CBIS-DDSM, INbreast, Mini-DDSM, mini-MIAS or
# CDD-CESM (its low-energy images). This chapter shows what each loader reads and what the
# integrity check reports. The phantom writes itself in each of the five official layouts, and the same loaders read it back; the
# real-format samples shipped with the tests are shown beside it.
#
# | claim | how it is checked |
# |---|---|
# | each loader reads its dataset's official layout | the phantom-written trees are read back: one case each, mask overlaid |
# | the check names every defect in one line | the integrity reports below (the real samples are partial copies: every absent file is listed) |
# | mini-MIAS masks are coarse | its masks are circles, said in the title |
#
# Check your own copy: `python -m mammorepro data check cbis-ddsm --root /path/to/CBIS-DDSM`.

# %% tags=["parameters"]
profile = "default"  # smoke | default | full
seed = 0
n_cases = None  # phantom cases per layout; None: take the value of the profile
phantom_height = None
deep_check = None  # read every image and mask (True) or check the index only (False)
real_samples_dir = "tests/fixtures"
results_root = "results"
overwrite = False  # replace a result folder made with other parameters (same chapter, dataset, profile)

# %%
# %matplotlib inline
import tempfile

from mammorepro.report.pages import provenance
from mammorepro import data_tour

cfg = data_tour.configure(
    profile, seed=seed, n_cases=n_cases, phantom_height=phantom_height, deep_check=deep_check, results_root=results_root, overwrite=overwrite
)
workdir = tempfile.TemporaryDirectory(prefix="mammorepro-layouts-")
roots = data_tour.write_layouts(cfg, workdir.name)
phantom_reports = data_tour.reports(roots, deep=cfg["deep_check"])

# %% [markdown]
# ## One case of each format, written by the phantom and read back by the loaders
# Mass outlines in red, other lesions (calcifications) in yellow.

# %%
fig_layouts = data_tour.plot_first_cases(phantom_reports, " (phantom)")

# %%
data_tour.summary_table(phantom_reports)

# %% [markdown]
# ## The real-format samples
# mini-MIAS (three images with the full `Info.txt`), one Mini-DDSM image with the full metadata
# sheet, the four CBIS-DDSM CSV descriptors (no DICOM: the images are too large to ship), a
# hand-made INbreast case and two CDD-CESM low-energy images with their filled masks (a
# redistributed copy resized to 512 x 512; every outlined finding is in the mask, and the
# official Findings say which images hold a mass). The samples are partial copies, so the check lists every file the
# metadata names that is absent: this is what a user sees for an incomplete download.

# %%
real_reports = data_tour.reports(data_tour.fixture_roots(real_samples_dir), deep=cfg["deep_check"])
fig_real = data_tour.plot_first_cases(real_reports, " (format sample)")

# %%
data_tour.summary_table(real_reports)

# %%
print(data_tour.problem_lines(real_reports, most=4))

# %% [markdown]
# ## How large are the masses?
# Median fraction of the image covered by masses on images that have one: this is why pixel
# accuracy says little about mass segmentation (see the tour).

# %%
data_tour.mask_fractions({"phantom": phantom_reports, "real": real_reports})

# %%
out = data_tour.record(
    cfg,
    {"phantom": phantom_reports, "real": real_reports},
    figures={"phantom_layouts": fig_layouts, "real_samples": fig_real},
)
workdir.cleanup()
provenance(out, "01_data")

# %% [markdown]
# ## Deviations and limits
# - INbreast cannot be shipped (its terms need a signed agreement): its sample is hand-made in
#   the documented format, and its loader is otherwise tested on phantom-written trees.
# - CBIS-DDSM images are not shipped (each is tens of MB): its loader is tested on the real CSVs
#   and on phantom-written DICOM trees in both download-tool namings.
# - mini-MIAS gives each lesion as a circle: masks built from it are coarse, and every result on
#   mini-MIAS says so.

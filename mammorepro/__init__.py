"""mammorepro: a reproducible replication book of mammogram mass-segmentation papers.

Sub-packages, one per role: ``data`` (phantom and dataset loaders, splits), ``preprocess``,
``models`` (one registry), ``losses``, ``metrics`` (every definition named once), ``engine``
(fit / evaluate / predict), ``report`` (result files with provenance), ``papers`` (one module
per replicated paper). Importing the package has no side effects.
"""

__version__ = "0.1.0"

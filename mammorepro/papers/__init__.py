"""One module per paper chapter (its profiles, reported numbers and pipeline), over the shared
steps of :mod:`mammorepro.papers.common`."""

"""User-facing errors: each carries one line that says what is wrong and how to fix it.

The CLI prints ``str(error)`` alone (no traceback) for these; anything else is a bug and keeps
its traceback.
"""


class MammoreproError(Exception):
    """Base class: bad input from the user, explained in one line."""


class ConfigError(MammoreproError, ValueError):
    """An unknown parameter name or an out-of-range value."""


class DataError(MammoreproError):
    """A data root that is missing, unreadable or not in the expected layout."""


class WeightsError(MammoreproError):
    """Pretrained weights that are not available locally (nothing is downloaded at run time)."""

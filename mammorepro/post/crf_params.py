"""The dense CRF's settings (p1 sec. II.1), shared by both backends: :mod:`mammorepro.post.crf`
(pydensecrf2) and :mod:`mammorepro.post.crf_torch` (torch), so neither imports the other's module
for them. The defaults and where they come from are in :mod:`mammorepro.post.crf`."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mammorepro.errors import ConfigError


@dataclass(frozen=True)
class CRFParams:
    iterations: int = 5
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 1.0
    bilateral_sxy: float = 7.0
    bilateral_schan: float = 0.255  # intensity std in 0..255 grey levels (0.001 on [0, 1])
    bilateral_compat: float = 1.0
    prob_shift: float = 0.0  # added to the foreground probability before the unary (the released code: 0.1)

    def __post_init__(self) -> None:
        ok = (
            isinstance(self.iterations, int)
            and self.iterations >= 1
            and min(self.gaussian_sxy, self.bilateral_sxy, self.bilateral_schan) > 0
            and min(self.gaussian_compat, self.bilateral_compat) >= 0
            and -1 < self.prob_shift < 1
        )
        if not ok:
            raise ConfigError(
                f"CRF parameters {asdict(self)}: iterations must be an integer >= 1, the stds > 0, "
                f"the compatibilities >= 0 and prob_shift in (-1, 1)"
            )

    def to_dict(self) -> dict:
        return asdict(self)

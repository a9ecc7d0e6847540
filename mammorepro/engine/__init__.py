"""Training engine: fit / predict / evaluate (:mod:`mammorepro.engine.training`)."""

from mammorepro.engine.training import (
    ArraySegmentationDataset,
    History,
    TrainConfig,
    evaluate,
    fit,
    main_output,
    predict,
    resolve_device,
    score_predictions,
    seed_everything,
)

__all__ = [
    "ArraySegmentationDataset",
    "History",
    "TrainConfig",
    "evaluate",
    "fit",
    "main_output",
    "predict",
    "resolve_device",
    "score_predictions",
    "seed_everything",
]

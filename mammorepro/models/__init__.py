"""Models: one registry keyed by name (:mod:`mammorepro.models.registry`)."""

from mammorepro.models.registry import (
    check_input_size,
    count_parameters,
    create_model,
    get_spec,
    list_models,
    register,
)
from mammorepro.models.unet import UNet

__all__ = ["UNet", "check_input_size", "count_parameters", "create_model", "get_spec", "list_models", "register"]

"""openEO entry points of the fractions UDF (udf/cotmask_fractions_udf.py), run in ``apply_dimension(bands)``."""

import xarray as xr

from .fractions import FRACTIONS, class_fractions  # udf_build: drop

#: Context key -> (default, meaning): none.
CONTEXT: dict = {}


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """Bands cloudy_fraction, opaque_fraction, shadow_fraction, valid_fraction from band cloud_class."""
    if context:
        raise ValueError(f"the fractions UDF takes no context keys, got {sorted(context)}")
    return class_fractions(cube)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band labels."""
    return metadata.rename_labels(dimension="bands", target=[*FRACTIONS, "valid_fraction"])

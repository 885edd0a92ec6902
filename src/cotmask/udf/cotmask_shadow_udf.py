"""openEO entry points of the shadow UDF (udf/cotmask_shadow_udf.py), run with ``apply_neighborhood``."""

import xarray as xr

from .shadow import shadow_cube  # udf_build: drop


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """openEO entry point: band ``shadow`` (1 shadow, 0 not, NaN nodata) for a cube with bands B03, B08, B11,
    cloud_class and optionally the sun/view angle bands (context keys: the header)."""
    return shadow_cube(cube, context)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band label."""
    return metadata.rename_labels(dimension="bands", target=["shadow"])

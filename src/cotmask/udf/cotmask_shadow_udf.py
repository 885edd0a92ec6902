"""openEO entry points of the shadow UDF (udf/cotmask_shadow_udf.py), run with ``apply_neighborhood``."""

import xarray as xr

from .shadow import shadow_cube  # udf_build: drop


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """openEO entry point: the cube with band ``shadow`` appended (1 shadow, 0 not, NaN nodata), or with context fold 1
    its shadowed clear and thin pixels of cloud_class set to 3; needs bands B03, B08, B11, cloud_class and
    optionally the sun/view angle bands (context keys: the header)."""
    return shadow_cube(cube, context)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band labels (band ``shadow`` appended unless context fold is 1)."""
    if (context or {}).get("fold"):
        return metadata
    return metadata.rename_labels(dimension="bands", target=[*metadata.band_names, "shadow"])

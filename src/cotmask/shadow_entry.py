"""openEO entry points of the shadow UDF; ``cotmask.udf_build`` appends this after ``core.py`` and ``shadow.py``."""

import xarray

from .shadow import shadow_cube  # udf_build: drop


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    """openEO entry point (``apply_neighborhood``): band ``shadow`` (1 shadow, 0 not, NaN nodata) for a cube
    with bands B03, B08, B11, cloud_class and optionally the sun/view angle bands. Context: scale, offset,
    nodata (as for cotmask), sun_azimuth/sun_zenith (degrees; default: the angle bands, else estimated
    from the scene), darkness, cloud_class, min/max_height, resolution (default: from the x coordinates)."""
    return shadow_cube(cube, context)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band label."""
    return metadata.rename_labels(dimension="bands", target=["shadow"])

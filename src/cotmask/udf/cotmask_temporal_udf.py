"""openEO entry points of the temporal test UDF (udf/cotmask_temporal_udf.py), run with ``apply_neighborhood`` and no
``t`` size: each call gets a window's whole series."""

import xarray as xr

from .temporal import temporal_cube  # udf_build: drop


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """openEO entry point: the cube (t, bands with B02, B04, cloud_class; B11, B10 where present) with cloud_class
    after the temporal test; all other bands passed through."""
    return temporal_cube(cube, context)


def apply_metadata(metadata, context: dict):
    """openEO entry point: the band labels stay as they are."""
    return metadata

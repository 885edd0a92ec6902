"""Class membership per pixel (e.g. SCL or ESA WorldCover codes in a list), for the process graphs.

The geotrellis backends resolve UDP parameters in a UDF's context but not inside other callbacks,
and their callback builder has no ``array_contains``; so "is this pixel's class in the list the
user passed" runs as this small UDF (numpy + xarray only; inlined into udf/cotmask_classes_udf.py).
"""

import numpy as np
import xarray as xr


def in_classes(
    cube: xr.DataArray, classes: list, invert: bool = False, label: str = "hit", bdim: str = "bands"
) -> xr.DataArray:
    """1.0 where the single band of ``cube`` holds one of ``classes`` (0.0 elsewhere; with ``invert``
    the reverse). Nodata (NaN) is never a hit, also with ``invert``. Output: one band ``label``."""
    if bdim not in cube.dims or cube.sizes[bdim] != 1:
        raise ValueError(f"class test needs a cube with exactly one band, got dims {dict(cube.sizes)}")
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, (int, float)) for c in classes):
        raise ValueError(f"classes must be a list of class codes (numbers), got {classes!r}")
    values = np.asarray(cube.values)
    hit = np.isin(values, np.asarray(classes, dtype=float))
    if invert:
        hit = ~hit & np.isfinite(values)
    out = cube.copy(data=hit.astype(np.float32))
    return out.assign_coords({bdim: [label]})

"""Scene-screening indicators per pixel from cotmask's class codes, whose polygon means are the fractions.

numpy + xarray only; inlined into udf/cotmask_fractions_udf.py, which the scene screening runs in
``apply_dimension(bands)``: one UDF turns the single class band into all indicators, so the cloud mask upstream is
read once (a chain, not four consumers).
"""

import numpy as np
import xarray as xr

from ..core.bands import SHADOW_CLASS  # udf_build: drop

#: Per-pixel indicators of the scene screening (cloud_class codes -> band): their polygon means are the fractions.
#: Disjoint: cloudy (thin or opaque) and shadow (clear ground in cloud shadow) add up to what a screening user loses.
FRACTIONS = {"cloudy_fraction": (1, 2), "opaque_fraction": (2,), "shadow_fraction": (SHADOW_CLASS,)}


def class_fractions(cube: xr.DataArray, bdim: str = "bands") -> xr.DataArray:
    """From band ``cloud_class`` (0 clear, 1 thin, 2 opaque, 3 cloud shadow on clear ground, NaN nodata): bands
    ``FRACTIONS`` (1 where the code is in the group, 0 where not, NaN on nodata: polygon means are shares of the valid
    pixels) and ``valid_fraction`` (1 valid, 0 nodata: its mean is the share of pixels with data)."""
    if "cloud_class" not in [str(b) for b in cube[bdim].values]:
        raise ValueError(f"fractions need band cloud_class, got {list(cube[bdim].values)}")
    cls = cube.sel({bdim: "cloud_class"})
    valid = np.isfinite(cls.values)
    bands = [np.where(valid, np.isin(cls.values, codes), np.nan) for codes in FRACTIONS.values()]
    data = np.stack([*bands, valid], axis=cube.dims.index(bdim)).astype(np.float32)
    labels = [*FRACTIONS, "valid_fraction"]
    coords = {k: v for k, v in cls.coords.items() if k != bdim}
    return xr.DataArray(data, dims=cube.dims, coords={**coords, bdim: labels})

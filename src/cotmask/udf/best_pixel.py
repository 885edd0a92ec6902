"""Best-pixel compositing: per period and pixel, every band from the best date (lowest class, then lowest COT).

numpy + xarray only: ``cotmask.udf.build`` inlines this module into ``udf/cotmask_best_pixel_udf.py``,
which runs in ``apply_dimension(dimension="t")`` on a cube holding the spectral bands plus ``cot``.
"""

import numpy as np
import xarray as xr

from ..core.bands import SHADOW_CLASS  # udf_build: drop
from .periods import period_start  # udf_build: drop


def best_pixel(
    cube: xr.DataArray,
    period: str = "month",
    cot_band: str = "cot",
    class_band: str = "cloud_class",
    tdim: str = "t",
    bdim: str = "bands",
) -> xr.DataArray:
    """Per period and pixel, keep every band of the best date and set all other dates to NaN. Best: the lowest
    ``class_band`` (clear before thin before opaque; the temporal test's calls included), then the lowest ``cot``;
    NaN COT and cloud-shadowed dates (``SHADOW_CLASS``) never win; ties go to the earliest date.
    Where the cube has ``class_band``, the winner's value there becomes the number of dates of its period that could
    win (valid_count: with data, not shadowed, whatever their class; 0 where none could).

    The cube keeps its time labels and bands (spec-portable in ``apply_dimension``); a following
    ``aggregate_temporal_period`` with any reducer that ignores nodata (e.g. ``max``) then yields the
    composite, whose ``cot`` band is the winner's COT.
    """
    names = [str(b) for b in cube.coords[bdim].values]
    if cot_band not in names:
        raise ValueError(f"best-pixel compositing needs a {cot_band!r} band; the cube has {names}")
    starts = period_start(cube[tdim].values, period)
    order = cube.dims
    cube = cube.transpose(tdim, bdim, ...)
    values = np.asarray(cube.values, dtype=np.float32)
    cot = values[:, names.index(cot_band)]
    key = np.where(np.isfinite(cot), cot, np.inf)
    k = names.index(class_band) if class_band in names else None
    if k is not None:
        cls = values[:, k]
        with np.errstate(invalid="ignore"):
            key = np.where(np.isfinite(cls) & (cls != SHADOW_CLASS), key + 1000.0 * np.nan_to_num(cls), np.inf)
    out = np.full(values.shape, np.nan, dtype=np.float32)
    for label in np.unique(starts):
        sel = np.flatnonzero(starts == label)
        c = key[sel]
        pick = np.argmin(c, axis=0)  # (y, x): the first of equal minima
        some = np.isfinite(c).any(axis=0)
        count = np.isfinite(c).sum(axis=0).astype(np.float32)
        for j, t in enumerate(sel):
            win = (pick == j) & some
            out[t][:, win] = values[t][:, win]
            if k is not None:
                out[t][k][win] = count[win]
        if k is not None:  # no date could win: the count (0) on the period's first date, the other bands nodata
            out[sel[0]][k][~some] = 0.0
    return cube.copy(data=out).transpose(*order)

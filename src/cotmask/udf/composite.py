"""Period composites along time in one UDF: every band reduced over a period's dates, and the clear-date count.

numpy + xarray only; ``cotmask.udf.build`` inlines this module (with periods.py's ``period_start``) into
``udf/cotmask_composite_udf.py``, which the forest composite runs in ``apply_dimension(dimension="t")`` before
``aggregate_temporal_period(period, "max")``. One UDF instead of two aggregations of the masked series (a reduction
and a count): the masked series, and the cotmask chain behind it, then has one consumer (issue 19), and the reducer
is a UDF context value (resolved by the backend) instead of four branches.
"""

import warnings

import numpy as np
import xarray as xr

from .periods import period_start  # udf_build: drop

#: Reducer name -> NaN-ignoring numpy reduction over dates.
REDUCERS = {"median": np.nanmedian, "mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}


def period_composite(
    cube: xr.DataArray,
    period: str = "month",
    reducer: str = "median",
    count_band: str = "valid_count",
    tdim: str = "t",
    bdim: str = "bands",
) -> xr.DataArray:
    """Per period and pixel, each band's ``reducer`` over the dates with data, written on the period's first date
    (all other dates NaN; dates and bands unchanged, as ``apply_dimension`` wants them); band ``count_band`` (its
    input values are ignored) becomes the number of dates with data in any other band (0 where none, as a ``count``
    reducer gives)."""
    if reducer not in REDUCERS:
        raise ValueError(f"reducer {reducer!r} is not supported; choose one of {list(REDUCERS)}")
    names = [str(b) for b in cube[bdim].values]
    if count_band not in names:
        raise ValueError(f"the composite needs a placeholder band {count_band!r}; the cube has {names}")
    order = cube.dims
    cube = cube.transpose(tdim, bdim, ...)
    values = np.asarray(cube.values, dtype=np.float32)
    k = names.index(count_band)
    others = [i for i in range(len(names)) if i != k]
    starts = period_start(cube[tdim].values, period)
    out = np.full(values.shape, np.nan, dtype=np.float32)
    for label in np.unique(starts):
        sel = np.flatnonzero(starts == label)
        block = values[sel]
        count = np.isfinite(block[:, others]).any(axis=1).sum(axis=0).astype(np.float32)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels: NaN, as documented
            out[sel[0]][others] = REDUCERS[reducer](block[:, others], axis=0)
        out[sel[0]][k] = count
    return cube.copy(data=out).transpose(*order)

"""NaN-aware means over a disc of pixels, for the spatial consolidation and the temporal test.

numpy only; inlined into the UDFs that smooth (udf/cotmask_consolidate_udf.py, udf/cotmask_temporal_udf.py).
"""

import numpy as np


def _disc(radius: int) -> np.ndarray:
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def disc_mean(values: np.ndarray, radius: int, dtype: type = np.float64) -> np.ndarray:
    """NaN-aware mean of ``values`` (..., y, x) over a disc of ``radius`` px around each pixel, per leading index
    (edges: the pixels there are); NaN stays NaN. The disc is summed row by row from running sums along x (two
    look-ups per disc row instead of one addition per disc pixel), in ``dtype``."""
    if radius <= 0:
        return values.astype(np.float32)
    ok = np.isfinite(values)
    lead = [(0, 0)] * (values.ndim - 2)
    pad = [*lead, (radius, radius), (radius + 1, radius)]  # one more column in front: running sums start at 0
    run_v = np.cumsum(np.pad(np.where(ok, values, 0.0).astype(dtype), pad), axis=-1)
    run_n = np.cumsum(np.pad(ok.astype(dtype), pad), axis=-1)
    total, count = np.zeros(values.shape, dtype), np.zeros(values.shape, dtype)
    h, w = values.shape[-2:]
    for dy in range(-radius, radius + 1):
        half = int(np.sqrt(radius * radius - dy * dy))  # the disc's half-width in this row
        rows = slice(radius + dy, radius + dy + h)
        hi, lo = slice(radius + 1 + half, radius + 1 + half + w), slice(radius - half, radius - half + w)
        total += run_v[..., rows, hi] - run_v[..., rows, lo]
        count += run_n[..., rows, hi] - run_n[..., rows, lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, total / np.round(count), np.nan).astype(np.float32)

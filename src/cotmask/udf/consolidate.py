"""Spatial consolidation of cotmask's classes: COT averaged over a disc before the thresholds (as s2cloudless averages
its probabilities), the physics rules kept pixel by pixel.

numpy + xarray only; ``cotmask.udf.build`` inlines this module into ``udf/cotmask_consolidate_udf.py``, which the
graphs run with ``apply_neighborhood`` and an overlap of ``MAX_RADIUS`` px, so a pixel's result never depends on where
the backend cuts its windows. On the real labels a 4 px disc keeps the haze found and cuts the false flags on clear
and bright ground by about a sixth (evaluation/consolidation_experiment.md).
"""

import numpy as np
import xarray as xr

#: The largest disc radius (px) the graphs allow: their apply_neighborhood overlap.
MAX_RADIUS = 8


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


def consolidate(cot: np.ndarray, cloud_class: np.ndarray, thin: float, opaque: float, radius: int) -> np.ndarray:
    """Classes (0 clear, 1 thin, 2 opaque, NaN nodata) from COT averaged over a disc of ``radius`` px. Where the
    pixel-wise class was set by a physics rule (snow: clear although COT >= thin; cirrus floor: at least thin
    although COT < thin) the rule still decides."""
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"smooth radius must be within [0, {MAX_RADIUS}] px, got {radius}")
    if not thin < opaque:
        raise ValueError(f"thin threshold ({thin}) must be below opaque threshold ({opaque})")
    smooth = disc_mean(cot, int(radius))
    cls = (smooth >= thin).astype(np.float32) + (smooth >= opaque)
    with np.errstate(invalid="ignore"):
        snow = (cloud_class == 0) & (cot >= thin)
        cirrus = (cloud_class >= 1) & (cot < thin)
    cls[snow] = 0
    cls[cirrus] = np.maximum(cls[cirrus], 1)
    cls[~np.isfinite(cloud_class) | ~np.isfinite(cot)] = np.nan
    return cls


def consolidate_cube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """The cube's ``cloud_class`` band replaced by the consolidated classes (bands ``cot`` and ``cloud_class`` needed;
    dims (..., bands, y, x)); context ``radius`` (px), ``thin_threshold``, ``opaque_threshold``."""
    bdim = next((str(d) for d in cube.dims if str(d).lower() in ("bands", "band")), None)
    if bdim is None or "y" not in cube.dims or "x" not in cube.dims:
        raise ValueError(f"consolidation needs a cube with dims bands, y, x (got {list(cube.dims)})")
    labels = [str(b) for b in cube[bdim].values]
    if "cot" not in labels or "cloud_class" not in labels:
        raise ValueError(f"consolidation needs bands cot and cloud_class (has {labels}); run cotmask first")
    cube = cube.transpose(..., bdim, "y", "x")
    out = cube.values.astype(np.float32)
    i_cot, i_cls = labels.index("cot"), labels.index("cloud_class")
    for idx in np.ndindex(*out.shape[:-3]):
        out[idx][i_cls] = consolidate(
            out[idx][i_cot],
            out[idx][i_cls],
            float(context["thin_threshold"]),
            float(context["opaque_threshold"]),
            int(context.get("radius", 0)),
        )
    return cube.copy(data=out)

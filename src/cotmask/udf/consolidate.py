"""Spatial consolidation of cotmask's classes: COT averaged over a disc before the thresholds (as s2cloudless averages
its probabilities), the physics rules kept pixel by pixel.

numpy + xarray only; ``cotmask.udf.build`` inlines this module into ``udf/cotmask_consolidate_udf.py``, which the
graphs run with ``apply_neighborhood`` and an overlap of ``MAX_RADIUS`` px, so a pixel's result never depends on where
the backend cuts its windows. On the real labels a 4 px disc keeps the haze found and cuts the false flags on clear
and bright ground by about a sixth (evaluation/consolidation_experiment.md).
"""

import numpy as np
import xarray as xr

from ..core.bands import RULE_BAND, RULE_FLOOR, RULE_SNOW  # udf_build: drop
from .disc import disc_mean  # udf_build: drop

#: The largest disc radius (px) the graphs allow: their apply_neighborhood overlap.
MAX_RADIUS = 8
#: Context key -> (default, meaning).
CONTEXT = {
    "radius": (4, "disc radius (px) over which COT is averaged before the thresholds; 0: pixel by pixel"),
    "thin_threshold": (0.75, "COT from which a pixel is thin cloud (the graph's thin_threshold)"),
    "opaque_threshold": (1.25, "COT from which a pixel is opaque cloud (the graph's opaque_threshold)"),
}


def consolidate(
    cot: np.ndarray,
    cloud_class: np.ndarray,
    thin: float,
    opaque: float,
    radius: int,
    clear: np.ndarray | None = None,
    cloud: np.ndarray | None = None,
) -> np.ndarray:
    """Classes (0 clear, 1 thin, 2 opaque, NaN nodata) from COT averaged over a disc of ``radius`` px; the physics
    rules still decide pixel by pixel: ``clear`` (the snow test) and ``cloud`` (the cirrus floor) as ``rule_masks``
    gives them from the bands. Without them, the rules are read off the pixel-wise classes where they contradict the
    COT (snow: clear although COT >= thin; cirrus floor: at least thin although COT < thin), which misses floor pixels
    whose own COT was thin already."""
    if not 0 <= radius <= MAX_RADIUS:
        raise ValueError(f"smooth radius must be within [0, {MAX_RADIUS}] px, got {radius}")
    if not thin < opaque:
        raise ValueError(f"thin threshold ({thin}) must be below opaque threshold ({opaque})")
    smooth = disc_mean(cot, int(radius))
    cls = (smooth >= thin).astype(np.float32) + (smooth >= opaque)
    with np.errstate(invalid="ignore"):
        snow = (cloud_class == 0) & (cot >= thin) if clear is None else np.asarray(clear).reshape(cot.shape)
        cirrus = (cloud_class >= 1) & (cot < thin) if cloud is None else np.asarray(cloud).reshape(cot.shape)
    cls[snow] = 0
    cls[cirrus] = np.maximum(cls[cirrus], 1)
    cls[~np.isfinite(cloud_class) | ~np.isfinite(cot)] = np.nan
    return cls


def consolidate_cube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """The cube's ``cloud_class`` band replaced by the consolidated classes (bands ``cot`` and ``cloud_class`` needed;
    the physics rules come from band ``RULE_BAND`` (the cotmask UDF's with context rule_band), else from the classes
    themselves; dims (..., bands, y, x)); context ``radius`` (px), ``thin_threshold``, ``opaque_threshold``."""
    bdim = next((str(d) for d in cube.dims if str(d).lower() in ("bands", "band")), None)
    if bdim is None or "y" not in cube.dims or "x" not in cube.dims:
        raise ValueError(f"consolidation needs a cube with dims bands, y, x (got {list(cube.dims)})")
    labels = [str(b) for b in cube[bdim].values]
    if "cot" not in labels or "cloud_class" not in labels:
        raise ValueError(f"consolidation needs bands cot and cloud_class (has {labels}); run cotmask first")
    order = cube.dims
    cube = cube.transpose(..., bdim, "y", "x")
    out = cube.values.astype(np.float32)
    i_cot, i_cls = labels.index("cot"), labels.index("cloud_class")
    for idx in np.ndindex(*out.shape[:-3]):
        window = out[idx]
        rules = window[labels.index(RULE_BAND)] if RULE_BAND in labels else None  # which rule set each class
        clear, cloud = (None, None) if rules is None else (rules == RULE_SNOW, rules == RULE_FLOOR)
        window[i_cls] = consolidate(
            window[i_cot],
            window[i_cls],
            float(context["thin_threshold"]),
            float(context["opaque_threshold"]),
            int(context.get("radius", 0)),
            clear,
            cloud,
        )
    return cube.copy(data=out).transpose(*order)

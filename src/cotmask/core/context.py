"""The cotmask UDF context: its keys, their defaults and meaning, and parsing with errors that name the key.

numpy only; inlined into the cotmask UDFs by ``cotmask.udf.build`` (which also writes ``CONTEXT_HELP`` into the
generated file's header).
"""

import numpy as np

from .bands import DEFAULT_MODEL, DN_SCALE, LEVELS, MAX_COT, MODEL_KINDS  # udf_build: drop
from .rules import CIRRUS_FLOOR  # udf_build: drop

ENGINES = ("onnxruntime", "numpy")
CONTEXT_DEFAULTS = {
    "level": None,
    "scale": DN_SCALE,
    "offset": 0.0,
    "nodata": 0.0,
    "thin_threshold": None,
    "opaque_threshold": None,
    "model": DEFAULT_MODEL,
    "chunk_size": None,
    "engine": None,
    "snow_test": True,
    "cirrus_floor": CIRRUS_FLOOR,
    "rule_band": False,
}
#: What each context key means (the generated UDFs list these in their header).
CONTEXT_HELP = {
    "level": "L1C or L2A model; null: L1C when the cube has B10, else L2A",
    "scale": "reflectance = (DN + offset) * scale; 1 for input that is reflectance already",
    "offset": "DN offset: 0 for harmonised collections (CDSE), -1000 for raw ESA products of baseline >= 04.00",
    "nodata": "DN that marks nodata (NaN always does)",
    "thin_threshold": "COT from which a pixel is thin cloud; null: the model's metadata",
    "opaque_threshold": "COT from which a pixel is opaque cloud; null: the model's metadata",
    "model": f"{' or '.join(MODEL_KINDS)}",
    "chunk_size": "pixels per model call; null: the model's (Model.chunk_size)",
    "engine": f"{' or '.join(ENGINES)}; null: onnxruntime when importable",
    "snow_test": "true: snow (NDSI test) is clear whatever its COT; false: the network's class alone",
    "cirrus_floor": "L1C: B10 TOA reflectance from which a pixel is at least thin cloud; null: off",
    "rule_band": "true: a fifth band rules (1 the snow test made the pixel clear, 2 the cirrus floor made it at least "
    "thin, 0 neither), which the graphs' consolidation reads",
}
#: Scales cotmask accepts: Sentinel-2 DN (0.0001) or reflectance (1), each with room for a calibration factor.
#: Anything else (e.g. 1e-5) would silently give an empty mask.
SCALE_RANGES = ((0.5 * DN_SCALE, 2 * DN_SCALE), (0.5, 2.0))


def _number(ctx: dict, key: str) -> float | None:
    v = ctx[key]
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"context {key} must be a number, got {v!r} ({type(v).__name__})")
    if not np.isfinite(v):
        raise ValueError(f"context {key} must be finite, got {v!r}")
    return float(v)


def threshold_pair(thin: float, opaque: float) -> tuple[float, float]:
    """``(thin, opaque)`` as floats; ``ValueError`` unless thin < opaque (the one place this is checked)."""
    if not thin < opaque:
        raise ValueError(f"thin threshold ({thin}) must be below opaque threshold ({opaque})")
    return float(thin), float(opaque)


def parse_context(context: dict | None) -> dict:
    """Context with defaults filled in; unknown keys and bad values raise ``ValueError`` naming the key."""
    context = dict(context or {})
    unknown = sorted(set(context) - set(CONTEXT_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown cotmask context keys {unknown}; allowed: {sorted(CONTEXT_DEFAULTS)}")
    # null means "the default", except where it means "off" (cirrus_floor)
    ctx = {**CONTEXT_DEFAULTS, **{k: v for k, v in context.items() if v is not None or k == "cirrus_floor"}}
    for key in ("scale", "offset", "nodata", "thin_threshold", "opaque_threshold", "cirrus_floor"):
        ctx[key] = _number(ctx, key)
    if ctx["level"] is not None and str(ctx["level"]).upper() not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {ctx['level']!r}")
    if ctx["model"] not in MODEL_KINDS:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {ctx['model']!r}")
    if ctx["engine"] is not None and ctx["engine"] not in ENGINES:
        raise ValueError(
            f"engine must be one of {ENGINES} (or null: onnxruntime when installed), got {ctx['engine']!r}"
        )
    if not any(lo <= ctx["scale"] <= hi for lo, hi in SCALE_RANGES):
        raise ValueError(
            f"scale={ctx['scale']!r} fits no Sentinel-2 convention: {DN_SCALE} for DN (reflectance = "
            f"(DN + offset) * {DN_SCALE}) or 1 for data that is reflectance already"
        )
    for key in ("snow_test", "rule_band"):
        if not isinstance(ctx[key], bool):
            raise ValueError(f"context {key} must be true or false, got {ctx[key]!r}")
    chunk = ctx["chunk_size"]
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"context chunk_size must be a positive whole number of pixels, got {chunk!r}")
    for key in ("thin_threshold", "opaque_threshold"):
        if ctx[key] is not None and not 0 < ctx[key] <= MAX_COT:
            raise ValueError(
                f"context {key}={ctx[key]} is outside (0, {MAX_COT:g}]: {key} ({ctx[key]}) must be > 0 "
                f"and at most {MAX_COT:g}, the COT range of the models"
            )
    return ctx  # threshold order is checked once the model's defaults are known (threshold_pair)

"""Sentinel-2 facts every part of cotmask shares: band names, product levels, model kinds, DN scaling.

numpy only. ``cotmask.udf.build`` inlines this module into every UDF that reads Sentinel-2 bands (the shadow UDF
inlines it alone). Keep it free of other imports, and of ``from __future__ import annotations`` (openEO finds the
UDF entry points by their annotations).
"""

import re

import numpy as np

#: Sentinel-2 MSI bands, in ESA order.
S2_BANDS: tuple[str, ...] = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
#: L2A products have no cirrus band B10.
L2A_BANDS: tuple[str, ...] = tuple(b for b in S2_BANDS if b != "B10")
LEVELS = ("L1C", "L2A")
MODEL_KINDS = ("ensemble", "distilled", "distilled_nob09")
#: Bands a model kind leaves out of its level's bands: the no-B09 network serves cubes without the water-vapour band
#: (many users load only the 10 m and 20 m bands); a cube that lacks exactly these bands gets it automatically.
KIND_WITHOUT = {"distilled_nob09": ("B09",)}
#: The model used unless asked otherwise (UDF context, graphs, ``predict``, demo): one network distilled from the
#: ensemble, of one member's size (speed and real-scene flags: models/README.md, benchmarks/results.md).
DEFAULT_MODEL = "distilled"
OUTPUT_BANDS = ("cot", "cot_std", "cloud_class", "ood")
#: cloud_class code of clear ground in cloud shadow where the series graphs fold the shadows into the class band (0
#: clear, 1 thin, 2 opaque are the model's; shadows are looked for on clear ground only, ``udf.shadow.dark_pixels``).
SHADOW_CLASS = 3
#: The band the cotmask UDF adds with context ``rule_band``, and its codes: which physics rule set the class (0 none).
RULE_BAND, RULE_SNOW, RULE_FLOOR = "rules", 1, 2
#: Sentinel-2 DN scale (QUANTIFICATION_VALUE 10000): reflectance = (DN + offset) * DN_SCALE.
DN_SCALE = 0.0001
#: The models regress COT/50: COT in [0, 50]; a threshold above it could never be reached.
MAX_COT = 50.0
#: Reflectance outside this range is not physical for Sentinel-2 L1C/L2A (L2A can be a little negative).
VALID_RANGE = (-0.2, 2.0)
BAND_RE = re.compile(r"^B0?([1-9]|1[0-2]|8A)$", re.IGNORECASE)


def canonical_band(label: str) -> str:
    """Sentinel-2 band label in ESA spelling: ``B2``/``b02`` -> ``B02``, ``b8a`` -> ``B8A``; others unchanged."""
    m = BAND_RE.match(str(label).strip())
    if not m:
        return str(label)
    num = m.group(1).upper()
    return "B8A" if num == "8A" else f"B{int(num):02d}"


def level_for(level: str | None, bands) -> str:
    """The model level: ``level`` when given, else L1C if the (canonical) band labels include B10, else L2A."""
    return str(level).upper() if level else ("L1C" if "B10" in {canonical_band(b) for b in bands} else "L2A")


def band_labels(labels) -> dict:
    """{canonical band name: label} for a cube's band labels (``B8`` -> ``B08``). A Sentinel-2 band with more than
    one label (``B08`` twice, or ``B8`` beside ``B08``) raises ``ValueError`` naming it and its labels: which copy
    to read would be a guess."""
    found: dict[str, list] = {}
    for label in labels:
        found.setdefault(canonical_band(label), []).append(label)
    for band, same in found.items():
        if band in S2_BANDS and len(same) > 1:
            raise ValueError(
                f"band {band} is in the cube {len(same)} times, labelled {[str(b) for b in same]}: which copy to read "
                "would be a guess; keep one (openEO: filter_bands or rename_labels; xarray: isel or assign_coords)"
            )
    return {band: same[0] for band, same in found.items()}


def kind_for(kind: str, missing) -> str:
    """The model kind that runs when a cube lacks the bands ``missing`` of the ``kind`` model: the distilled model's
    sibling trained without exactly those bands (``KIND_WITHOUT``), else ``kind`` itself."""
    if kind == DEFAULT_MODEL and missing:
        for other, without in KIND_WITHOUT.items():
            if set(missing) <= set(without):
                return other
    return kind


def _looks_like_reflectance(values: np.ndarray) -> bool:
    """True when the finite ``values`` exist, are all within [-2, 2] and some are fractional. For DN the range test
    already says no, so the round-off test (a copy of the values and their rounding) is skipped."""
    finite = np.isfinite(values)
    if not finite.any() or np.max(np.abs(values), where=finite, initial=0.0) > VALID_RANGE[1]:
        return False
    valid = values[finite]
    return bool(np.any(valid != np.round(valid)))


def dn_to_reflectance(
    dn: np.ndarray, scale: float = DN_SCALE, offset: float = 0.0, nodata: float | None = 0.0
) -> np.ndarray:
    """float32 reflectance ``(dn + offset) * scale``; ``nodata`` DNs and NaN become NaN.

    The one plausibility check of the conversion: with a DN scale (< 0.01), input whose values are all
    within [-2, 2] and fractional is reflectance already, and converting it again would give a
    silently empty mask, so it raises ``ValueError`` naming the fix.
    """
    dn = np.asarray(dn)
    if not np.issubdtype(dn.dtype, np.number) or np.issubdtype(dn.dtype, np.bool_):
        raise TypeError(f"DN array must be numeric, got dtype {dn.dtype}")
    out = dn.astype(np.float32)
    if nodata is not None:
        out[dn == nodata] = np.nan
    if scale < 0.01 and not np.issubdtype(dn.dtype, np.integer) and _looks_like_reflectance(out):
        raise ValueError(
            f"values look like reflectance already (all <= {VALID_RANGE[1]}, fractional) but scale={float(scale)} "
            "treats them as DN; pass scale=1 and offset=0 for reflectance input, and do not convert twice"
        )
    out += np.float32(offset)
    out *= np.float32(scale)
    return out

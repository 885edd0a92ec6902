"""Is the input Sentinel-2 reflectance? Bulk plausibility checks, nodata cleaning and the offset warning.

numpy only; inlined into the cotmask UDFs by ``cotmask.udf.build``. One verdict per cube: the counts are summed
over all chunks before ``check_bulk`` decides, so the chunk size can never change a verdict.
"""

import numpy as np

from .bands import DN_SCALE, VALID_RANGE  # udf_build: drop

#: Raw ESA DN of processing baseline >= 04.00 carry +1000: then no pixel of a non-overcast scene is below
#: DN 1000 in the dark-surface bands, while water, shadow and conifer forest are far below it otherwise.
OFFSET_TELL_BANDS = ("B08", "B11", "B12")


def bulk_counts(x: np.ndarray) -> np.ndarray:
    """[finite values, values above the valid range, values below -0.05] of reflectance ``x``."""
    x = np.asarray(x)
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        return np.array([finite.sum(), (x > VALID_RANGE[1]).sum(), (x < -0.05).sum()], dtype=np.int64)


def check_bulk(counts: np.ndarray, what: str = "reflectance") -> None:
    """Raise ``ValueError`` naming the problem when the bulk of the values is not reflectance: more than half
    above 2 (DN passed as reflectance) or more than 1 % below -0.05 (offset -1000 applied twice, fill values).
    ``counts`` from ``bulk_counts``, summed over the whole input: one verdict per cube, whatever the chunking."""
    n, above, below = (int(v) for v in counts)
    if n and above / n > 0.5:
        raise ValueError(
            f"{above / n:.0%} of {what} values > {VALID_RANGE[1]}: this looks like DN (digital "
            f"numbers), not reflectance. Convert with (DN + offset) * {DN_SCALE}, offset -1000 for processing "
            "baseline >= 04.00, 0 before (in the UDF: context scale and offset)"
        )
    if n and below / n > 0.01:
        raise ValueError(
            f"{below / n:.1%} of {what} values < -0.05: not a valid reflectance. A wrong radiometric "
            "offset (-1000 applied twice, or to already harmonised data) or unmasked fill values are likely"
        )


def clean_reflectance(x: np.ndarray) -> np.ndarray:
    """float32 copy ready for the model: isolated values above 2 clipped to 2 (saturated bright target), rows
    with a value below -0.2 NaN (documented nodata)."""
    x = np.array(x, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        x[(x < VALID_RANGE[0]).any(axis=-1)] = np.nan
        np.minimum(x, VALID_RANGE[1], out=x, where=np.isfinite(x))
    return x


def offset_warning(dark_min: dict, opaque_fraction: float) -> str | None:
    """The fix to suggest when no pixel of a non-overcast cube is below reflectance 0.1 in any of the dark-surface
    bands (``dark_min``: band -> smallest reflectance): raw ESA DN of baseline >= 04.00 with the +1000 still in.
    It cannot tell a cube of bright surfaces only (sand, salt, bright urban) or an overcast one."""
    if opaque_fraction > 0.9 or len(dark_min) < len(OFFSET_TELL_BANDS) or not all(np.isfinite(list(dark_min.values()))):
        return None
    if min(dark_min.values()) < 0.1:
        return None
    lows = ", ".join(f"{b} {v:.3f}" for b, v in dark_min.items())
    return (
        f"no pixel is darker than reflectance 0.1 in {'/'.join(dark_min)} (minima {lows}), as if the +1000 DN of "
        "ESA processing baseline >= 04.00 were still in: for raw (non-harmonised) products pass offset=-1000 "
        "(cotmask.baseline_offset). Harmonised collections (e.g. CDSE's) need offset 0."
    )

"""Sentinel-2 digital numbers to reflectance: ``(DN + offset) * scale``, with nodata as NaN.

ESA products from processing baseline 04.00 (25 January 2022) on carry a radiometric offset of
-1000 (``RADIO_ADD_OFFSET`` / ``BOA_ADD_OFFSET`` in the product metadata); earlier products have 0.
The offset is never guessed here: callers pass it, or derive it from the baseline with
``baseline_offset``. Getting it wrong shifts every dark pixel by 0.1 reflectance.
"""

import numpy as np

from .bands import DN_SCALE, dn_to_reflectance

NODATA_DN = 0


def baseline_offset(processing_baseline: str) -> int:
    """DN offset for an ESA processing baseline string such as ``"04.00"`` or ``"N0400"``."""
    s = processing_baseline.strip().upper().lstrip("N")
    try:
        major = int(s.split(".")[0]) if "." in s else int(s[:2])
    except ValueError as e:
        raise ValueError(
            f"cannot read processing baseline {processing_baseline!r}; expected e.g. '04.00' or 'N0400'"
        ) from e
    return -1000 if major >= 4 else 0


def to_reflectance(
    dn: np.ndarray, *, offset: float, scale: float = DN_SCALE, nodata: float | None = NODATA_DN
) -> np.ndarray:
    """Convert DN to float32 reflectance; ``nodata`` DNs (0 in ESA products) and NaN become NaN.

    ``offset`` is required on purpose (0 before baseline 04.00, -1000 from it on). Raises
    ``ValueError`` when the input already looks like reflectance (``core.dn_to_reflectance``).
    """
    return dn_to_reflectance(dn, scale=scale, offset=offset, nodata=nodata)

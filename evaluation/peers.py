"""The peers the evaluations compare cotmask with: s2cloudless and ukis-csmask (the project's ``eval`` extra).

A missing peer is an error that names the fix, never a row left out of a report.
"""

import numpy as np

FIX = "install the evaluation peers with `./run.sh evaluate` (or `pip install -e '.[eval]'`)"
UKIS_ORDER = ["blue", "green", "red", "nir", "swir16", "swir22"]


class MissingPeer(RuntimeError):
    """A peer method is not installed."""


def s2cloudless_probability(toa13: np.ndarray, **options) -> np.ndarray:
    """s2cloudless cloud probability of (n, y, x, 13) L1C TOA reflectance (all 13 bands in ESA order)."""
    try:
        from s2cloudless import S2PixelCloudDetector
    except ImportError as e:
        raise MissingPeer(f"s2cloudless is not installed: {FIX}") from e
    return S2PixelCloudDetector(all_bands=True, **options).get_cloud_probability_maps(toa13.astype(np.float32))


def ukis_classes(six: np.ndarray) -> np.ndarray:
    """ukis-csmask's L1C classes (y, x) of TOA reflectance in the bands B02 B03 B04 B08 B11 B12: 1 cloud, 2 shadow."""
    try:
        from ukis_csmask.mask import CSmask
    except ImportError as e:
        raise MissingPeer(f"ukis-csmask is not installed: {FIX}") from e
    return CSmask(six.astype(np.float32), band_order=UKIS_ORDER, product_level="l1c").csm[..., 0]

"""cotmask: cloud optical thickness (COT) cloud mask for Sentinel-2."""

__version__ = "0.1.0"

from .core import OUTPUT_BANDS, canonical_band, classify  # noqa: E402
from .model import cloud_mask, load_model, predict  # noqa: E402
from .reflectance import baseline_offset, to_reflectance  # noqa: E402

__all__ = ["OUTPUT_BANDS", "__version__", "baseline_offset", "canonical_band", "classify", "cloud_mask", "load_model", "predict",
           "to_reflectance"]

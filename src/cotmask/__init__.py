"""cotmask: cloud optical thickness (COT) cloud mask for Sentinel-2."""

__version__ = "0.1.0"

from .core.bands import OUTPUT_BANDS, canonical_band  # noqa: E402
from .core.model import classify  # noqa: E402
from .core.reflectance import baseline_offset, to_reflectance  # noqa: E402
from .core.shipped import cloud_mask, load_model, predict  # noqa: E402

__all__ = [
    "OUTPUT_BANDS",
    "__version__",
    "baseline_offset",
    "canonical_band",
    "classify",
    "cloud_mask",
    "load_model",
    "predict",
    "to_reflectance",
]

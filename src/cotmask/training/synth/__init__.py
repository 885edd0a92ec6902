"""Physically based synthetic Sentinel-2 data with known cloud optical thickness (see ``generator``)."""

from ...core.bands import L2A_BANDS, S2_BANDS
from .atmosphere import clear_toa, cloudy_toa, correct_to_surface, inject_clouds
from .generator import generate
from .surfaces import SURFACES

__all__ = [
    "L2A_BANDS",
    "S2_BANDS",
    "SURFACES",
    "clear_toa",
    "cloudy_toa",
    "correct_to_surface",
    "generate",
    "inject_clouds",
]

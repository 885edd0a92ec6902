"""cotmask_mask_timeseries: a Sentinel-2 time series with cloudy pixels set to nodata."""

from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from .common import cloudy_mask, load, load_parameters, mask_parameters, model_parameters

PROCESS_ID = "cotmask_mask_timeseries"
SUMMARY = "Mask clouds (incl. thin cloud) in a Sentinel-2 time series with cotmask"
DESCRIPTION = (
    "Loads Sentinel-2, classifies every pixel of every date with the cotmask model, and sets the "
    "spectral bands to nodata where the class is at least `min_class`, dilated by `buffer` pixels, "
    "and optionally where SCL is in `scl_classes`. The mask comes from the model, not from SCL."
)


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return load_parameters() + model_parameters() + mask_parameters()


def build(p: dict) -> DataCube:
    """The process graph."""
    cube = load(p)
    return cube.mask(cloudy_mask(cube, p))

"""cotmask_cloud_mask: COT, its spread and the clear/thin/opaque class for a Sentinel-2 time series."""

from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from .common import cloud_mask, load, load_parameters, model_parameters

PROCESS_ID = "cotmask_cloud_mask"
SUMMARY = "Cloud optical thickness (COT) cloud mask for Sentinel-2 (cotmask)"
DESCRIPTION = ("Loads Sentinel-2 and runs the cotmask UDF along the bands: output bands `cot` (cloud optical "
               "thickness), `cot_std` (ensemble spread) and `cloud_class` (0 clear, 1 thin, 2 opaque; NaN nodata).")


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return load_parameters() + model_parameters()


def build(p: dict) -> DataCube:
    """The process graph."""
    return cloud_mask(load(p), p)

"""cotmask_cloud_mask: COT, its spread and the clear/thin/opaque class for a Sentinel-2 time series."""

from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from ..core.bands import OUTPUT_BANDS
from ..udf.shadow import SHADOW_BANDS
from .common import cot_bands, load, load_parameters, model_parameters, shadows, shadows_parameter, top_level_if

PROCESS_ID = "cotmask_cloud_mask"
SUMMARY = "Cloud optical thickness (COT) cloud mask for Sentinel-2 (cotmask)"
DESCRIPTION = (
    "Loads Sentinel-2 and runs the cotmask UDF along the bands: output bands `cot` (cloud optical "
    "thickness), `cot_std` (its uncertainty: the ensemble spread, as the default distilled model estimates "
    "it), `cloud_class` (0 clear, 1 thin, 2 opaque; NaN nodata), `ood` "
    "(distance of the spectrum to the training data; > 1: the model extrapolates) and, "
    "with `shadows` (default), `shadow` (1 cloud shadow, 0 not; NaN nodata). Date by date: the series graphs add "
    "the multi-temporal test."
)


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return load_parameters() + model_parameters() + [shadows_parameter()]


def build(p: dict) -> DataCube:
    """The process graph: cotmask, then (``shadows``) the shadow UDF on its output and B03, B08, B11 -- one chain."""
    cube = load(p)
    mask = cot_bands(cube, p)
    inputs = cube.filter_bands(list(SHADOW_BANDS)).merge_cubes(mask)
    labels = [*SHADOW_BANDS, *OUTPUT_BANDS, "shadow"]
    with_shadow = shadows(inputs, p, fold=False).rename_labels("bands", target=labels).filter_bands(labels[3:])
    return top_level_if(p["shadows"], with_shadow, mask)

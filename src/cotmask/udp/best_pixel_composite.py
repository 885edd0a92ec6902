"""cotmask_best_pixel_composite: per period and pixel, all bands from the date with the lowest COT."""

import openeo
from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from ..udf_build import udf_dir
from .common import PERIODS, cloud_mask, load, load_parameters, model_parameters, valid_count

PROCESS_ID = "cotmask_best_pixel_composite"
SUMMARY = "Best-pixel (lowest cloud optical thickness) Sentinel-2 composites with cotmask"
DESCRIPTION = ("Runs cotmask, then per period (month by default) and pixel keeps every band from the date with the "
               "lowest COT (a small UDF along `t`); the `cot` band holds that minimum COT and `valid_count` the "
               "number of dates with data. Pixels outside the polygons are nodata.")


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return load_parameters() + model_parameters() + [
        Parameter.geojson("geometries", description="Polygons (e.g. forest stands); pixels outside are nodata."),
        Parameter.string("period", default="month", values=list(PERIODS), description="Compositing period."),
    ]


def build(p: dict) -> DataCube:
    """The process graph."""
    cube = load(p)
    both = cube.merge_cubes(cloud_mask(cube, p).filter_bands(["cot"])).mask_polygon(p["geometries"])
    udf = openeo.UDF((udf_dir() / "cotmask_best_pixel_udf.py").read_text(), runtime="Python",
                     context={"period": p["period"]})
    return both.apply_dimension(dimension="t", process=udf).merge_cubes(valid_count(both.band("cot"), p["period"]))

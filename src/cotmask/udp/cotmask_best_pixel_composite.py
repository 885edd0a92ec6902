"""cotmask_best_pixel_composite: per period and pixel, all bands from the date with the lowest COT."""

from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from .common import (
    PERIODS,
    cot_bands,
    load,
    load_parameters,
    model_parameters,
    shadowed,
    shadows_parameter,
    top_level_if,
    udf,
    valid_count,
)

PROCESS_ID = "cotmask_best_pixel_composite"
SUMMARY = "Best-pixel (lowest cloud optical thickness) Sentinel-2 composites with cotmask"
DESCRIPTION = (
    "Runs cotmask, then per period (month by default) and pixel keeps every band from the date with the "
    "lowest COT (a small UDF along `t` keeps the winning date and blanks the others, then "
    "aggregate_temporal_period); with `shadows` (default) cloud-shadowed dates cannot win. The `cot` band "
    "holds that minimum COT and `valid_count` the number of dates with data (not shadowed). Pixels outside "
    "the polygons are nodata."
)


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return (
        load_parameters()
        + model_parameters()
        + [
            Parameter.geojson("geometries", description="Polygons (e.g. forest stands); pixels outside are nodata."),
            Parameter.string("period", default="month", values=list(PERIODS), description="Compositing period."),
            shadows_parameter(),
        ]
    )


def build(p: dict) -> DataCube:
    """The process graph."""
    cube = load(p)
    mask = cot_bands(cube, p)
    both = cube.merge_cubes(mask.filter_bands(["cot"])).mask_polygon(p["geometries"])
    both = top_level_if(p["shadows"], both.mask(shadowed(cube, mask, p)), both)
    # the UDF keeps the number of dates (labels stay, as the spec requires); the winners survive the max
    winners = both.apply_dimension(dimension="t", process=udf("cotmask_best_pixel_udf.py", {"period": p["period"]}))
    best = winners.aggregate_temporal_period(period=p["period"], reducer="max")
    return best.merge_cubes(valid_count(both.band("cot"), p["period"]))

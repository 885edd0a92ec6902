"""cotmask_best_pixel_composite: per period and pixel, all bands from the date with the lowest COT."""

from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from .common import (
    PERIODS,
    classes,
    cot_bands,
    load,
    load_parameters,
    model_parameters,
    shadows_parameter,
    temporal_parameter,
    udf,
)

PROCESS_ID = "cotmask_best_pixel_composite"
SUMMARY = "Best-pixel (lowest cloud optical thickness) Sentinel-2 composites with cotmask"
DESCRIPTION = (
    "Runs cotmask with the multi-temporal test, then per period (month by default) and pixel keeps every band "
    "from the best date: the lowest class (clear, then thin, then opaque), then the lowest COT (a small UDF along "
    "`t` keeps the winning date and blanks the others, then aggregate_temporal_period); with `shadows` (default) "
    "cloud-shadowed dates cannot win. The `cot` band holds the winner's COT and `valid_count` the number of dates "
    "with data (not shadowed). Pixels outside the polygons are nodata."
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
            temporal_parameter(),
        ]
    )


def build(p: dict) -> DataCube:
    """The process graph: one chain (cotmask, temporal test, shadows folded into the class) to the best-pixel UDF."""
    cube = load(p)
    ranked = classes(cube, cot_bands(cube, p), p, all_bands=True).mask_polygon(p["geometries"])
    # the UDF keeps the dates and bands (as the spec requires); the winners survive the max
    winners = ranked.apply_dimension(dimension="t", process=udf("cotmask_best_pixel_udf.py", {"period": p["period"]}))
    best = winners.aggregate_temporal_period(period=p["period"], reducer="max")
    return best.rename_labels("bands", source=["cloud_class"], target=["valid_count"])

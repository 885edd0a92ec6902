"""cotmask_forest_composite: cloud-free composites per month (dekad, season) over forest polygons."""

from openeo.api.process import Parameter
from openeo.processes import eq, if_, is_valid, max, mean, median, min
from openeo.rest.datacube import DataCube

from . import mask_timeseries
from .common import PERIODS, REDUCERS

PROCESS_ID = "cotmask_forest_composite"
SUMMARY = "Monthly cloud-free Sentinel-2 composites over forest, masked with cotmask"
DESCRIPTION = ("Masks clouds with cotmask (as cotmask_mask_timeseries), keeps the pixels inside the forest "
               "polygons, and reduces each period (month by default) with the chosen reducer (median by "
               "default). An extra band `valid_count` holds the number of clear observations per pixel and period.")


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return mask_timeseries.parameters() + [
        Parameter.geojson("geometries", description="Forest polygons (GeoJSON); pixels outside are nodata."),
        Parameter.string("period", default="month", values=list(PERIODS), description="Compositing period."),
        Parameter.string("reducer", default="median", values=list(REDUCERS),
                         description="Per-pixel reducer over the clear observations of a period."),
    ]


def _reduce(data, choice):
    return if_(eq(choice, "median"), median(data),
               if_(eq(choice, "mean"), mean(data), if_(eq(choice, "min"), min(data), max(data))))


def build(p: dict) -> DataCube:
    """The process graph."""
    masked = mask_timeseries.build(p).mask_polygon(p["geometries"])
    composite = masked.aggregate_temporal_period(period=p["period"], reducer=lambda data: _reduce(data, p["reducer"]))
    count = (masked.band("B04").apply(lambda x: if_(is_valid(x), 1, 0))
             .aggregate_temporal_period(period=p["period"], reducer="sum")
             .add_dimension(name="bands", label="valid_count", type="bands"))
    return composite.merge_cubes(count)

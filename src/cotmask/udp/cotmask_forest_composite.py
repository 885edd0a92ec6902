"""cotmask_forest_composite: cloud-free composites per month (dekad, season) over forest polygons."""

from openeo.api.process import Parameter
from openeo.rest.datacube import DataCube

from ..udf.composite import REDUCERS
from . import cotmask_mask_timeseries as mask_timeseries
from .common import PERIODS, WORLDCOVER_CLASSES, class_hit, cloudy_mask, load, udf

COMPOSITE_UDF_FILE = "cotmask_composite_udf.py"

PROCESS_ID = "cotmask_forest_composite"
SUMMARY = "Monthly cloud-free Sentinel-2 composites over forest, masked with cotmask"
DESCRIPTION = (
    "Masks clouds with cotmask (as cotmask_mask_timeseries), keeps the pixels inside the forest "
    "polygons (and, optionally, of the given ESA WorldCover classes: [10] = tree cover), and reduces "
    "each period (month by default) with the chosen reducer (median by default). An extra band "
    "`valid_count` holds the number of clear observations per pixel and period."
)


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return mask_timeseries.parameters() + [
        Parameter.geojson("geometries", description="Forest polygons (GeoJSON); pixels outside are nodata."),
        Parameter.string("period", default="month", values=list(PERIODS), description="Compositing period."),
        Parameter.string(
            "reducer",
            default="median",
            values=list(REDUCERS),
            description="Per-pixel reducer over the clear observations of a period.",
        ),
        Parameter.array(
            "worldcover_classes",
            default=list(WORLDCOVER_CLASSES),
            item_schema={"type": "integer"},
            description="Keep only pixels of these ESA WorldCover classes, e.g. [10] (tree cover). "
            "Default: all classes, i.e. no land-cover restriction (the polygons alone).",
        ),
        Parameter.string(
            "worldcover_collection",
            default="ESA_WORLDCOVER_10M_2021_V2",
            description="The WorldCover collection (band MAP) of the backend.",
        ),
    ]


def outside_classes(p: dict, target: DataCube) -> DataCube:
    """True where WorldCover's class is not in ``worldcover_classes`` (default: all classes, nothing outside)."""
    wc = DataCube.load_collection(
        p["worldcover_collection"], connection=None, spatial_extent=p["spatial_extent"], bands=["MAP"]
    )
    outside = class_hit(wc, p["worldcover_classes"], invert=True, label="outside")
    return (
        outside.reduce_dimension(dimension="t", reducer="max")
        .band("outside")
        .resample_cube_spatial(target=target, method="near")
    )


def build(p: dict) -> DataCube:
    """The process graph: the loaded bands with a placeholder band valid_count, masked by the cotmask chain (its one
    consumer), then the composite UDF per period (reduced bands and clear-date count) and a max over each period."""
    cube = load(p)
    slot = cube.filter_bands(["B04"]).rename_labels("bands", target=["valid_count"])  # any band: the UDF overwrites
    masked = cube.merge_cubes(slot).mask(cloudy_mask(cube, p)).mask_polygon(p["geometries"])
    masked = masked.mask(outside_classes(p, cube))
    context = {"period": p["period"], "reducer": p["reducer"]}
    marked = masked.apply_dimension(dimension="t", process=udf(COMPOSITE_UDF_FILE, context))
    return marked.aggregate_temporal_period(period=p["period"], reducer="max")

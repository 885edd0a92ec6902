"""cotmask_scene_screening: per date and polygon, the cloudy fraction -- which scenes are worth downloading."""

from openeo.api.process import Parameter
from openeo.processes import gte
from openeo.rest.datacube import THIS, DataCube

from ..udf.fractions import FRACTIONS
from ..udf.shadow import SHADOW_REACH_M
from .common import (
    FRACTIONS_UDF_FILE,
    chain,
    cot_bands,
    load,
    load_parameters,
    model_parameters,
    shadows,
    temporal_parameter,
    temporal_test,
    top_level_if,
    udf,
)

FRACTION_BANDS = [*FRACTIONS, "valid_fraction"]

PROCESS_ID = "cotmask_scene_screening"
SUMMARY = "Cloudy fraction per acquisition date and polygon with cotmask (scene screening)"
DESCRIPTION = (
    "Runs cotmask (at a coarse `resolution` to be cheap) with the multi-temporal test and aggregates per polygon "
    "and date: `cloudy_fraction` (thin or opaque, of the valid pixels), `opaque_fraction`, `shadow_fraction` (cloud "
    "shadow on clear ground, of the valid pixels) and `valid_fraction` (share of pixels with data). Only "
    "this small table "
    "leaves the backend; "
    "cotmask.udp.screening_table turns it into a DataFrame sorted by usability."
)


def parameters() -> list[Parameter]:
    """The UDP's parameters."""
    return (
        load_parameters()
        + model_parameters()
        + [
            Parameter.geojson("geometries", description="Polygons (e.g. forest stands) to screen."),
            Parameter.number("resolution", default=60, description="Resolution (m) at which to screen; 0: native."),
            Parameter.boolean(
                "shadows",
                default=True,
                description="Also find cloud shadows (band shadow_fraction). Each window then loads "
                f"{SHADOW_REACH_M / 1000:g} km of margin per side (the shadows' reach, up-sun); false: no margin, "
                "shadow_fraction 0, far cheaper for many small stands.",
            ),
            temporal_parameter(),
        ]
    )


def build(p: dict) -> DataCube:
    """The process graph: one chain (cotmask, temporal test, shadows folded into the class) to the fractions UDF."""
    # generic process(): the client's resample_spatial() would invent x/y-only metadata for an offline cube
    cube = load(p).process("resample_spatial", data=THIS, resolution=p["resolution"], method="average")
    tested = temporal_test(chain(cube, cot_bands(cube, p)), p)
    # the overlap is the shadows' reach in metres, in pixels of the screening grid (60 m unless asked otherwise)
    shadowed = top_level_if(gte(p["resolution"], 60), shadows(tested, p, 60.0), shadows(tested, p, 10.0))
    cls = top_level_if(p["shadows"], shadowed, tested)
    fractions = cls.apply_dimension(dimension="bands", process=udf(FRACTIONS_UDF_FILE, {}))
    return fractions.rename_labels("bands", target=FRACTION_BANDS).aggregate_spatial(
        geometries=p["geometries"], reducer="mean"
    )

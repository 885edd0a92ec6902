"""cotmask_scene_screening: per date and polygon, the cloudy fraction -- which scenes are worth downloading."""

from openeo.api.process import Parameter
from openeo.processes import clip, gte, if_, is_nan, subtract
from openeo.rest.datacube import THIS, DataCube

from ..udf.shadow import SHADOW_REACH_M
from .common import cot_bands, load, load_parameters, model_parameters, shadows, top_level_if

PROCESS_ID = "cotmask_scene_screening"
SUMMARY = "Cloudy fraction per acquisition date and polygon with cotmask (scene screening)"
DESCRIPTION = (
    "Runs cotmask (at a coarse `resolution` to be cheap) and aggregates per polygon and date: "
    "`cloudy_fraction` (thin or opaque, of the valid pixels), `opaque_fraction`, `valid_fraction` "
    "(share of pixels with data) and `shadow_fraction` (cloud shadow, of the valid pixels). Only this small table "
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
                f"{SHADOW_REACH_M / 1000:g} km of margin per side (the shadows' reach, up-sun); false: no margin, no "
                "shadow_fraction, far cheaper for many small stands.",
            ),
        ]
    )


#: Per-pixel indicators whose polygon means are the statistics (clip keeps nodata as nodata). Only
#: operations of the geotrellis callback builder (``is_nan``: NaN or nodata there; no ``is_valid``).
INDICATORS = {
    "cloudy_fraction": lambda c: clip(c, 0, 1),
    "opaque_fraction": lambda c: clip(subtract(c, 1), 0, 1),
    "valid_fraction": lambda c: if_(is_nan(c), 0, 1),
}


def build(p: dict) -> DataCube:
    """The process graph."""
    # generic process(): the client's resample_spatial() would invent x/y-only metadata for an offline cube
    cube = load(p).process("resample_spatial", data=THIS, resolution=p["resolution"], method="average")
    mask = cot_bands(cube, p)
    cls = mask.band("cloud_class")
    bands = [cls.apply(f).add_dimension(name="bands", label=name, type="bands") for name, f in INDICATORS.items()]
    stats = bands[0].merge_cubes(bands[1]).merge_cubes(bands[2])
    # the overlap is the shadows' reach in metres, in pixels of the screening grid (60 m unless asked otherwise)
    coarse, fine = (shadows(cube, mask, p, r).rename_labels("bands", target=["shadow_fraction"]) for r in (60.0, 10.0))
    shadow = top_level_if(gte(p["resolution"], 60), coarse, fine)
    with_shadows = top_level_if(p["shadows"], stats.merge_cubes(shadow), stats)
    return with_shadows.aggregate_spatial(geometries=p["geometries"], reducer="mean")

"""Parameters and building blocks shared by the cotmask user-defined processes (UDPs).

Every builder takes ``p``: a mapping from parameter name to either an ``openeo.api.process.Parameter``
(to publish the UDP) or a concrete value. Band lists and thresholds come from the model metadata.

Backend rule (see ``cotmask.udp.backend``): a UDP parameter is read only in top-level arguments
(including a top-level ``if``) and in ``run_udf``'s context, never inside another callback -- the
geotrellis backends do not resolve it there and silently use the callback's input instead.
"""

import openeo
from openeo.api.process import Parameter
from openeo.internal.graph_building import PGNode
from openeo.processes import eq
from openeo.rest.datacube import DataCube

from ..core.bands import DEFAULT_MODEL, DN_SCALE, OUTPUT_BANDS, RULE_BAND
from ..core.shipped import load_model
from ..udf.build import GRAPH_MODELS, udf_text
from ..udf.consolidate import MAX_RADIUS
from ..udf.shadow import NEIGHBORHOOD_SIZE, overlap_px
from ..udf.temporal import CONTEXT as TEMPORAL_CONTEXT

UDF_FILE = "cotmask_udf_distilled.py"
CLASSES_UDF_FILE = "cotmask_classes_udf.py"
SHADOW_UDF_FILE = "cotmask_shadow_udf.py"
CONSOLIDATE_UDF_FILE = "cotmask_consolidate_udf.py"
TEMPORAL_UDF_FILE = "cotmask_temporal_udf.py"
FRACTIONS_UDF_FILE = "cotmask_fractions_udf.py"
#: The spectral bands the series chain carries from the input to the temporal test and the shadow UDF.
CHAIN_BANDS = ("B02", "B03", "B04", "B08", "B11")
#: The temporal test's apply_neighborhood window (px; no t size: the whole series per call): 128 px keeps a call of 146
#: dates below 300 MiB (benchmarks/series_cost.json).
TEMPORAL_WINDOW = 128
#: The consolidation's disc radius (px) by default, chosen on the real labels (evaluation/consolidation_experiment.md),
#: and its apply_neighborhood window (the overlap is the largest radius allowed).
SMOOTH_RADIUS, CONSOLIDATE_WINDOW = 4, 1024
#: run_udf's runtime: the UDF code needs Python >= 3.10 (``X | Y`` annotations).
UDF_RUNTIME = {"runtime": "Python", "version": "3.11"}
PERIODS = ("dekad", "month", "season")
#: ESA WorldCover 2021 legend codes (10 tree cover ... 100 moss and lichen).
WORLDCOVER_CLASSES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)


def _num(name: str, default: float, description: str, **schema) -> Parameter:
    return (
        Parameter.number(name, default=default, description=description)
        if not schema
        else Parameter(name, description=description, schema={"type": "number", **schema}, default=default)
    )


def load_parameters() -> list[Parameter]:
    """collection_id, spatial_extent, temporal_extent, bands."""
    l2a = list(load_model("L2A").bands)
    return [
        Parameter.string(
            "collection_id",
            default="SENTINEL2_L2A",
            description="Sentinel-2 collection (L2A or L1C; for L1C pass the L1C bands, incl. B10).",
        ),
        Parameter.spatial_extent("spatial_extent", description="Area of interest (bounding box)."),
        Parameter.temporal_interval("temporal_extent", description="Time range [start, end)."),
        Parameter.array(
            "bands",
            default=l2a,
            item_schema={"type": "string"},
            description="Spectral bands to load: the cotmask model's inputs. Default: the L2A model's "
            f"{l2a}; for L1C add B10.",
        ),
    ]


def model_parameters() -> list[Parameter]:
    """level, scale, offset, thresholds and model kind (the UDF context)."""
    th = load_model("L2A").thresholds
    members = load_model("L2A", "ensemble").metadata["members"]
    return [
        Parameter(
            "level",
            description="Model level L1C or L2A; null: L1C if B10 is among the bands, else L2A.",
            schema={"type": ["string", "null"], "enum": ["L1C", "L2A", None]},
            default=None,
        ),
        _num(
            "scale",
            DN_SCALE,
            "Reflectance = (DN + offset) * scale; 1 if the data is reflectance already.",
            exclusiveMinimum=0,
        ),
        _num(
            "offset",
            0,
            "DN offset: 0 for harmonised data (Sentinel Hub based collections) and baseline < 04.00; "
            "-1000 for raw ESA products of processing baseline >= 04.00.",
        ),
        _num("thin_threshold", th["thin"], "COT from which a pixel is thin cloud.", minimum=0),
        _num(
            "opaque_threshold",
            th["opaque"],
            "COT from which a pixel is opaque cloud (must exceed thin_threshold).",
            minimum=0,
        ),
        Parameter.string(
            "model",
            default=DEFAULT_MODEL,
            values=sorted({kind for _, kind in GRAPH_MODELS}),
            description="cotmask model: the distilled network (L1C and L2A; one network of an ensemble "
            f"member's size trained on the {members}-member ensemble; its speed and flags: the model card), the only "
            "one a UDP can carry. For the ensemble apply udf/cotmask_udf.py with apply_dimension.",
        ),
        Parameter(
            "smooth",
            schema={"type": "integer", "minimum": 0, "maximum": MAX_RADIUS},
            default=SMOOTH_RADIUS,
            description="Spatial consolidation: COT averaged over a disc of this radius (px) before the thresholds, as "
            "s2cloudless averages its probabilities (the physics rules still decide pixel by pixel). "
            f"{SMOOTH_RADIUS} px kept the real haze found and cut the false flags on clear and bright ground by about "
            "a sixth (evaluation/consolidation_experiment.md); 0: pixel by pixel.",
        ),
    ]


def mask_parameters() -> list[Parameter]:
    """Which classes to mask, dilation buffer, SCL classes."""
    return [
        Parameter(
            "min_class",
            schema={"type": "integer", "enum": [1, 2]},
            default=1,
            description="Mask pixels of this cloud class and above: 1 masks thin and opaque cloud, 2 opaque only.",
        ),
        Parameter(
            "buffer",
            schema={"type": "integer", "minimum": 0, "maximum": 50},
            default=1,
            description="Dilation buffer around cloudy pixels, in pixels (0: none).",
        ),
        Parameter.array(
            "scl_classes",
            default=[],
            item_schema={"type": "integer"},
            description="Also mask these SCL classes, e.g. [3, 8, 9, 10] (cloud shadow, medium/high "
            "cloud, cirrus) or with 11 (snow). []: cotmask's model alone.",
        ),
        shadows_parameter(),
        temporal_parameter(),
        Parameter.string(
            "scl_collection",
            default="SENTINEL2_L2A",
            description="Collection that provides the SCL band: an L2A collection (for L1C input, "
            "the L2A twin of the same acquisitions).",
        ),
    ]


def shadows_parameter() -> Parameter:
    """shadows: whether cloud shadows are computed (and masked)."""
    return Parameter.boolean(
        "shadows",
        default=True,
        description="Also find cloud shadows (projected from cotmask's opaque clouds along the "
        "sun direction, matched to dark NIR/SWIR pixels) and mask them.",
    )


def temporal_parameter() -> Parameter:
    """temporal: whether the multi-temporal cloud and haze test runs."""
    d = {k: v[0] for k, v in TEMPORAL_CONTEXT.items()}
    return Parameter.boolean(
        "temporal",
        default=True,
        description="Multi-temporal cloud and haze test: each date of a pixel is compared with its own clear-sky "
        f"history (the median of its {d['nearest']} nearest not-opaque dates within {d['window_days']} days): a clear "
        f"date whose blue rises by more than {d['raise_blue']} over it (and not like bare soil or snow) becomes thin, "
        "a thin date no brighter in blue than that history becomes clear (its surface); opaque is never lowered. "
        f"Where a pixel has fewer than {d['min_dates']} such dates (series of 1-3 dates, long cloudy spells) the "
        "single-date class stands. Uses only the requested dates (evaluation/temporal_experiment.md).",
    )


def params(parameters: list[Parameter]) -> dict[str, Parameter]:
    """Name -> Parameter."""
    return {q.name: q for q in parameters}


def load(p: dict) -> DataCube:
    """load_collection + filter_bands (explicit: some engines ignore bands in load_collection)."""
    cube = DataCube.load_collection(
        p["collection_id"],
        connection=None,
        spatial_extent=p["spatial_extent"],
        temporal_extent=p["temporal_extent"],
        bands=p["bands"],
    )
    return cube.filter_bands(p["bands"])


def udf(name: str, context: dict) -> openeo.UDF:
    """A generated UDF file as ``run_udf`` callback, runtime pinned (``UDF_RUNTIME``)."""
    return openeo.UDF(udf_text(name), context=context, **UDF_RUNTIME)


def top_level_if(condition, accept: DataCube, reject: DataCube) -> DataCube:
    """``if(condition, accept, reject)`` as a top-level node: evaluated by the backend driver (which
    resolves UDP parameters there), unlike an ``if`` inside a callback."""
    return DataCube(
        PGNode("if", value=condition, accept=accept, reject=reject), connection=None, metadata=accept.metadata
    )


def apply_cotmask(cube: DataCube, context: dict, udf_file: str = UDF_FILE, rules: bool = False) -> DataCube:
    """apply_dimension(bands, cotmask UDF) with labels declared by rename_labels: cot, cot_std, cloud_class, ood (and
    ``rules`` where the context asks for the rule band). ``udf_file``: the generated UDF to embed (graphs:
    ``cotmask_udf_distilled.py``; all models: ``cotmask_udf.py``)."""
    labels = [*OUTPUT_BANDS, RULE_BAND] if rules else list(OUTPUT_BANDS)
    return cube.apply_dimension(dimension="bands", process=udf(udf_file, context)).rename_labels("bands", target=labels)


#: UDP parameters that go into the cotmask UDF's context.
CONTEXT_PARAMETERS = ("level", "scale", "offset", "thin_threshold", "opaque_threshold", "model")


def cot_bands(cube: DataCube, p: dict) -> DataCube:
    """The cotmask UDF on ``cube`` with the UDP's model parameters as its context, its classes consolidated over a
    disc of ``smooth`` px (a top-level ``if``: none when 0)."""
    # the cotmask UDF also says which physics rule set each class (band rules): the consolidation keeps them pixel by
    # pixel without reading the spectral bands again
    mask = apply_cotmask(cube, {k: p[k] for k in CONTEXT_PARAMETERS} | {"rule_band": True}, rules=True)
    context = {"radius": p["smooth"], "thin_threshold": p["thin_threshold"], "opaque_threshold": p["opaque_threshold"]}
    smoothed = neighborhood(mask, CONSOLIDATE_UDF_FILE, context, CONSOLIDATE_WINDOW, MAX_RADIUS, per_date=True)
    keep = list(OUTPUT_BANDS)
    return top_level_if(eq(p["smooth"], 0), mask.filter_bands(keep), smoothed.filter_bands(keep))


def neighborhood(cube: DataCube, udf_file: str, context: dict, size: int, overlap: int, per_date: bool) -> DataCube:
    """``apply_neighborhood`` with a generated UDF: ``size`` px windows with ``overlap`` px, one date per call
    (``per_date``: a ``t`` size of P1D; geopyspark ``apply_tiles``) or the whole series (no ``t`` size;
    ``apply_tiles_spatiotemporal``, docs/backend.md)."""
    window = [{"dimension": d, "value": size, "unit": "px"} for d in ("x", "y")]
    window += [{"dimension": "t", "value": "P1D"}] if per_date else []
    margin = [{"dimension": d, "value": overlap, "unit": "px"} for d in ("x", "y")]
    return cube.apply_neighborhood(process=udf(udf_file, context), size=window, overlap=margin)


def chain(cube: DataCube, mask: DataCube, all_bands: bool = False) -> DataCube:
    """The series chain's start: ``CHAIN_BANDS`` of ``cube`` (``all_bands``: every band) merged with cotmask's cot
    and cloud_class: what the temporal test and the shadow UDF read, in one cube, so that the cotmask UDF's result
    has this one consumer."""
    spectral = cube if all_bands else cube.filter_bands(list(CHAIN_BANDS))
    return spectral.merge_cubes(mask.filter_bands(["cot", "cloud_class"]))


def temporal_test(series: DataCube, p: dict) -> DataCube:
    """The temporal test UDF on a chain cube (labels unchanged), or the cube itself where ``temporal`` is false (a
    top-level ``if``)."""
    context = {"scale": p["scale"], "offset": p["offset"], "thin_threshold": p["thin_threshold"]}
    tested = neighborhood(series, TEMPORAL_UDF_FILE, context, TEMPORAL_WINDOW, MAX_RADIUS, per_date=False)
    return top_level_if(p["temporal"], tested, series)


def shadows(cube: DataCube, p: dict, resolution_m: float = 10.0, fold: bool = True) -> DataCube:
    """The shadow UDF in ``apply_neighborhood`` on a cube holding B03, B08, B11 and cotmask's cloud_class: every band
    passed through, shadowed (clear) pixels of cloud_class set to ``SHADOW_CLASS`` (``fold``) or a band
    ``shadow`` appended (1 shadow, 0 not, NaN nodata); window from ``cotmask.udf.shadow``, overlap the shadow reach in
    metres at the cube's ``resolution_m`` (``overlap_px``)."""
    context = {"scale": p["scale"], "offset": p["offset"], "fold": int(fold)}
    return neighborhood(cube, SHADOW_UDF_FILE, context, NEIGHBORHOOD_SIZE, overlap_px(resolution_m), per_date=True)


def classes(cube: DataCube, mask: DataCube, p: dict, all_bands: bool = False) -> DataCube:
    """The series chain: cotmask's classes, the temporal test (``temporal``) and cloud shadows folded into
    cloud_class as ``SHADOW_CLASS`` (``shadows``), each a top-level ``if``; every node reads the one before it only,
    so the model runs once per pixel and date whatever the backend caches (tests/test_compute_once.py)."""
    tested = temporal_test(chain(cube, mask, all_bands), p)
    return top_level_if(p["shadows"], shadows(tested, p), tested)


def class_hit(cube: DataCube, classes, invert: bool = False, label: str = "hit") -> DataCube:
    """One band ``label``: 1 where the (single-band) cube's class code is in ``classes`` (a UDF: no
    ``array_contains`` and no parameter inside a callback on geotrellis)."""
    context = {"classes": classes, "invert": invert, "label": label}
    return cube.apply_dimension(dimension="bands", process=udf(CLASSES_UDF_FILE, context)).rename_labels(
        "bands", target=[label]
    )


def cloudy_mask(cube: DataCube, p: dict) -> DataCube:
    """Boolean cube (t, y, x): class >= min_class after the temporal test, cloud shadow (class ``SHADOW_CLASS``)
    where ``shadows`` is true, dilated by ``buffer`` pixels, OR SCL in scl_classes."""
    from openeo.processes import add, array_create, multiply

    cls = classes(cube, cot_bands(cube, p), p).band("cloud_class")
    cloudy = top_level_if(eq(p["min_class"], 2), cls.apply(lambda x: x.gte(2)), cls.apply(lambda x: x.gte(1)))
    size = add(multiply(p["buffer"], 2), 1)  # top-level arithmetic on the parameter: resolved by the driver
    kernel = array_create(data=[array_create(data=[1], repeat=size)], repeat=size)
    dilated = cloudy.apply_kernel(kernel=kernel, border=0, replace_invalid=0).apply(lambda x: x.gt(0))
    scl = DataCube.load_collection(
        p["scl_collection"],
        connection=None,
        spatial_extent=p["spatial_extent"],
        temporal_extent=p["temporal_extent"],
        bands=["SCL"],
    )
    return dilated.logical_or(class_hit(scl, p["scl_classes"]).band("hit"))

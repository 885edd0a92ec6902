"""Check UDP arguments when the graph is built, so mistakes fail at once with a clear message."""

import json
import warnings
from datetime import date

from ..core.bands import S2_BANDS, band_labels
from ..core.context import parse_context
from ..core.cube import resolve_model
from ..core.shipped import load_model
from ..udf.build import GRAPH_MODELS
from ..udf.composite import REDUCERS
from ..udf.consolidate import MAX_RADIUS
from .backend import MAX_REQUEST_BYTES, REQUEST_OVERHEAD_BYTES
from .common import CONTEXT_PARAMETERS, PERIODS, WORLDCOVER_CLASSES

#: Band labels a Sentinel-2 collection may carry (spectral bands and L2A auxiliary layers).
KNOWN_BANDS = set(S2_BANDS) | {"SCL", "AOT", "WVP", "SNW", "CLD", "dataMask"}


def _geojson(geometries) -> dict:
    """GeoJSON dict (WGS84) from a dict or a GeoDataFrame/GeoSeries; empty or invalid geometries raise."""
    import shapely.geometry
    from shapely.validation import explain_validity

    if hasattr(geometries, "to_crs"):  # geopandas
        if len(geometries) == 0:
            raise ValueError("geometries: the GeoDataFrame is empty")
        if geometries.crs is None:
            raise ValueError("geometries: the GeoDataFrame has no CRS; set one (e.g. EPSG:4326)")
        geometries = geometries.to_crs("EPSG:4326").__geo_interface__
    if not isinstance(geometries, dict) or "type" not in geometries:
        raise ValueError(f"geometries must be GeoJSON (dict) or a GeoDataFrame, got {type(geometries).__name__}")
    feats = geometries.get("features") if geometries["type"] == "FeatureCollection" else [geometries]
    if not feats:
        raise ValueError("geometries: the FeatureCollection has no features")
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or (f.get("type") == "Feature" and not f.get("geometry")):
            raise ValueError(f"geometries: feature {i} has no geometry (null or empty)")
        try:
            g = shapely.geometry.shape(f.get("geometry", f) if f.get("type") == "Feature" else f)
        except Exception as e:
            raise ValueError(f"geometries: feature {i} is not a valid GeoJSON geometry ({e})") from e
        if not g.is_empty and not g.is_valid:
            raise ValueError(f"geometries: feature {i} is invalid: {explain_validity(g)}")
        if g.is_empty or g.area == 0:
            raise ValueError(f"geometries: feature {i} is empty or has no area")
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"geometries: feature {i} is a {g.geom_type}; polygons are needed")
        lon0, lat0, lon1, lat1 = g.bounds
        if not (-180 <= lon0 and lon1 <= 180 and -90 <= lat0 and lat1 <= 90):
            raise ValueError(f"geometries: feature {i} is not in longitude/latitude (WGS84) degrees: bounds {g.bounds}")
    return geometries


#: Arguments that must be numbers (not strings or booleans), and those that must be whole numbers; the UDF
#: context's (scale, offset, thresholds, level, model) are checked by ``core.parse_context``, as in the UDF.
NUMBERS = ("resolution",)
INTEGERS = ("min_class", "buffer", "smooth")
STRINGS = ("collection_id", "scl_collection", "worldcover_collection", "period", "reducer", "model")


def _check_types(a: dict) -> None:
    for key in NUMBERS + INTEGERS:
        v = a.get(key)
        if key in a and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValueError(f"{key} must be a number, got {v!r} ({type(v).__name__})")
        if key in INTEGERS and key in a and v != int(v):
            raise ValueError(f"{key} must be a whole number, got {v!r}")
    for key in STRINGS:
        if key in a and not isinstance(a[key], str):
            raise ValueError(f"{key} must be a string, got {a[key]!r} ({type(a[key]).__name__})")
    for key in ("bands", "scl_classes", "worldcover_classes"):
        if key in a and not isinstance(a[key], (list, tuple)):
            raise ValueError(f"{key} must be a list, got {a[key]!r} ({type(a[key]).__name__})")
    if "geometries" in a and a["geometries"] is None:
        raise ValueError("geometries is required: polygons as GeoJSON or a GeoDataFrame, got None")


def _check_temporal_extent(extent) -> None:
    """[start, end): two ISO dates (or null for an open end), start before end."""
    example = "e.g. ['2024-06-01', '2024-07-01']"
    if isinstance(extent, str) or not isinstance(extent, (list, tuple)) or len(extent) != 2:
        raise ValueError(f"temporal_extent must be [start, end], {example}; got {extent!r}")
    try:
        start, end = (date.fromisoformat(str(v)[:10]) if v is not None else None for v in extent)
    except ValueError as e:
        raise ValueError(f"temporal_extent {list(extent)} is not two ISO dates ({e}); {example}") from None
    if start and end and not start < end:
        raise ValueError(f"temporal_extent is empty or inverted: {list(extent)} (start must be before end)")


#: Fewer days than this hold fewer than 4 Sentinel-2 dates at most places: the temporal test then has no reference.
MIN_TEMPORAL_DAYS = 20


def _check_temporal_span(extent) -> None:
    """Warn where the temporal test cannot work: a period too short for 3 other not-opaque dates per date."""
    if not (extent[0] and extent[1]):
        return
    start, end = (date.fromisoformat(str(v)[:10]) for v in extent)
    if (end - start).days < MIN_TEMPORAL_DAYS:
        warnings.warn(
            f"temporal_extent spans {(end - start).days} days: the temporal test needs 3 other not-opaque dates "
            "near each date and keeps the single-date classes where it has fewer; load a longer period (the test "
            "uses only the dates loaded) or pass temporal=false",
            UserWarning,
            stacklevel=4,
        )


def _check_dekad_start(period, extent) -> None:
    """geotrellis builds dekads from month starts (``date_range(start - 10 days, end, freq="MS")``, reported in
    cotmask issue 19): an extent starting after day 11 loses the rest of its first month. Refused, naming the fix."""
    if period != "dekad" or not extent[0]:
        return
    start = date.fromisoformat(str(extent[0])[:10])
    if start.day > 11:
        first, next_month = start.replace(day=1), date(start.year + start.month // 12, start.month % 12 + 1, 1)
        raise ValueError(
            f"with period 'dekad' the backend loses the rest of the first month when temporal_extent starts after "
            f"day 11 (got {start}): start on {first} (or a later month, {next_month})"
        )


def _check_spatial_extent(extent) -> None:
    """west/south/east/north numbers, not inverted; degrees unless a crs says otherwise."""
    keys = ("west", "south", "east", "north")
    if not isinstance(extent, dict):
        raise ValueError(f"spatial_extent must be a dict with {list(keys)}, got {extent!r}")
    missing = [k for k in keys if k not in extent]
    if missing:
        raise ValueError(f"spatial_extent lacks {missing}: give {list(keys)} (and crs, if not degrees)")
    bad = [k for k in keys if isinstance(extent[k], bool) or not isinstance(extent[k], (int, float))]
    if bad:
        raise ValueError(f"spatial_extent {bad} must be numbers, got {[extent[k] for k in bad]}")
    if not (extent["west"] < extent["east"] and extent["south"] < extent["north"]):
        raise ValueError(f"spatial_extent is empty or inverted: {extent}")
    crs = extent.get("crs", 4326)
    in_degrees = str(crs).upper().replace("EPSG:", "") in ("4326", "OGC:CRS84", "CRS84")
    if in_degrees and not (
        -180 <= extent["west"] and extent["east"] <= 180 and -90 <= extent["south"] and extent["north"] <= 90
    ):
        raise ValueError(
            f"spatial_extent {extent} is not in degrees (longitude/latitude): for metres (UTM) add its "
            "crs, e.g. 'crs': 32633"
        )


def request_bytes(arguments: dict) -> int:
    """The size of a request calling a UDP with ``arguments`` (JSON as the client sends it, plus the call's own
    ``REQUEST_OVERHEAD_BYTES``)."""
    return len(json.dumps(arguments)) + REQUEST_OVERHEAD_BYTES  # json.dumps as the openeo client sends it


def check_request_size(arguments: dict) -> None:
    """``ValueError`` with the size and the fix when the request would exceed the backends' body limit."""
    size = request_bytes(arguments)
    if size > MAX_REQUEST_BYTES:
        raise ValueError(
            f"the request would be {size / 2**20:.1f} MiB, above the {MAX_REQUEST_BYTES / 2**20:.0f} MiB an openEO "
            "backend accepts: simplify the polygons (GeoDataFrame.simplify) or send them in batches "
            "(cotmask.client.batches.run_in_batches; client_examples/screen_stands.py --batches)"
        )


def validate_arguments(declared: list[str], arguments: dict) -> dict:
    """Validated (and normalised) arguments for a UDP with the parameter names ``declared``."""
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        raise ValueError(f"unknown arguments {unknown}; this process takes {sorted(declared)}")
    a = dict(arguments)
    _check_types(a)
    ctx = parse_context({k: a[k] for k in CONTEXT_PARAMETERS if k in a})  # the UDF's rules, before anything is sent
    if "bands" in a:
        bad = sorted(set(a["bands"]) - KNOWN_BANDS)
        if bad:
            raise ValueError(f"unknown band labels {bad}; Sentinel-2 collections have {sorted(KNOWN_BANDS)}")
    bands = a.get("bands", load_model("L2A").bands)  # no bands given: the graphs' default, the L2A model's
    model, _, _ = resolve_model(ctx, band_labels(bands), lambda level, kind, engine: load_model(level, kind))
    level, kind = model.level, model.kind
    if kind != ctx["model"]:
        warnings.warn(
            f"bands lack {[b for b in load_model(level, ctx['model']).bands if b not in model.bands]}: the cotmask "
            f"{level} {kind} model runs (trained without them; its metrics: models/README.md)",
            UserWarning,
            stacklevel=3,
        )
    if (level, kind) not in GRAPH_MODELS:
        carried = [k for lv, k in GRAPH_MODELS if lv == level]
        raise ValueError(
            f"the published graphs carry the {level} model only as {' or '.join(map(repr, carried))} "
            f"(size limit of a UDP); pass model={carried[0]!r}, or apply udf/cotmask_udf.py (all "
            "models) with apply_dimension"
        )
    if a.get("temporal_extent") is not None:
        _check_temporal_extent(a["temporal_extent"])
        _check_dekad_start(a.get("period"), a["temporal_extent"])
        if "temporal" in declared and a.get("temporal", True):
            _check_temporal_span(a["temporal_extent"])
    if a.get("spatial_extent") is not None:
        _check_spatial_extent(a["spatial_extent"])
    for key, allowed in (("period", PERIODS), ("reducer", REDUCERS), ("min_class", (1, 2))):
        if key in a and a[key] not in allowed:
            raise ValueError(f"{key} {a[key]!r} is not supported; choose one of {list(allowed)}")
    for key in ("shadows", "temporal"):
        if key in a and not isinstance(a[key], bool):
            raise ValueError(f"{key} must be true or false, got {a[key]!r}")
    if "smooth" in a and not (isinstance(a["smooth"], int) and 0 <= a["smooth"] <= MAX_RADIUS):
        raise ValueError(f"smooth must be an integer radius in px within [0, {MAX_RADIUS}], got {a['smooth']!r}")
    if "buffer" in a and not (isinstance(a["buffer"], int) and 0 <= a["buffer"] <= 50):
        raise ValueError(f"buffer must be an integer number of pixels in [0, 50], got {a['buffer']!r}")
    if "scl_classes" in a and not all(isinstance(c, int) and 0 <= c <= 11 for c in a["scl_classes"]):
        raise ValueError(f"scl_classes must be SCL codes 0-11, got {a['scl_classes']}")
    if "worldcover_classes" in a:
        bad = sorted(set(a["worldcover_classes"]) - set(WORLDCOVER_CLASSES))
        if bad or not a["worldcover_classes"]:
            raise ValueError(
                f"worldcover_classes {bad or '[]'}: give ESA WorldCover classes from "
                f"{list(WORLDCOVER_CLASSES)} (10 = tree cover; all of them = no restriction)"
            )
    if "geometries" in a:
        a["geometries"] = _geojson(a["geometries"])
        check_request_size(a)
    return a

"""openEO entry points of the class-test UDF (udf/cotmask_classes_udf.py), run in ``apply_dimension(bands)``."""

import xarray as xr

from .classes import in_classes  # udf_build: drop

#: Context key -> (default, meaning); ``classes`` is required.
CONTEXT = {
    "classes": (None, "required: the list of class codes that count as a hit"),
    "invert": (False, "true: a hit where the class is not in the list (nodata is never a hit)"),
    "label": ("hit", "label of the output band"),
}


def apply_datacube(cube: xr.DataArray, context: dict) -> xr.DataArray:
    """1 where the band's class is in context ``classes`` (``invert``: not in), band ``label``."""
    ctx = dict(context or {})
    unknown = sorted(set(ctx) - set(CONTEXT))
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: {sorted(CONTEXT)}")
    if "classes" not in ctx:
        raise ValueError("context 'classes' (a list of class codes) is required")
    get = lambda key: ctx.get(key, CONTEXT[key][0])  # noqa: E731
    return in_classes(cube, ctx["classes"], bool(get("invert")), str(get("label")))


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band label."""
    return metadata.rename_labels(dimension="bands", target=[str((context or {}).get("label", CONTEXT["label"][0]))])

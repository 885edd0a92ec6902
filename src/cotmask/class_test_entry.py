"""openEO entry points of the class-test UDF; ``cotmask.udf_build`` appends it after ``class_test.py``."""

import xarray

from .class_test import in_classes  # udf_build: drop

CLASS_TEST_CONTEXT = ("classes", "invert", "label")


def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    """1 where the band's class is in context ``classes`` (``invert``: not in), band ``label`` ("hit")."""
    ctx = dict(context or {})
    unknown = sorted(set(ctx) - set(CLASS_TEST_CONTEXT))
    if unknown:
        raise ValueError(f"unknown context keys {unknown}; allowed: {list(CLASS_TEST_CONTEXT)}")
    if "classes" not in ctx:
        raise ValueError("context 'classes' (a list of class codes) is required")
    return in_classes(cube, ctx["classes"], bool(ctx.get("invert", False)), str(ctx.get("label", "hit")))


def apply_metadata(metadata, context: dict):
    """openEO entry point: the output band label."""
    return metadata.rename_labels(dimension="bands", target=[str((context or {}).get("label", "hit"))])

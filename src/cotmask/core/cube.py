"""A labelled Sentinel-2 cube in, the cotmask bands out (cot, cot_std, cloud_class, ood), with CF attributes.

numpy + xarray; inlined into the cotmask UDFs by ``cotmask.udf.build`` (``apply_datacube`` calls ``cube_outputs``).
"""

import warnings
from typing import Callable

import numpy as np
import xarray as xr

from .bands import (  # udf_build: drop
    BAND_RE,
    MAX_COT,
    OUTPUT_BANDS,
    RULE_BAND,
    RULE_FLOOR,
    RULE_SNOW,
    band_labels,
    dn_to_reflectance,
    kind_for,
    level_for,
)
from .checks import OFFSET_TELL_BANDS, bulk_counts, check_bulk, offset_warning  # udf_build: drop
from .context import parse_context, threshold_pair  # udf_build: drop
from .model import Model, classify  # udf_build: drop
from .rules import rule_masks  # udf_build: drop

#: CF attributes of the output bands (netCDF variables; one place for the UDF, the package and the demo).
BAND_ATTRS = {
    "cot": {
        "long_name": "cloud optical thickness at 550 nm (ensemble mean; distilled model: its estimate of it)",
        "units": "1",
        "valid_min": 0.0,
        "valid_max": MAX_COT,
    },
    "cot_std": {
        "long_name": "cloud optical thickness uncertainty (ensemble spread; distilled model: its estimate of it)",
        "units": "1",
        "valid_min": 0.0,
    },
    "cloud_class": {
        "long_name": "cotmask cloud class",
        "units": "1",
        "flag_values": [0, 1, 2],
        "flag_meanings": "clear thin_cloud opaque_cloud",
    },
    "ood": {
        "long_name": "distance of the input spectrum to the training data (1: as far as the most unusual 1 % "
        "of the training samples; above 1 the model extrapolates)",
        "units": "1",
        "valid_min": 0.0,
    },
}


#: The attributes a cotmask result carries (``output_attrs``): what a file written from it records, and nothing else.
RESULT_ATTRS = (
    "cotmask_model",
    "cotmask_level",
    "cotmask_model_version",
    "thin_threshold",
    "opaque_threshold",
    "input_scale",
    "input_offset",
    "cloud_class_meanings",
)


def output_attrs(model: "Model", thin: float, opaque: float, ctx: dict) -> dict:
    """Attributes of a cotmask result: model, version, level, thresholds and the DN conversion used."""
    meanings = "0 clear (COT < thin_threshold), 1 thin, 2 opaque (COT >= opaque_threshold); NaN nodata"
    values = (
        model.kind,
        model.level,
        str(model.metadata.get("version", "")),
        thin,
        opaque,
        ctx["scale"],
        ctx["offset"],
        meanings,
    )
    return dict(zip(RESULT_ATTRS, values))


def band_dim(cube: xr.DataArray) -> str:
    """The name of the cube's bands dimension (``bands`` or ``band``); ``ValueError`` when it has none."""
    for d in cube.dims:
        if str(d).lower() in ("bands", "band"):
            return str(d)
    raise ValueError(f"cube has no bands dimension (dims {list(cube.dims)}); apply cotmask along 'bands'")


def resolve_model(
    ctx: dict, labels: dict, get_model: Callable[[str, str, "str | None"], "Model"]
) -> tuple["Model", float, float]:
    """The model a cube with the canonical band ``labels`` gets under the parsed context ``ctx`` (level from B10,
    the no-B09 sibling where B09 is all that is missing) and its thresholds (context, else the model's metadata);
    ``ValueError`` naming missing bands or thresholds out of order. The one place UDF, package, ``check_arguments``
    and the demo decide this."""
    level = level_for(ctx["level"], labels)
    model = get_model(level, ctx["model"], ctx["engine"])
    missing = [b for b in model.bands if b not in labels]
    kind = kind_for(ctx["model"], missing)  # e.g. no B09: the distilled model trained without it
    if kind != ctx["model"]:
        model = get_model(level, kind, ctx["engine"])
        missing = [b for b in model.bands if b not in labels]
    if missing and labels and not any(BAND_RE.match(str(b)) for b in labels.values()):
        raise ValueError(
            f"band labels {list(labels.values())[:13]} are not Sentinel-2 band names (e.g. rioxarray's "
            "1..N): name them, e.g. cotmask.cloud_mask(cube, context, bands=[...]) or assign_coords"
        )
    if missing:
        raise ValueError(
            f"the input lacks bands {missing} needed by the cotmask {level} model ({model.kind}; has "
            f"{sorted(labels)}); the {level} model needs {list(model.bands)}"
        )
    thin, opaque = threshold_pair(
        ctx["thin_threshold"] if ctx["thin_threshold"] is not None else model.thresholds["thin"],
        ctx["opaque_threshold"] if ctx["opaque_threshold"] is not None else model.thresholds["opaque"],
    )
    return model, thin, opaque


def rule_codes(cls: np.ndarray, clear: np.ndarray | None, cloud: np.ndarray | None) -> np.ndarray:
    """Per pixel which rule set its class: ``RULE_SNOW`` the snow test, ``RULE_FLOOR`` the cirrus floor, 0 neither,
    NaN nodata."""
    codes = np.zeros(cls.shape, np.float32)
    if clear is not None:
        codes[clear] = RULE_SNOW
    if cloud is not None:
        codes[cloud] = RULE_FLOOR
    codes[np.isnan(cls)] = np.nan
    return codes


def cube_outputs(
    cube: xr.DataArray, context: dict | None, get_model: Callable[[str, str, "str | None"], "Model"]
) -> xr.DataArray:
    """COT, spread, class and ood for a labelled cube with a bands dimension and any other dimensions.

    Input is DN (``(v + offset) * scale``, ``nodata`` DN and NaN give NaN) or, with ``scale=1``,
    reflectance. Output: the same dimensions, band labels ``OUTPUT_BANDS`` (with context ``rule_band`` also
    ``RULE_BAND``: which physics rule set the class), float32.
    """
    ctx = parse_context(context)
    bdim = band_dim(cube)
    if not np.issubdtype(cube.dtype, np.number) or np.issubdtype(cube.dtype, np.bool_):
        raise TypeError(f"cube must be numeric, got dtype {cube.dtype}")
    labels = band_labels(cube.coords[bdim].values) if bdim in cube.coords else {}
    model, thin, opaque = resolve_model(ctx, labels, get_model)
    values = np.asarray(cube.values)  # no copy for numpy-backed cubes
    order = list(cube.coords[bdim].values)
    band_idx = [order.index(labels[b]) for b in model.bands]
    data = np.moveaxis(values, cube.dims.index(bdim), -1)  # (..., all bands): a view
    lead = data.shape[:-1]
    data = data.reshape((1,) * max(0, 3 - data.ndim) + data.shape)  # at least (rows, cols, bands)
    names = [*OUTPUT_BANDS, RULE_BAND] if ctx["rule_band"] else list(OUTPUT_BANDS)
    out = np.empty((*data.shape[:-1], len(names)), dtype=np.float32)
    scale, offset, nodata = ctx["scale"], ctx["offset"], ctx["nodata"]
    chunk = int(ctx["chunk_size"] or model.chunk_size)
    rows = max(1, chunk // max(1, data.shape[-2]))
    slices = [
        (*idx, slice(r0, r0 + rows)) for idx in np.ndindex(*data.shape[:-3]) for r0 in range(0, data.shape[-3], rows)
    ]
    slices = slices if out.size else []  # a zero-size spatial or time dimension: an empty result, no chunk to run
    tell = [model.bands.index(b) for b in OFFSET_TELL_BANDS if b in model.bands]

    def reflectance(sl: tuple) -> np.ndarray:
        raw = np.asarray(data[sl][..., band_idx]).reshape(-1, len(band_idx))  # chunk copy only, dtype kept
        return dn_to_reflectance(raw, scale, offset, nodata)  # NaN rows are nodata in model.run

    def one_chunk(sl: tuple) -> tuple:  # writes its part of ``out``; returns what the checks below need
        refl = reflectance(sl)
        dark = np.full(len(tell), np.inf)
        if tell:
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN chunk
                dark = np.nanmin(refl[:, tell], axis=0)
        # a slice of less than two chunks runs as one call (at most twice a chunk's intermediates per worker): a
        # tile row as one call is faster than split into a chunk and a remainder (benchmarks/results.md)
        size = len(refl) if len(refl) < 2 * chunk else chunk
        cot, std, ood = model.run(refl, size, check=False, with_ood=True, serial=True)  # already on a worker thread
        clear, cloud = rule_masks(refl, model.bands, cot, ctx["snow_test"], ctx["cirrus_floor"])
        cls = classify(cot, thin, opaque, clear, cloud)
        bands = [cot, std, cls, ood] + ([rule_codes(cls, clear, cloud)] if ctx["rule_band"] else [])
        out[sl] = np.stack(bands, axis=-1).reshape(out[sl].shape)
        return bulk_counts(refl), dark, int(np.isfinite(cls).sum()), int((cls == 2).sum())

    # one pass, chunks on the model's worker threads; the bulk verdict covers the whole cube, whatever the chunking
    parts = model.map(one_chunk, slices)
    counts = sum((p[0] for p in parts), np.zeros(3, dtype=np.int64))
    dark = np.fmin.reduce([p[1] for p in parts]) if parts else np.full(len(tell), np.inf)
    n_valid, n_opaque = sum(p[2] for p in parts), sum(p[3] for p in parts)
    check_bulk(counts, "reflectance (after scale/offset)")  # before any result leaves: no silently wrong mask
    opaque_share = n_opaque / n_valid if n_valid else 1.0  # counted per chunk: no full-size temporary
    hint = None
    if offset == 0 and scale < 0.01:
        hint = offset_warning(dict(zip((model.bands[i] for i in tell), dark.tolist())), opaque_share)
    if hint:
        warnings.warn(hint, UserWarning, stacklevel=2)
    out = out.reshape(*lead, len(names))
    dims = [d for d in cube.dims if d != bdim] + [bdim]
    coords = {k: v for k, v in cube.coords.items() if bdim not in v.dims}
    coords[bdim] = names
    result = xr.DataArray(out, dims=dims, coords=coords, attrs=output_attrs(model, thin, opaque, ctx))
    return result.transpose(*cube.dims)

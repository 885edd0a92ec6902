"""Local harness: run the cotmask UDF and process graphs on this machine, without a backend.

``run_udf_locally`` goes through ``openeo.udf.execute_local_udf``, as a backend's UDF runtime would.
``run_graph_locally`` executes a process graph with openEO's local processing
(``openeo.local``, i.e. openeo-processes-dask + openeo-pg-parser-networkx).

The local engine has gaps that real backends (CDSE, Terrascope) do not: its ``apply_dimension``
hands ``run_udf`` a bare array (dimension names and band labels lost; openeo-processes-dask
issue 330) and replaces changed band labels by integers. ``patch_local_processing`` fixes that here,
in one place, by wrapping the engine's registry entries -- the graphs themselves stay standard:

* ``apply_dimension`` remembers the labelled cube it applies over (a context variable) and, after
  the child process ran, restores the band labels the UDF produced; it also stops the engine from
  passing its own (empty) ``context`` over the ``context`` argument of the child ``run_udf``;
* ``run_udf`` rebuilds the labelled ``DataArray`` (dims ``(t, bands, y, x)``, as the geotrellis
  backends pass it), runs the UDF code, and hands the result back in the engine's axis order;
* ``rename_labels`` to the labels a dimension already has is a no-op (the engine raises
  LabelExists; geotrellis backends just set the labels);
* ``array_contains(list, x)`` inside ``apply`` works per pixel (the engine hands the callback the
  whole array and answers one scalar);
* ``array_create(data, repeat)`` repeats the elements of ``data`` (the engine's ``np.tile`` turns
  ``[[1, 1, 1]]`` repeated 3 times into a 1 x 9 array instead of 3 x 3: wrong kernels);
* ``aggregate_temporal_period`` calls the reducer once, on all periods padded with NaN: the
  engine calls it per period, and the graph parser caches the intermediate nodes of a callback
  across calls, so every multi-node reducer (e.g. an ``if`` choosing median or mean) silently
  returned the first period's result for all periods. Periods are labelled by their first day, as
  the geotrellis backends do (the engine: month end);
* ``aggregate_spatial`` gets an in-memory cube (xvec sends the lazy graph to joblib workers, which
  cannot pickle it);
* ``load_collection`` honours ``bands`` and ``temporal_extent`` (the engine ignores both for local
  files). ``spatial_extent`` is still ignored: local sample cubes are small, clip them beforehand.

``instantiate_udp`` turns a published UDP (graphs/*.json) plus arguments into a concrete process
graph, so the local tests execute exactly the committed JSON.
"""

import contextvars
from pathlib import Path

import numpy as np
import xarray as xr

from .best_pixel import period_start

_APPLY_CTX: contextvars.ContextVar = contextvars.ContextVar("cotmask_apply_dimension", default=None)
BACKEND_ORDER = ("t", "bands", "y", "x")


def default_udf_path(name: str = "cotmask_udf.py") -> Path:
    """Path of a generated UDF file in the repository's udf/ folder."""
    from .udf_build import udf_dir

    return udf_dir() / name


def run_udf_locally(cube: xr.DataArray, context: dict | None = None, udf: str | Path | None = None) -> xr.DataArray:
    """Run the UDF file (default ``udf/cotmask_udf.py``) on ``cube`` with ``openeo.udf.execute_local_udf``."""
    import openeo
    from openeo.udf import execute_local_udf

    code = Path(udf or default_udf_path()).read_text()
    result = execute_local_udf(openeo.UDF(code, runtime="Python", context=context or {}), cube)
    return result.get_datacube_list()[0].get_array()


_ORIGINAL: dict = {}  # the engine's own implementations, wrapped below


def _apply_dimension(data: xr.DataArray, process, dimension: str, target_dimension: str | None = None,
                     context: dict | None = None, **kwargs) -> xr.DataArray:
    state = {"source": data.transpose(..., dimension), "dimension": dimension, "labels": None}

    def child(*args, **kw):  # the engine passes apply_dimension's own context as a keyword, which
        kw.pop("context", None)  # would override run_udf's context argument; the spec's `context`
        return process(*args, **kw)  # parameter stays reachable through named_parameters

    token = _APPLY_CTX.set(state)
    try:
        out = _ORIGINAL["apply_dimension"](data=data, process=child, dimension=dimension,
                                           target_dimension=target_dimension, context=context, **kwargs)
    finally:
        _APPLY_CTX.reset(token)
    dim = target_dimension or dimension
    if state["labels"] is not None and dim in out.dims and len(out[dim]) == len(state["labels"]):
        out = out.assign_coords({dim: list(state["labels"])})
    return out


def _run_udf(data, udf: str, runtime: str, context: dict | None = None, **kwargs) -> xr.DataArray:
    from openeo.udf import UdfData, XarrayDataCube
    from openeo.udf.run_code import run_udf_code

    state = _APPLY_CTX.get()
    if state is not None and not isinstance(data, xr.DataArray):
        src = state["source"]
        data = xr.DataArray(data, dims=src.dims, coords=src.coords, attrs=src.attrs)
    if not isinstance(data, xr.DataArray):
        data = xr.DataArray(data)
    order = [d for d in BACKEND_ORDER if d in data.dims] + [d for d in data.dims if d not in BACKEND_ORDER]
    result = run_udf_code(code=udf, data=UdfData(datacube_list=[XarrayDataCube(data.transpose(*order).compute())],
                                                 user_context=context or {}))
    cubes = result.get_datacube_list()
    if len(cubes) != 1:
        raise ValueError(f"the UDF should return one datacube, got {len(cubes)}")
    out = cubes[0].get_array()
    if state is None:
        return out
    dim = state["dimension"]
    state["labels"] = out[dim].values if dim in out.coords else None  # numpy: keeps datetime64 labels
    return out.transpose(*state["source"].dims).data


def _rename_labels(data: xr.DataArray, dimension: str, target: list, source: list | None = None, **kwargs):
    if not source and dimension in data.coords and list(data.coords[dimension].values) == list(target):
        return data
    return _ORIGINAL["rename_labels"](data=data, dimension=dimension, target=target, source=source, **kwargs)


def _array_contains(data, value, **kwargs):
    if np.ndim(value) > 0 and np.ndim(data) <= 1:  # a per-pixel test applied to a whole cube
        elements = np.asarray([] if data is None else data)
        if isinstance(value, xr.DataArray):
            return xr.apply_ufunc(np.isin, value, kwargs={"test_elements": elements}, dask="parallelized",
                                  output_dtypes=[bool])
        return np.isin(value, elements)
    return _ORIGINAL["array_contains"](data=data, value=value, **kwargs)


def _array_create(data=None, repeat: int = 1, **kwargs):
    items = np.asarray([] if data is None else data)
    return np.concatenate([items] * int(repeat), axis=0) if items.size else items


def _aggregate_temporal_period(data: xr.DataArray, reducer, period: str, dimension: str | None = None, **kwargs):
    tdim = dimension or "t"
    starts = period_start(data[tdim].values, period)
    labels, group = np.unique(starts, return_inverse=True)
    arr = np.moveaxis(np.asarray(data.values, dtype=float), data.dims.index(tdim), 0)
    width = np.bincount(group).max()
    padded = np.full((len(labels), width, *arr.shape[1:]), np.nan)
    for g in range(len(labels)):
        members = arr[group == g]
        padded[g, :len(members)] = members
    reduced = np.asarray(reducer(padded, axis=1, positional_parameters={"data": 0}))
    dims = (tdim, *[d for d in data.dims if d != tdim])
    coords = {k: v for k, v in data.coords.items() if tdim not in v.dims}
    out = xr.DataArray(reduced, dims=dims, coords={**coords, tdim: labels}, attrs=data.attrs)
    return out.transpose(*data.dims)


def _aggregate_spatial(*args, **kwargs):
    load = lambda v: v.compute() if isinstance(v, xr.DataArray) else v  # noqa: E731
    return _ORIGINAL["aggregate_spatial"](*map(load, args), **{k: load(v) for k, v in kwargs.items()})


def _utc_datetime64(value) -> np.datetime64:
    """A (possibly timezone-aware) date/time as a naive UTC numpy datetime64."""
    import pandas as pd

    ts = pd.Timestamp(str(value))
    return np.datetime64((ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts).to_datetime64(), "ns")


def _load_collection(*args, **kwargs) -> xr.DataArray:
    data = _ORIGINAL["load_collection"](*args, **kwargs)
    bands, temporal = kwargs.get("bands"), kwargs.get("temporal_extent")
    if bands:
        missing = [b for b in bands if b not in data.coords["bands"].values]
        if missing:
            raise ValueError(f"collection {kwargs.get('id')} has no bands {missing}")
        data = data.sel(bands=list(bands))
    if temporal is not None and "t" in data.dims:
        start, end = [None if v is None else _utc_datetime64(getattr(v, "root", v)) for v in temporal]
        keep = np.ones(data.sizes["t"], bool)
        if start is not None:
            keep &= data.t.values >= start
        if end is not None:
            keep &= data.t.values < end
        data = data.isel(t=np.flatnonzero(keep))
    return data


_WRAPPERS = {"apply_dimension": _apply_dimension, "run_udf": _run_udf, "rename_labels": _rename_labels,
             "array_contains": _array_contains, "aggregate_spatial": _aggregate_spatial,
             "load_collection": _load_collection, "array_create": _array_create,
             "aggregate_temporal_period": _aggregate_temporal_period}


def patch_local_processing() -> None:
    """Install the harness's implementations into openeo.local's registry (idempotent).

    They are module-level functions so that the registry stays picklable (joblib workers).
    """
    from openeo.local.processing import PROCESS_REGISTRY
    from openeo_pg_parser_networkx.process_registry import Process

    if _ORIGINAL:
        return
    for name, impl in _WRAPPERS.items():
        _ORIGINAL[name] = PROCESS_REGISTRY[name].implementation
        PROCESS_REGISTRY[name] = Process(spec=PROCESS_REGISTRY[name].spec, implementation=impl)


def run_graph_locally(graph: dict, collections_dir: str | Path | None = None) -> xr.DataArray:
    """Execute a (flat) process graph with openEO local processing and return the result cube."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    from openeo.local import LocalConnection

    patch_local_processing()
    conn = LocalConnection(str(collections_dir or Path.cwd()))
    with warnings.catch_warnings():
        # expected: a period or polygon without any clear observation reduces to nodata
        warnings.filterwarnings("ignore", message="(All-NaN slice|Mean of empty slice)", category=RuntimeWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module="openeo_processes_dask")
        warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)  # the engine's resample_spatial
        out = conn.execute(graph)
        return out.compute() if isinstance(out, xr.DataArray) else out


def udf_cube_graph(collection: str | Path, bands: list[str], context: dict, udf: str | Path | None = None) -> dict:
    """The core user graph: load_collection -> filter_bands -> apply_dimension(bands, cotmask UDF).

    Built offline with the openeo client (no connection); ``filter_bands`` is explicit because the
    local engine ignores ``bands`` in ``load_collection``.
    """
    import openeo
    from openeo.rest.datacube import DataCube

    cube = DataCube.load_collection(str(collection), connection=None, bands=bands).filter_bands(bands)
    udf_obj = openeo.UDF(Path(udf or default_udf_path()).read_text(), runtime="Python", context=context)
    return cube.apply_dimension(dimension="bands", process=udf_obj).flat_graph()


def instantiate_udp(udp: dict, arguments: dict) -> dict:
    """A concrete flat process graph from a UDP dict: its parameters replaced by ``arguments`` or defaults."""
    import copy

    declared = {q["name"]: q for q in udp.get("parameters", [])}
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        raise ValueError(f"{udp['id']} has no parameters {unknown}; it takes {sorted(declared)}")
    values = {}
    for name, q in declared.items():
        if name in arguments:
            values[name] = arguments[name]
        elif "default" in q:
            values[name] = q["default"]
        else:
            raise ValueError(f"{udp['id']} needs the parameter {name!r} ({q.get('description', '')})")

    def sub(node):
        if isinstance(node, dict):
            if set(node) == {"from_parameter"} and node["from_parameter"] in values:
                return copy.deepcopy(values[node["from_parameter"]])
            return {k: sub(v) for k, v in node.items()}
        if isinstance(node, list):
            return [sub(v) for v in node]
        return node

    return sub(udp["process_graph"])

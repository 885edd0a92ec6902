"""Each patch in cotmask/local.py still answers a live upstream behaviour: these tests run the engine's own
implementations (unpatched) and show the bug or gap. When one of them fails, upstream has fixed it: drop
the patch. Reports with minimal reproductions: docs/upstream_bugs.md."""

from contextlib import contextmanager

import numpy as np
import openeo
import pytest
import xarray as xr
from openeo.local.processing import PROCESS_REGISTRY
from openeo.rest.datacube import DataCube
from openeo_pg_parser_networkx.process_registry import Process

from cotmask.local.harness import _ORIGINAL, _WRAPPERS, patch_local_processing, run_graph_locally
from cotmask.samples.real import write_collection

CHECK_UDF = """
import xarray
def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    if context.get("k") != 1:
        raise ValueError(f"CONTEXT LOST {context}")
    if "bands" not in cube.dims:
        raise ValueError(f"UNNAMED DIMS {cube.dims}")
    return cube
"""


@contextmanager
def unpatched():
    """The engine's own implementations for the duration (the harness's patches put back afterwards)."""
    patch_local_processing()
    saved = {name: PROCESS_REGISTRY[name] for name in _WRAPPERS}
    for name in _WRAPPERS:
        PROCESS_REGISTRY[name] = Process(spec=saved[name].spec, implementation=_ORIGINAL[name])
    try:
        yield
    finally:
        for name, proc in saved.items():
            PROCESS_REGISTRY[name] = proc


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> str:
    """4 dates in May and June, bands B02/B03, 4 x 4 pixels; values = day of year (B03: + 1000)."""
    t = np.array(["2024-05-03", "2024-05-20", "2024-06-04", "2024-06-21"], dtype="datetime64[ns]")
    doy = np.array([124, 141, 156, 173], dtype=np.float32)
    vals = np.stack(
        [np.broadcast_to(doy[:, None, None], (4, 4, 4)), np.broadcast_to(doy[:, None, None] + 1000, (4, 4, 4))], 1
    )
    cube = xr.DataArray(
        vals,
        dims=("t", "bands", "y", "x"),
        coords={
            "t": t,
            "bands": ["B02", "B03"],
            "y": 6_650_000.0 - 20 * np.arange(4),
            "x": 500_000.0 + 20 * np.arange(4),
        },
    )
    return str(write_collection(cube, tmp_path_factory.mktemp("engine") / "tiny.nc"))


def _udf_graph(collection: str, code: str = CHECK_UDF) -> dict:
    cube = DataCube.load_collection(collection, connection=None).filter_bands(["B02", "B03"])
    udf = openeo.UDF(code, runtime="Python", context={"k": 1})
    return cube.apply_dimension(dimension="bands", process=udf).flat_graph()


def test_run_udf_in_apply_dimension_loses_context_and_dimension_names(collection: str, tmp_path) -> None:
    """openeo-processes-dask: apply_dimension passes its own (empty) context over run_udf's, and run_udf gets a
    bare array without dimension names (issue 330). Patches: _apply_dimension and _run_udf."""
    with unpatched(), pytest.raises(Exception, match="CONTEXT LOST"):
        run_graph_locally(_udf_graph(collection), tmp_path)
    dims_only = CHECK_UDF.replace('context.get("k") != 1', "False")
    with unpatched(), pytest.raises(Exception, match="UNNAMED DIMS"):
        run_graph_locally(_udf_graph(collection, dims_only), tmp_path)
    out = run_graph_locally(_udf_graph(collection), tmp_path)  # patched
    assert out.bands.values.tolist() == ["B02", "B03"]


def test_load_collection_ignores_bands_and_time(collection: str, tmp_path) -> None:
    """openeo client local processing: load_collection on a file ignores bands and temporal_extent.
    Patch: _load_collection."""
    graph = DataCube.load_collection(
        collection, connection=None, bands=["B03"], temporal_extent=["2024-06-01", "2024-07-01"]
    ).flat_graph()
    with unpatched():
        raw = run_graph_locally(graph, tmp_path)
    assert raw.sizes["bands"] == 2 and raw.sizes["t"] == 4
    fixed = run_graph_locally(graph, tmp_path)
    assert fixed.bands.values.tolist() == ["B03"] and fixed.sizes["t"] == 2


def test_aggregate_temporal_period_caches_multi_node_reducers_and_labels_month_ends(collection: str, tmp_path) -> None:
    """openeo-pg-parser-networkx caches a callback's inner nodes across periods (graph.py, results_cache): a
    multi-node reducer returns the first period's value for every period; the engine labels periods by their
    last day, backends by their first (python-driver _period_to_intervals). Patch: _aggregate_temporal_period."""
    from openeo.processes import add
    from openeo.processes import max as max_

    cube = DataCube.load_collection(collection, connection=None).filter_bands(["B02"])
    graph = cube.aggregate_temporal_period(period="month", reducer=lambda d: add(max_(d), 0)).flat_graph()
    with unpatched():
        raw = run_graph_locally(graph, tmp_path)
    assert [str(v)[:10] for v in raw.t.values] == ["2024-05-31", "2024-06-30"]
    assert float(raw.isel(t=1, x=0, y=0).squeeze()) == 141.0  # June shows May's maximum
    fixed = run_graph_locally(graph, tmp_path)
    assert [str(v)[:10] for v in fixed.t.values] == ["2024-05-01", "2024-06-01"]
    np.testing.assert_array_equal(fixed.isel(x=0, y=0).squeeze().values, [141.0, 173.0])


def test_array_create_tiles_instead_of_repeating() -> None:
    """openeo-processes-dask: array_create(data=[[1, 1, 1]], repeat=3) is 1 x 9 (np.tile), the spec says 3 x 3
    (the python driver: list(data) * repeat). Patch: _array_create."""
    assert np.shape(_ORIGINAL_OR_ENGINE("array_create")(data=[[1, 1, 1]], repeat=3)) == (1, 9)
    assert np.shape(_WRAPPERS["array_create"](data=[[1, 1, 1]], repeat=3)) == (3, 3)


def test_if_on_cubes_returns_a_bare_array() -> None:
    """openeo-processes-dask: if() is np.where, so a top-level if choosing between two cubes returns a numpy array
    without dimensions. Patch: _if."""
    a = xr.DataArray(np.ones((2, 2)), dims=("y", "x"))
    assert not isinstance(_ORIGINAL_OR_ENGINE("if")(value=True, accept=a, reject=a * 0), xr.DataArray)
    assert _WRAPPERS["if"](value=True, accept=a, reject=a * 0) is a


def test_mask_polygon_fails_on_a_numpy_backed_cube() -> None:
    """openeo-processes-dask: mask_polygon reads ``data.chunks`` (None for a numpy-backed cube such as a UDF's output)
    and fails with a TypeError. Patch: _mask_polygon (chunks the cube first)."""
    polygon = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]}
    da = xr.DataArray(
        np.ones((1, 4, 4), np.float32),
        dims=("bands", "y", "x"),
        coords={"bands": ["B04"], "y": np.arange(4.0)[::-1], "x": np.arange(4.0)},
    ).rio.write_crs("EPSG:4326")
    with pytest.raises(TypeError, match="not subscriptable"):
        _ORIGINAL_OR_ENGINE("mask_polygon")(data=da, mask=polygon)
    out = _WRAPPERS["mask_polygon"](data=da, mask=polygon).compute()
    assert np.isfinite(out.values).any() and np.isnan(out.values).any()


def test_rename_labels_to_the_same_labels_raises() -> None:
    """openeo-processes-dask raises LabelExists when renaming labels to themselves (spec-conformant); geotrellis
    backends just set them, and the harness keeps the UDF's labels after apply_dimension as geopyspark does.
    Patch: _rename_labels (backend parity, not a bug)."""
    da = xr.DataArray(np.zeros((2, 1)), dims=("bands", "x"), coords={"bands": ["cot", "cot_std"]})
    with pytest.raises(Exception, match="(?i)exist"):
        _ORIGINAL_OR_ENGINE("rename_labels")(data=da, dimension="bands", target=["cot", "cot_std"])
    assert _WRAPPERS["rename_labels"](data=da, dimension="bands", target=["cot", "cot_std"]) is da


def test_parameter_as_collection_id_crashes_the_graph_parser(collection: str) -> None:
    """openeo-pg-parser-networkx (graph.py, provenance of load_collection): ``raw_source.split`` on a parameter
    reference. The harness binds top-level parameters first, as backends do (cotmask.local.bind_top_level)."""
    from openeo_pg_parser_networkx import OpenEOProcessGraph

    pg = {
        "lc": {
            "process_id": "load_collection",
            "arguments": {"id": {"from_parameter": "cid"}, "spatial_extent": None, "temporal_extent": None},
            "result": True,
        }
    }
    patch_local_processing()
    with pytest.raises(AttributeError, match="split"):
        OpenEOProcessGraph({"process_graph": pg}).to_callable(PROCESS_REGISTRY, parameters={"cid": collection})(
            named_parameters={"cid": collection}
        )


def _ORIGINAL_OR_ENGINE(name: str):  # noqa: N802 - reads like the registry entry it returns
    patch_local_processing()
    return _ORIGINAL[name]


def test_apply_neighborhood_is_missing_and_the_harness_runs_each_window_anew(tmp_path) -> None:
    """openeo-processes-dask has no apply_neighborhood (the harness adds it), and the graph parser's results cache
    would hand every window after the first the first window's result: the harness drops that entry per call.
    Identity UDF over 3 x 3 windows with overlap, one date per call: the output equals the input everywhere."""
    patch_local_processing()
    assert "apply_neighborhood" not in _ORIGINAL and "apply_neighborhood" not in _WRAPPERS
    rng = np.random.default_rng(0)
    cube = xr.DataArray(
        rng.random((2, 1, 12, 12)).astype(np.float32),
        dims=("t", "bands", "y", "x"),
        coords={
            "t": np.array(["2024-05-03", "2024-05-20"], dtype="datetime64[ns]"),
            "bands": ["B02"],
            "y": 6_650_000.0 - 20 * np.arange(12),
            "x": 500_000.0 + 20 * np.arange(12),
        },
    )
    path = write_collection(cube, tmp_path / "rand.nc")
    identity = CHECK_UDF.replace('context.get("k") != 1', "False")
    graph = (
        DataCube.load_collection(str(path), connection=None)
        .apply_neighborhood(
            process=openeo.UDF(identity, runtime="Python"),
            size=[
                {"dimension": "x", "value": 4, "unit": "px"},
                {"dimension": "y", "value": 4, "unit": "px"},
                {"dimension": "t", "value": "P1D"},
            ],
            overlap=[{"dimension": "x", "value": 2, "unit": "px"}, {"dimension": "y", "value": 2, "unit": "px"}],
        )
        .flat_graph()
    )
    out = run_graph_locally(graph, tmp_path)
    np.testing.assert_array_equal(out.transpose("t", "bands", "y", "x").values, cube.values)


SPATIAL_UDF = """
import xarray
def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    if cube.dims != ("t", "bands", "y", "x"):
        raise ValueError(f"NOT AS A BACKEND PASSES IT {cube.dims}")
    return cube * 2
"""


def test_lat_lon_cubes_fail_in_execute_local_udf_and_the_harness_renames_them(tmp_path) -> None:
    """openeo's execute_local_udf transposes to (t, bands, y, x) and fails on lat/lon dims with a raw xarray error
    ("must be a permuted list"); ``run_udf_locally`` hands the UDF y/x, as a backend names spatial dims in any CRS,
    and gives lat/lon back (issue 20; before: that raw error). Other unknown dims are refused in one line."""
    from openeo.udf import execute_local_udf

    from cotmask.local import run_udf_locally

    cube = xr.DataArray(
        np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4),
        dims=("t", "bands", "lat", "lon"),
        coords={
            "t": np.array(["2024-05-03"], dtype="datetime64[ns]"),
            "bands": ["B02"],
            "lat": 60.0 - 0.001 * np.arange(3),
            "lon": 15.0 + 0.001 * np.arange(4),
        },
    )
    with pytest.raises(ValueError, match="must be a permuted list"):
        execute_local_udf(openeo.UDF(SPATIAL_UDF, runtime="Python"), cube)
    udf = tmp_path / "spatial_udf.py"
    udf.write_text(SPATIAL_UDF)
    out = run_udf_locally(cube, udf=udf)
    assert out.dims == ("t", "bands", "lat", "lon")
    np.testing.assert_array_equal(out["lat"].values, cube["lat"].values)
    np.testing.assert_array_equal(out.values, 2 * cube.values)
    with pytest.raises(ValueError, match=r"\['row', 'col'\] unknown to openEO UDFs; rename the dims to t, bands, y, x"):
        run_udf_locally(cube.rename(lat="row", lon="col"), udf=udf)
    with pytest.raises(ValueError, match="more than one y or x"):
        run_udf_locally(cube.rename(t="y"), udf=udf)  # lat and y

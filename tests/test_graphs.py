"""The UDPs: generated JSON without drift, standard processes only, and correct values when run locally."""

import json
import re

import numpy as np
import openeo_processes_dask.specs as specs
import pytest
import shapely
import xarray as xr
from pyproj import Transformer
from scipy.ndimage import binary_dilation

from cotmask.client.screening_table import screening_table
from cotmask.core.shipped import load_model
from cotmask.local.harness import run_graph_locally, run_udf_locally
from cotmask.samples.real import to_dn, write_collection
from cotmask.samples.synthetic import synthetic_timeseries, synthetic_worldcover
from cotmask.udp import (
    GRAPHS_DIR,
    PROCESSES,
    benchmark_scenario,
    call_graph,
    published_json_url,
    published_udps,
    render,
)
from cotmask.udp.backend import CALLBACK_OPS, MAX_UDP_BYTES, callback_problems

CRS = "EPSG:32633"
BOX_UTM = (500_160.0, 6_648_960.0, 500_940.0, 6_649_740.0)  # pixel edges inside the 64 x 64, 20 m landscape


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> dict:
    cube, truth = synthetic_timeseries("L2A", seed=0, shadow_height=500.0)
    dn = to_dn(cube)
    folder = tmp_path_factory.mktemp("collections")
    path = write_collection(dn, folder / "l2a_series.nc", crs=CRS)
    worldcover = write_collection(synthetic_worldcover(truth), folder / "worldcover.nc", crs=CRS)
    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = BOX_UTM
    ring = [to_ll.transform(x, y) for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]]
    back = shapely.Polygon([to_ll.transform(*xy, direction="INVERSE") for xy in ring])  # as the engine sees it
    inside = shapely.contains_xy(back, *np.meshgrid(dn.x.values, dn.y.values))
    spectral = list(load_model("L2A").bands)  # what the graphs load by default
    classes = run_udf_locally(dn.sel(bands=spectral), {}).sel(bands="cloud_class")
    shadow_input = xr.concat(
        [dn.sel(bands=["B03", "B08", "B11"]).astype("float32"), classes.expand_dims(bands=["cloud_class"])], dim="bands"
    )
    shadow = run_udf_locally(shadow_input, {}, udf="cotmask_shadow_udf.py").sel(bands="shadow")
    assert int((shadow == 1).sum()) > 300  # the series casts shadows and the UDF finds them
    return {
        "shadow": shadow.transpose("t", "y", "x").values == 1,
        "dn": dn,
        "truth": truth,
        "folder": folder,
        "base": {"collection_id": str(path), "spatial_extent": None, "temporal_extent": ["2024-05-01", "2024-08-01"]},
        "polygon": {"type": "Polygon", "coordinates": [ring]},
        "inside": inside,
        "classes": classes,
        "spectral": spectral,
        "worldcover": str(worldcover),
    }


def run(series: dict, process_id: str, **arguments) -> xr.DataArray:
    arguments.setdefault("smooth", 0)  # pixel by pixel: the tests compare with pixel-wise classes (consolidation below)
    if process_id != "cotmask_cloud_mask":
        arguments.setdefault("temporal", False)  # single-date classes: the temporal test has tests of its own
    if process_id == "cotmask_forest_composite":
        arguments.setdefault("worldcover_collection", series["worldcover"])
    if process_id in ("cotmask_forest_composite", "cotmask_mask_timeseries"):
        arguments.setdefault("scl_collection", series["base"]["collection_id"])
    return run_graph_locally(
        call_graph(process_id, **{**series["base"], **arguments}), series["folder"], published_udps()
    )


@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_graph_json_is_generated_and_standard(module) -> None:
    path = GRAPHS_DIR / f"{module.PROCESS_ID}.json"
    assert path.read_text() == render(module), f"{path.name} drifted: run `python -m cotmask.udp`"
    scenario = GRAPHS_DIR / "benchmark_scenarios" / path.name
    assert scenario.read_text() == benchmark_scenario(module), f"{scenario} drifted: run `python -m cotmask.udp`"
    udp = json.loads(path.read_text())
    used = set()

    def walk(graph: dict) -> None:
        for node in graph.values():
            used.add(node["process_id"])
            for arg in node["arguments"].values():
                if isinstance(arg, dict) and "process_graph" in arg:
                    walk(arg["process_graph"])

    walk(udp["process_graph"])
    assert "run_udf" in used
    # apply_neighborhood is a standard openEO process the local engine lacks (the harness adds it)
    assert all(hasattr(specs, p) or hasattr(specs, f"_{p}") for p in used - {"run_udf", "apply_neighborhood"}), used
    assert all("description" in q and "schema" in q for q in udp["parameters"])


@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_graph_is_backend_safe_and_publishable(module) -> None:
    """No UDP parameter inside a non-UDF callback, only geotrellis callback operators, < 512 KiB, APEx fields."""
    path = GRAPHS_DIR / f"{module.PROCESS_ID}.json"
    assert path.stat().st_size <= MAX_UDP_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    text = path.read_text()
    udp = json.loads(text)
    assert callback_problems(udp) == []
    assert udp["returns"]["schema"]["subtype"] == "datacube" and udp["categories"] and udp["description"]
    assert "udf-dependency-archives" in udp["default_job_options"]
    runs = [n["arguments"] for n in _nodes(udp["process_graph"]) if n["process_id"] == "run_udf"]
    # the walk found every run_udf node the file holds (at the top level, in callbacks, in list or object arguments)
    assert len(runs) == len(re.findall(r'"process_id"\s*:\s*"run_udf"', text)) > 0
    assert [(r.get("runtime"), r.get("version")) for r in runs] == [("Python", "3.11")] * len(runs)
    scenario = json.loads((GRAPHS_DIR / "benchmark_scenarios" / path.name).read_text())[0]
    assert scenario["process_graph"]["cotmask"]["namespace"] == published_json_url(module.PROCESS_ID)


def _nodes(graph: dict):
    """Every node of ``graph`` and of the callbacks anywhere in its arguments (also inside lists and objects)."""
    for node in graph.values():
        yield node
        yield from _callback_nodes(node["arguments"])


def _callback_nodes(value):
    if isinstance(value, dict):
        if isinstance(value.get("process_graph"), dict):
            yield from _nodes(value["process_graph"])
        for key, item in value.items():
            if key != "process_graph":
                yield from _callback_nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _callback_nodes(item)


@pytest.mark.parametrize(
    "name,graph,expected",
    [
        (
            "parameter in apply",
            {
                "a": {
                    "process_id": "apply",
                    "arguments": {
                        "data": {"from_node": "x"},
                        "process": {
                            "process_graph": {
                                "g": {
                                    "process_id": "gte",
                                    "arguments": {"x": {"from_parameter": "x"}, "y": {"from_parameter": "min_class"}},
                                    "result": True,
                                }
                            }
                        },
                    },
                }
            },
            "reads parameter 'min_class'",
        ),
        (
            "array_contains",
            {
                "a": {
                    "process_id": "apply",
                    "arguments": {
                        "process": {
                            "process_graph": {
                                "c": {
                                    "process_id": "array_contains",
                                    "arguments": {"data": [1, 2], "value": {"from_parameter": "x"}},
                                    "result": True,
                                }
                            }
                        }
                    },
                }
            },
            "array_contains is not implemented",
        ),
        (
            "nested reducer",
            {
                "a": {
                    "process_id": "aggregate_temporal_period",
                    "arguments": {
                        "reducer": {
                            "process_graph": {
                                "e": {
                                    "process_id": "eq",
                                    "arguments": {"x": {"from_parameter": "reducer"}, "y": "median"},
                                }
                            }
                        }
                    },
                }
            },
            "reads parameter 'reducer'",
        ),
    ],
)
def test_callback_checker_catches_what_geotrellis_gets_wrong(name: str, graph: dict, expected: str) -> None:
    problems = callback_problems({"process_graph": graph})
    assert any(expected in p for p in problems), problems
    assert (
        callback_problems(
            {
                "process_graph": {
                    "r": {
                        "process_id": "run_udf",
                        "arguments": {
                            "data": {"from_parameter": "data"},
                            "udf": "x",
                            "context": {"k": {"from_parameter": "min_class"}},
                        },
                    }
                }
            }
        )
        == []
    )
    assert {"gte", "is_nan", "count", "if", "array_element"} <= set(CALLBACK_OPS)


def test_cloud_mask_graph_equals_udf(series: dict) -> None:
    assert run(series, "cotmask_cloud_mask", shadows=False).coords["bands"].values.tolist() == [
        "cot",
        "cot_std",
        "cloud_class",
        "ood",
    ]
    out = run(series, "cotmask_cloud_mask")
    assert out.coords["bands"].values.tolist() == ["cot", "cot_std", "cloud_class", "ood", "shadow"]
    np.testing.assert_array_equal(out.sel(bands="shadow").transpose("t", "y", "x").values == 1, series["shadow"])
    np.testing.assert_array_equal(
        out.sel(bands="cloud_class").transpose("t", "y", "x").values, series["classes"].transpose("t", "y", "x").values
    )
    agree = (out.sel(bands="cloud_class").transpose("t", "y", "x").values >= 1) == (
        series["truth"].cloud_class.values >= 1
    )
    assert agree.mean() > 0.95  # known injected COT


@pytest.mark.parametrize(
    "min_class,buffer,scl,shadows", [(1, 0, [], True), (1, 2, [], True), (1, 0, [], False), (2, 1, [3, 8, 9, 10], True)]
)
def test_masked_pixels_are_exactly_the_cloudy_ones(
    series: dict, min_class: int, buffer: int, scl: list, shadows: bool
) -> None:
    out = run(series, "cotmask_mask_timeseries", min_class=min_class, buffer=buffer, scl_classes=scl, shadows=shadows)
    assert out.coords["bands"].values.tolist() == series["spectral"]
    cls = series["classes"].transpose("t", "y", "x").values
    lost = (cls >= min_class) | (series["shadow"] if shadows else False)
    expected = np.stack([binary_dilation(c, np.ones((2 * buffer + 1,) * 2)) if buffer else c for c in lost])
    scl_hit = np.isin(series["dn"].sel(bands="SCL").values, scl)
    assert not scl or scl_hit.sum() > 500  # the SCL path really masks something
    expected |= scl_hit
    masked = np.isnan(out.sel(bands="B04").transpose("t", "y", "x").values)
    np.testing.assert_array_equal(masked, expected)
    kept = ~masked
    np.testing.assert_array_equal(
        out.sel(bands="B04").transpose("t", "y", "x").values[kept], series["dn"].sel(bands="B04").values[kept]
    )


def test_forest_composite_is_the_median_of_clear_observations(series: dict) -> None:
    out = run(series, "cotmask_forest_composite", geometries=series["polygon"], buffer=0)
    assert out.coords["bands"].values.tolist() == [*series["spectral"], "valid_count"]
    assert out.sizes["t"] == 3  # May, June, July
    dn = series["dn"].sel(bands="B8A").astype("float32")
    clear = dn.where(series["classes"] < 1).where(~xr.DataArray(series["shadow"], dims=("t", "y", "x")))
    clear = clear.where(xr.DataArray(series["inside"], dims=("y", "x")))
    months = clear.t.dt.month.values
    for i, month in enumerate((5, 6, 7)):
        sel = clear.isel(t=np.flatnonzero(months == month))
        expected = sel.median("t").values
        got = out.sel(bands="B8A").isel(t=i).transpose("y", "x").values
        np.testing.assert_allclose(got, expected, equal_nan=True)
        count = out.sel(bands="valid_count").isel(t=i).transpose("y", "x").values
        np.testing.assert_array_equal(count[series["inside"]], sel.notnull().sum("t").values[series["inside"]])
    assert np.isnan(out.sel(bands="B8A").isel(t=0).transpose("y", "x").values[~series["inside"]]).all()


def test_scene_screening_fractions_match_numpy(series: dict) -> None:
    out = run(series, "cotmask_scene_screening", geometries=series["polygon"], resolution=0)
    cls = series["classes"].transpose("t", "y", "x").values[:, series["inside"]]
    got = out.isel(geometry=0).transpose("bands", "t")
    np.testing.assert_allclose(got.sel(bands="cloudy_fraction").values, (cls >= 1).mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(got.sel(bands="opaque_fraction").values, (cls == 2).mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(got.sel(bands="valid_fraction").values, 1.0)
    shadow = series["shadow"][:, series["inside"]].mean(axis=1)
    assert shadow.max() > 0.02  # some dates are shadowed inside the polygon
    np.testing.assert_allclose(got.sel(bands="shadow_fraction").values, shadow, atol=1e-6)
    table = screening_table(out, max_cloud_fraction=0.3)
    assert list(table.columns[:2]) == ["polygon", "date"] and len(table) == 6
    assert table["usable"].tolist() == sorted(table["usable"].tolist(), reverse=True)
    np.testing.assert_array_equal(table["usable"], table["cloudy_fraction"] + table["shadow_fraction"] <= 0.3)
    cheap = run(series, "cotmask_scene_screening", geometries=series["polygon"], resolution=0, shadows=False)
    assert cheap.bands.values.tolist() == ["cloudy_fraction", "opaque_fraction", "shadow_fraction", "valid_fraction"]
    np.testing.assert_array_equal(cheap.sel(bands="shadow_fraction").values, 0.0)  # shadows not looked for
    np.testing.assert_allclose(cheap.sel(bands="cloudy_fraction").values, out.sel(bands="cloudy_fraction").values)
    no_shadow = screening_table(cheap, max_cloud_fraction=0.3)
    np.testing.assert_array_equal(no_shadow["usable"], no_shadow["cloudy_fraction"] <= 0.3)


def _overlaps(graph: dict) -> list[int]:
    nodes = [
        n
        for n in _nodes(graph)
        if n["process_id"] == "apply_neighborhood"
        and "cotmask openEO UDF: cloud shadows" in json.dumps(n["arguments"]["process"])
    ]
    return sorted({o["value"] for n in nodes for o in n["arguments"]["overlap"]})


@pytest.mark.parametrize("module", PROCESSES, ids=lambda m: m.PROCESS_ID)
def test_shadow_overlap_is_the_reach_in_metres(module) -> None:
    """The overlap each graph asks for is the shadows' reach in metres at the resolution it runs at: 10 m for the
    graphs that load the native grid; scene screening at >= 60 m (its default) 86 px, not 512 (30.7 km a side)."""
    from cotmask.udf.shadow import SHADOW_REACH_M

    graph = json.loads((GRAPHS_DIR / f"{module.PROCESS_ID}.json").read_text())["process_graph"]
    want = {10.0: 512} if module.PROCESS_ID != "cotmask_scene_screening" else {60.0: 86, 10.0: 512}
    assert _overlaps(graph) == sorted(want.values())
    for resolution, px in want.items():
        assert SHADOW_REACH_M <= px * resolution < SHADOW_REACH_M + resolution


@pytest.mark.parametrize(
    "arguments,match",
    [
        ({"bands": ["B02", "B03", "B99"]}, "unknown band labels"),
        ({"bands": ["B02", "B03", "B04"]}, "needed by the cotmask L2A model"),
        ({"geometries": {"type": "Polygon", "coordinates": []}}, "empty"),
        (
            {
                "geometries": {
                    "type": "Polygon",
                    "coordinates": [[[15, 60], [15.1, 60.1], [15.1, 60], [15, 60.1], [15, 60]]],
                }
            },
            "invalid",
        ),
        ({"geometries": {"type": "FeatureCollection", "features": []}}, "no features"),
        ({"temporal_extent": ["2024-08-01", "2024-05-01"]}, "inverted"),
        ({"thin_threshold": 2.0, "opaque_threshold": 1.0}, "below opaque"),
        ({"period": "fortnight"}, "period 'fortnight' is not supported"),
        ({"worldcover_classes": [10, 11]}, r"worldcover_classes \[11\]: give ESA WorldCover classes"),
        ({"worldcover_classes": []}, r"worldcover_classes \[\]"),
        ({"colour": "red"}, "unknown arguments"),
        (
            {
                "bands": ["B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"],
                "model": "ensemble",
            },
            "carry the L1C model only as 'distilled'",
        ),
        ({"model": "ensemble"}, "carry the L2A model only as 'distilled'.*udf/cotmask_udf.py"),
    ],
)
def test_bad_arguments_fail_when_building(arguments: dict, match: str) -> None:
    base = {
        "collection_id": "SENTINEL2_L2A",
        "spatial_extent": {"west": 15, "south": 60, "east": 15.1, "north": 60.1},
        "temporal_extent": ["2024-05-01", "2024-08-01"],
        "geometries": {"type": "Polygon", "coordinates": [[[15, 60], [15.1, 60], [15.1, 60.1], [15, 60.1], [15, 60]]]},
    }
    with pytest.raises(ValueError, match=match):
        call_graph("cotmask_forest_composite", **{**base, **arguments})


def test_composite_keeps_only_worldcover_tree_cover(series: dict) -> None:
    out = run(series, "cotmask_forest_composite", geometries=series["polygon"], buffer=0, worldcover_classes=[10])
    forest = np.isin(series["truth"].surface.values, [0, 1])  # conifer, deciduous
    dn = series["dn"].sel(bands="B8A").astype("float32")
    clear = dn.where(series["classes"] < 1).where(~xr.DataArray(series["shadow"], dims=("t", "y", "x")))
    clear = clear.where(xr.DataArray(series["inside"] & forest, dims=("y", "x")))
    expected = clear.isel(t=np.flatnonzero(clear.t.dt.month.values == 5)).median("t").values
    got = out.sel(bands="B8A").isel(t=0).transpose("y", "x").values
    np.testing.assert_allclose(got, expected, equal_nan=True)
    assert (~forest & series["inside"]).sum() > 100 and np.isnan(got[~forest]).all()


def test_best_pixel_composite_takes_the_lowest_class_then_cot_date(series: dict) -> None:
    out = run(series, "cotmask_best_pixel_composite", geometries=series["polygon"])
    assert out.coords["bands"].values.tolist() == [*series["spectral"], "cot", "valid_count"]
    assert [str(v)[:10] for v in out.t.values] == ["2024-05-01", "2024-06-01", "2024-07-01"]
    cot = (
        run_udf_locally(series["dn"].sel(bands=series["spectral"]), {}).sel(bands="cot").transpose("t", "y", "x").values
    )
    cls = series["classes"].transpose("t", "y", "x").values
    key = np.where(series["shadow"], np.inf, cls * 1000.0 + cot)  # shadowed dates cannot win; clear before thin
    cot[series["shadow"]] = np.inf
    dn = series["dn"].sel(bands="B04").astype("float32").values
    months = series["dn"].t.dt.month.values
    inside = series["inside"]
    for i, month in enumerate((5, 6, 7)):
        sel = np.flatnonzero(months == month)
        pick = np.argmin(key[sel], axis=0)
        expected = np.take_along_axis(dn[sel], pick[None], axis=0)[0]
        got = out.sel(bands="B04").isel(t=i).transpose("y", "x").values
        some = inside & np.isfinite(cot[sel]).any(axis=0)
        np.testing.assert_array_equal(got[some], expected[some])
        np.testing.assert_allclose(
            out.sel(bands="cot").isel(t=i).transpose("y", "x").values[some],
            np.take_along_axis(cot[sel], pick[None], axis=0)[0][some],
            rtol=1e-6,
        )
        assert np.isnan(got[~inside]).all()
        np.testing.assert_array_equal(
            out.sel(bands="valid_count").isel(t=i).transpose("y", "x").values[inside],
            (~series["shadow"][sel]).sum(axis=0)[inside],
        )


def test_period_start_labels() -> None:
    from cotmask.udf.periods import period_start

    t = np.array(
        ["2024-01-15", "2024-02-29", "2024-03-01", "2024-06-10", "2024-06-11", "2024-06-30", "2024-12-05"],
        dtype="datetime64[ns]",
    )
    as_str = lambda a: [str(v)[:10] for v in a]  # noqa: E731
    assert as_str(period_start(t, "dekad")) == [
        "2024-01-11",
        "2024-02-21",
        "2024-03-01",
        "2024-06-01",
        "2024-06-11",
        "2024-06-21",
        "2024-12-01",
    ]
    assert as_str(period_start(t, "season")) == [
        "2023-12-01",
        "2023-12-01",
        "2024-03-01",
        "2024-06-01",
        "2024-06-01",
        "2024-06-01",
        "2024-12-01",
    ]
    assert as_str(period_start(t, "month"))[:3] == ["2024-01-01", "2024-02-01", "2024-03-01"]


def test_composite_reducer_choice_and_season(series: dict) -> None:
    out = run(
        series, "cotmask_forest_composite", geometries=series["polygon"], buffer=0, reducer="max", period="season"
    )
    assert [str(v)[:10] for v in out.t.values] == ["2024-03-01", "2024-06-01"]  # MAM, JJA
    dn = series["dn"].sel(bands="B03").astype("float32")
    clear = dn.where(series["classes"] < 1).where(~xr.DataArray(series["shadow"], dims=("t", "y", "x")))
    clear = clear.where(xr.DataArray(series["inside"], dims=("y", "x")))
    jja = clear.isel(t=np.flatnonzero(clear.t.dt.month.values >= 6)).max("t").values
    np.testing.assert_allclose(out.sel(bands="B03").isel(t=1).transpose("y", "x").values, jja, equal_nan=True)


def test_cloud_mask_graph_on_real_backgrounds_with_injected_clouds(shared_data, tmp_path) -> None:
    """eo-learn's real clear L1C scenes (2-4) as a 3-date cube with clouds of known COT injected."""
    from cotmask.samples.synthetic import inject_into_scenes

    scenes = np.load(shared_data / "eolearn" / "REFERENCE_SCENES.npy")[[2, 3, 4]]
    cube, truth = inject_into_scenes(scenes, seed=3)
    coll = write_collection(to_dn(cube), tmp_path / "eolearn_injected.nc", crs=CRS)
    bands = list(load_model("L1C").bands)
    out = run_graph_locally(
        call_graph(
            "cotmask_cloud_mask",
            collection_id=str(coll),
            spatial_extent=None,
            temporal_extent=None,
            bands=bands,
            model="distilled",
        ),
        tmp_path,
        published_udps(),
    )
    cls = out.sel(bands="cloud_class").transpose("t", "y", "x").values
    agree = (cls >= 1) == (truth.cot.values >= 0.75)
    assert agree.mean() > 0.9 and np.isfinite(cls).all()
    # the graph ran the L1C model (level null, B10 among the bands). Its output does not carry the UDF's
    # cotmask_level attribute (apply_dimension passes the input cube's attributes on), so the level shows in the
    # values: the graph's COT is the L1C model's, as the UDF run directly with level L1C records, not the L2A one's
    dn = to_dn(cube).sel(bands=bands)
    ref = {lv: run_udf_locally(dn, {"model": "distilled", "level": lv}) for lv in ("L1C", "L2A")}
    assert {lv: r.attrs["cotmask_level"] for lv, r in ref.items()} == {"L1C": "L1C", "L2A": "L2A"}
    cot = out.sel(bands="cot").transpose("t", "y", "x").values
    by_level = {lv: r.sel(bands="cot").transpose("t", "y", "x").values for lv, r in ref.items()}
    np.testing.assert_allclose(cot, by_level["L1C"], atol=1e-5, equal_nan=True)
    assert np.nanmax(np.abs(cot - by_level["L2A"])) > 0.1  # the two levels tell apart on these scenes


def test_cloud_mask_graph_consolidates_as_the_udf_module_does(series: dict) -> None:
    """smooth=4 through the graph (apply_neighborhood windows, the harness's tiling) equals ``consolidate`` on the
    pixel-wise graph's own cot and classes."""
    from cotmask.udf.consolidate import consolidate

    pixelwise = run(series, "cotmask_cloud_mask", shadows=False, smooth=0).transpose("t", "bands", "y", "x")
    smoothed = run(series, "cotmask_cloud_mask", shadows=False, smooth=4).transpose("t", "bands", "y", "x")
    for i in range(pixelwise.sizes["t"]):
        cot, cls = (pixelwise.isel(t=i).sel(bands=b).values for b in ("cot", "cloud_class"))
        want = consolidate(cot, cls, 0.75, 1.25, 4)
        np.testing.assert_array_equal(smoothed.isel(t=i).sel(bands="cloud_class").values, want)
    assert (smoothed.sel(bands="cloud_class").values != pixelwise.sel(bands="cloud_class").values).any()


def test_the_series_graphs_run_the_temporal_test(series: dict) -> None:
    """With ``temporal`` (the default) the screening's cloudy fractions are the temporal test's on the single-date
    classes, through the graph's chain; and the test changes some pixels of this series."""
    from cotmask.udf.temporal import temporal_classes

    out = run(
        series, "cotmask_scene_screening", geometries=series["polygon"], resolution=0, shadows=False, temporal=True
    )
    dn = series["dn"].transpose("t", "bands", "y", "x")
    mask = run_udf_locally(dn.sel(bands=series["spectral"]), {}).transpose("t", "bands", "y", "x")
    refl = {b: dn.sel(bands=b).values.astype(np.float32) * 1e-4 for b in ("B02", "B04", "B11")}
    refl["cot"] = mask.sel(bands="cot").values
    days = dn.t.values.astype("datetime64[D]").astype(np.int64)
    single = mask.sel(bands="cloud_class").values
    tested = temporal_classes(refl, single, days)
    inside = series["inside"]
    changed = (tested != single)[:, inside].sum()
    assert changed > 20, changed  # the series has dates the test changes
    got = out.isel(geometry=0).sel(bands="cloudy_fraction").values
    np.testing.assert_allclose(got, (tested[:, inside] >= 1).mean(axis=1), atol=1e-6)

"""The generated UDF: self-contained, equal to the model it carries on both engines, label- and nodata-correct,
clear errors."""

import ast
import base64
import json
import lzma
import sys
import types

import numpy as np
import pytest
import xarray as xr
from results import assert_same_result

import cotmask
from cotmask.core.bands import DEFAULT_MODEL, L2A_BANDS, S2_BANDS
from cotmask.core.cube import cube_outputs
from cotmask.core.model import Model, classify
from cotmask.core.rules import rule_masks
from cotmask.core.shipped import model_dir, predict_rows, read_checksums
from cotmask.local.harness import run_graph_locally, run_udf_locally
from cotmask.samples.real import s2cloudless_cube, to_dn, write_collection
from cotmask.training.pipeline import level_inputs
from cotmask.training.synth import generate
from cotmask.udf.build import UDF_FILES, model_source, render, udf_dir
from cotmask.udp import GRAPHS_DIR, udf_graph

ALLOWED_IMPORTS = {
    "numpy",
    "xarray",
    "onnxruntime",
    "json",
    "re",
    "typing",
    "base64",
    "lzma",
    "functools",
    "hashlib",
    "struct",
    "warnings",
    "os",
    "sys",
    "concurrent",
    "threadpoolctl",
}


def carried(refl: np.ndarray, level: str, kind: str = DEFAULT_MODEL, engine: str | None = None) -> dict:
    """What the UDF's embedded model (the float16 copy of a shipped model) gives for reflectance rows."""
    model = Model(model_source(level, kind).read_bytes(), engine=engine)
    cot, std = predict_rows(model, refl)
    rules = rule_masks(refl, model.bands, cot)  # as the UDF applies them
    return {
        "cot": cot,
        "cot_std": std,
        "cloud_class": classify(cot, *model.thresholds.values(), *rules),
    }


def exec_udf(code: str, block_onnxruntime: bool = False) -> dict:
    """The UDF's namespace as a backend loads it; optionally with ``import onnxruntime`` failing."""
    saved = sys.modules.get("onnxruntime")
    if block_onnxruntime:
        sys.modules["onnxruntime"] = None  # makes the import raise ImportError
    try:
        ns: dict = {}
        exec(compile(code, "udf.py", "exec"), ns)
        return ns
    finally:
        if block_onnxruntime:
            sys.modules.pop("onnxruntime")
            if saved is not None:
                sys.modules["onnxruntime"] = saved


@pytest.fixture(scope="module")
def scene(shared_data) -> xr.DataArray:
    """A crop of the real 13-band L1C scene (cirrus and thin cloud), as uint16 DN."""
    cube = s2cloudless_cube(shared_data / "s2cloudless_1.2.2" / "input_arrays.npz")
    return to_dn(cube.isel(y=slice(0, 120), x=slice(0, 90)))


@pytest.fixture(scope="module")
def udf_ns() -> dict:
    """The namespace of the generated UDF file, as a backend loads it."""
    ns: dict = {}
    exec(compile((udf_dir() / "cotmask_udf.py").read_text(), "cotmask_udf.py", "exec"), ns)
    return ns


@pytest.mark.parametrize("name", list(UDF_FILES))
def test_udf_files_are_generated_and_self_contained(name: str) -> None:
    path = udf_dir() / name
    assert path.read_text() == render(name), f"{name} drifted: run `cotmask build`"
    tree = ast.parse(path.read_text())
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert mods <= ALLOWED_IMPORTS, mods - ALLOWED_IMPORTS
    assert "__future__" not in mods
    funcs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "apply_datacube" in funcs
    assert "apply_metadata" in funcs or "best_pixel" in name  # the mask UDFs rename the band labels
    assert path.stat().st_size <= 1024 * 1024  # stand-alone UDF files stay below 1 MiB
    if "_MODELS" in path.read_text():  # code first, model data last
        assert (
            tree.body[-1].targets[0].id == "_MODELS"
            if isinstance(tree.body[-1], ast.Assign)
            else tree.body[-1].target.id == "_MODELS"
        )


def _models_table(code: str) -> ast.Dict:
    last = ast.parse(code).body[-1]
    assert isinstance(last, (ast.Assign, ast.AnnAssign)) and isinstance(last.value, ast.Dict)
    return last.value


def test_udf_models_sit_beside_their_recorded_checksums() -> None:
    """Each model a UDF embeds carries the SHA-256 that models/SHA256SUMS records for the file it came from."""
    sums = read_checksums(model_dir())
    for name, spec in UDF_FILES.items():
        if spec.models:
            table = ast.literal_eval(_models_table((udf_dir() / name).read_text()))
            assert {k: v[0] for k, v in table.items()} == {
                f"{lv}/{k}": sums[model_source(lv, k).name] for lv, k in spec.models
            }, name


def _damage_embedded(code: str, key: str, damage) -> str:
    """The UDF text ``code`` with the embedded model ``key`` replaced by ``damage(its base85 text)``."""
    table = _models_table(code)
    node = table.values[[k.value for k in table.keys].index(key)]
    data = node.elts[-1] if isinstance(node, ast.Tuple) else node  # (checksum, data) or, before issue 20, data
    lines = code.splitlines(keepends=True)
    new = f'        "{damage(ast.literal_eval(data))}"\n'
    return "".join(lines[: data.lineno - 1]) + new + "".join(lines[data.end_lineno :])


def _reencoded(change):
    """A damage of the embedded text that decodes the model, changes its bytes and encodes them again."""
    return lambda text: base64.b85encode(lzma.compress(change(lzma.decompress(base64.b85decode(text))))).decode()


def _overwrite_middle(blob: bytes) -> bytes:
    """Weights overwritten in the middle of the file: the model still parses (and gives wrong COT)."""
    mid = len(blob) // 2
    return blob[:mid] + np.full(64, 1e30, np.float32).tobytes() + blob[mid + 256 :]


@pytest.mark.parametrize(
    "damage",
    [
        _reencoded(_overwrite_middle),
        _reencoded(lambda blob: blob[: len(blob) // 2]),  # a truncated model
        lambda text: text[: len(text) // 2],  # a truncated copy of the UDF text
    ],
    ids=["overwritten-weights", "truncated-model", "truncated-text"],
)
def test_udf_refuses_a_damaged_embedded_model_naming_it(damage) -> None:
    code = _damage_embedded((udf_dir() / "cotmask_udf_distilled.py").read_text(), "L1C/distilled", damage)
    cube = xr.DataArray(np.full((13, 4, 4), 800, np.uint16), dims=["bands", "y", "x"], coords={"bands": list(S2_BANDS)})
    with pytest.raises(
        ValueError, match="the UDF's model L1C/distilled (fails its SHA-256 check|does not decode)"
    ) as e:
        exec_udf(code)["apply_datacube"](cube, {})
    assert "cotmask build" in str(e.value) and "\n" not in str(e.value)


def _flat(cube: xr.DataArray, bands: tuple[str, ...]) -> np.ndarray:
    return cube.sel(bands=list(bands)).transpose(..., "bands").values.reshape(-1, len(bands))


def test_udf_equals_predict_on_real_scene(scene: xr.DataArray) -> None:
    out = run_udf_locally(scene, {})
    assert out.dims == ("t", "bands", "y", "x") and out.bands.values.tolist() == [
        "cot",
        "cot_std",
        "cloud_class",
        "ood",
    ]
    assert out.dtype == np.float32
    bands = cotmask.load_model("L1C").bands
    refl = _flat(scene, bands).astype(np.float32) * np.float32(1e-4)
    refl[(_flat(scene, bands) == 0).any(axis=1)] = np.nan
    ref = carried(refl, "L1C")
    for k in ("cot", "cot_std", "cloud_class"):
        np.testing.assert_allclose(out.sel(bands=k).values.ravel(), ref[k], atol=1e-6, equal_nan=True)
    cls = out.sel(bands="cloud_class").values
    assert 0.05 < np.nanmean(cls >= 1) < 0.95  # the crop has clouds and clear land


def test_3d_4d_and_band_spelling_agree(scene: xr.DataArray) -> None:
    four = run_udf_locally(scene, {}).isel(t=0)
    three = run_udf_locally(scene.isel(t=0), {})
    assert three.dims == ("bands", "y", "x")
    assert_same_result(three, four)
    short = scene.assign_coords(bands=[b.replace("B0", "B") for b in scene.bands.values])
    assert_same_result(run_udf_locally(short, {}), run_udf_locally(scene, {}))
    extra = scene.isel(t=0).expand_dims(member=2).transpose("member", "bands", "y", "x")
    ext = cube_outputs(
        extra, {"model": "distilled"}, lambda lv, k, e: Model(model_source(lv, k).read_bytes(), engine=e)
    )
    assert_same_result(ext.isel(member=1), run_udf_locally(scene.isel(t=0), {"model": "distilled"}))


def test_nodata_and_nan_stay_nan(scene: xr.DataArray) -> None:
    cube = scene.astype("float32").copy()
    cube.loc[{"bands": "B11"}][0, 5, 7] = 0  # ESA nodata DN
    cube.loc[{"bands": "B04"}][0, 9, 9] = np.nan
    out = run_udf_locally(cube, {})
    for y, x in [(5, 7), (9, 9)]:
        assert np.isnan(out.values[0, :, y, x]).all()
    assert np.isfinite(out.values[0, :, 0, 0]).all()


def test_classes_follow_context_thresholds(scene: xr.DataArray) -> None:
    rules_off = {"snow_test": False, "cirrus_floor": None}
    out = run_udf_locally(scene, {"thin_threshold": 0.5, "opaque_threshold": 3.0, **rules_off})
    cot, cls = out.sel(bands="cot").values, out.sel(bands="cloud_class").values
    ok = np.isfinite(cot)
    np.testing.assert_array_equal(cls[ok], np.digitize(cot[ok], [0.5, 3.0]))


def test_level_from_b10_and_l2a_cube() -> None:
    d = generate(400, seed=4)
    boa = xr.DataArray(
        d["boa"].reshape(20, 20, 12).transpose(2, 0, 1), dims=("bands", "y", "x"), coords={"bands": list(L2A_BANDS)}
    )
    out = run_udf_locally(boa, {"scale": 1.0})
    ref = carried(level_inputs(d, "L2A"), "L2A")
    np.testing.assert_allclose(out.sel(bands="cot").values.ravel(), ref["cot"], atol=1e-6)
    ens = run_udf_locally(boa, {"scale": 1.0, "model": "ensemble"})
    np.testing.assert_allclose(
        ens.sel(bands="cot").values.ravel(), carried(level_inputs(d, "L2A"), "L2A", "ensemble")["cot"], atol=1e-6
    )


@pytest.mark.parametrize(
    "mutate,context,match",
    [
        (
            lambda c: c.sel(bands=[b for b in c.bands.values if b not in ("B8A", "B11")]),
            {},
            r"lacks bands \['B8A', 'B11'\]",
        ),
        (lambda c: c.rename(bands="spectral"), {}, "no bands dimension"),
        (lambda c: c.astype(str), {}, "numeric"),
        (lambda c: c.astype("float32") * 1e-4, {}, "look like reflectance"),
        (lambda c: c, {"scale": 1.0}, "looks like DN"),
        (lambda c: c, {"colour": "red"}, "unknown cotmask context keys"),
        (lambda c: c, {"thin_threshold": 2.0, "opaque_threshold": 1.0}, "below opaque"),
        (lambda c: c, {"model": "huge"}, "model must be one of"),
        (lambda c: c, {"engine": "torch"}, "engine must be one of"),
        (lambda c: c, {"offset": -3000}, "offset"),
    ],
)
def test_bad_input_gets_a_clear_error(scene: xr.DataArray, udf_ns: dict, mutate, context: dict, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        udf_ns["apply_datacube"](mutate(scene), context)


def test_apply_metadata_renames_bands(udf_ns: dict) -> None:
    from openeo.metadata import Band, BandDimension, CubeMetadata

    meta = CubeMetadata(dimensions=[BandDimension("bands", [Band("B02"), Band("B03"), Band("B04")])])
    assert udf_ns["apply_metadata"](meta, {}).band_names == ["cot", "cot_std", "cloud_class", "ood"]


def test_local_graph_equals_direct_udf(scene: xr.DataArray, tmp_path) -> None:
    coll = write_collection(scene, tmp_path / "l1c.nc")
    ctx = {"model": "distilled"}
    graph = udf_graph(str(coll), list(scene.bands.values), ctx).flat_graph()
    assert [n["process_id"] for n in graph.values()] == [
        "load_collection",
        "filter_bands",
        "apply_dimension",
        "rename_labels",
    ]
    res = run_graph_locally(graph, tmp_path)
    direct = run_udf_locally(scene, ctx)
    assert res.coords["bands"].values.tolist() == ["cot", "cot_std", "cloud_class", "ood"]
    assert_same_result(direct, res)


def test_lazy_dask_cloud_mask_equals_the_eager_one(scene: xr.DataArray) -> None:
    """cloud_mask on a dask cube (per chunk) equals it on the numpy cube (the package's float32 models; the UDF
    carries their float16 copies)."""
    lazy = cotmask.cloud_mask(scene.chunk({"y": 50, "x": 40}), {"model": "distilled"})
    assert lazy.chunks is not None  # nothing computed yet
    assert_same_result(lazy.compute(), cotmask.cloud_mask(scene, {"model": "distilled"}))


def test_best_pixel_udf_keeps_only_the_lowest_cot_date_and_explains_bad_input() -> None:
    t = np.array(["2024-05-02", "2024-05-20", "2024-06-05"], dtype="datetime64[ns]")
    vals = np.array(
        [[[[1.0]], [[5.0]]], [[[2.0]], [[0.5]]], [[[3.0]], [[np.nan]]]], dtype=np.float32
    )  # (t, bands, y, x)
    cube = xr.DataArray(vals, dims=("t", "bands", "y", "x"), coords={"t": t, "bands": ["B04", "cot"]})
    udf = udf_dir() / "cotmask_best_pixel_udf.py"
    out = run_udf_locally(cube, {"period": "month"}, udf)
    assert out.t.values.tolist() == t.tolist()  # the dates stay (spec-portable apply_dimension)
    # May: the 2nd date (COT 0.5) wins, the 1st is blanked; June: no valid COT -> nothing
    np.testing.assert_array_equal(out.sel(bands="B04").values.ravel(), [np.nan, 2.0, np.nan])
    np.testing.assert_array_equal(out.sel(bands="cot").values.ravel(), [np.nan, 0.5, np.nan])
    ns = exec_udf(udf.read_text())
    with pytest.raises(ValueError, match="needs a 'cot' band"):
        ns["apply_datacube"](cube.sel(bands=["B04"]), {})
    with pytest.raises(ValueError, match="unknown context keys"):
        ns["apply_datacube"](cube, {"periode": "month"})


def test_class_test_udf() -> None:
    scl = xr.DataArray(
        np.array([[[0, 3, 8], [4, np.nan, 10]]], dtype=np.float32)[None],
        dims=("t", "bands", "y", "x"),
        coords={"bands": ["SCL"]},
    )
    hit = run_udf_locally(scl, {"classes": [3, 8, 9, 10]}, "cotmask_classes_udf.py")
    assert hit.bands.values.tolist() == ["hit"]
    np.testing.assert_array_equal(hit.values.ravel(), [0, 1, 1, 0, 0, 1])
    out = run_udf_locally(scl, {"classes": [4], "invert": True, "label": "outside"}, "cotmask_classes_udf.py")
    np.testing.assert_array_equal(out.values.ravel(), [1, 1, 1, 0, 0, 1])  # nodata is never a hit
    with pytest.raises(ValueError, match="list of class codes"):
        run_udf_locally(scl, {"classes": "3,8"}, "cotmask_classes_udf.py")


@pytest.mark.parametrize("level,kind", [("L1C", "ensemble"), ("L1C", "distilled"), ("L2A", "ensemble")])
def test_numpy_engine_equals_onnxruntime(scene: xr.DataArray, level: str, kind: str, monkeypatch, request) -> None:
    """Both engines give the same result, and each run used the engine its context names: the UDF imports an
    onnxruntime whose inference calls are counted (an ignored ``engine`` key would run onnxruntime twice)."""
    import onnxruntime
    from openeo.udf.run_code import load_module_from_string

    # openeo keeps each UDF text's namespace (its onnxruntime import, its model cache): load the UDF afresh here,
    # and again after this test, so no model of another test is reused and no later test keeps the spy
    load_module_from_string.cache_clear()
    request.addfinalizer(load_module_from_string.cache_clear)
    calls = []

    class CountedSession(onnxruntime.InferenceSession):
        def run(self, *args, **kwargs):
            calls.append(1)
            return super().run(*args, **kwargs)

    spy = types.ModuleType("onnxruntime")
    spy.__dict__.update({**vars(onnxruntime), "InferenceSession": CountedSession})
    monkeypatch.setitem(sys.modules, "onnxruntime", spy)  # what the UDF's `import onnxruntime` gets
    cube = scene if level == "L1C" else scene.sel(bands=[b for b in scene.bands.values if b not in ("B01", "B10")])
    ort_out = run_udf_locally(cube, {"model": kind, "engine": "onnxruntime"})
    assert calls, "the onnxruntime run did not run onnxruntime"
    calls.clear()
    np_out = run_udf_locally(cube, {"model": kind, "engine": "numpy"})
    assert not calls, "the numpy run ran onnxruntime"
    assert np.nanmax(np.abs(ort_out.sel(bands="cot") - np_out.sel(bands="cot")).values) <= 1e-3
    np.testing.assert_array_equal(ort_out.sel(bands="cloud_class").values, np_out.sel(bands="cloud_class").values)


def test_published_graph_udf_runs_without_onnxruntime(scene: xr.DataArray) -> None:
    """The UDF text inside graphs/cotmask_cloud_mask.json, with onnxruntime blocked, equals it with onnxruntime."""
    graph = json.loads((GRAPHS_DIR / "cotmask_cloud_mask.json").read_text())["process_graph"]
    code = next(
        n["arguments"]["process"]["process_graph"]["runudf1"]["arguments"]["udf"]
        for n in graph.values()
        if n["process_id"] == "apply_dimension"
    )
    cube = scene.isel(t=0).sel(bands=[b for b in scene.bands.values if b not in ("B01", "B10")])
    blocked = exec_udf(code, block_onnxruntime=True)
    assert blocked["ort"] is None
    with_ort = exec_udf(code)
    assert with_ort["ort"] is not None
    a, b = blocked["apply_datacube"](cube, {}), with_ort["apply_datacube"](cube, {})
    assert np.nanmax(np.abs((a - b).sel(bands="cot").values)) <= 1e-3
    np.testing.assert_array_equal(a.sel(bands="cloud_class").values, b.sel(bands="cloud_class").values)
    assert 0.05 < float((a.sel(bands="cloud_class") >= 1).mean()) < 0.95


def test_float16_ensemble_matches_the_shipped_float32_on_the_real_scene(scene: xr.DataArray) -> None:
    bands = cotmask.load_model("L1C").bands
    refl = _flat(scene, bands).astype(np.float32) * np.float32(1e-4)
    full, half = cotmask.predict(refl, "L1C", "ensemble"), carried(refl, "L1C", "ensemble")
    assert np.abs(full["cot"] - half["cot"]).max() < 0.05
    assert np.mean(full["cloud_class"] == half["cloud_class"]) > 0.999

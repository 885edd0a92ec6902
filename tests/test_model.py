"""Training, ONNX export and the predict API: parity, metadata, known COT, bad input."""

import json
from dataclasses import replace

import numpy as np
import onnx
import pytest

import cotmask
from cotmask.core.bands import KIND_WITHOUT, LEVELS, MODEL_KINDS
from cotmask.core.model import Model
from cotmask.core.shipped import CHECKSUMS, RECORD_CHECKSUMS, checksums_text, compact_path, model_path, read_checksums
from cotmask.training.export import reference_outputs
from cotmask.training.mlp import TrainConfig
from cotmask.training.pipeline import DISTILLED, MODEL_BANDS, build_level, level_inputs, mlp_from_onnx, model_bands
from cotmask.training.synth import SURFACES, generate

LEVEL_KINDS = [(lv, k) for lv in LEVELS for k in MODEL_KINDS]
REQUIRED_METADATA = {
    "bands",
    "level",
    "kind",
    "members",
    "reflectance",
    "thresholds",
    "normalisation",
    "training",
    "version",
    "outputs",
    "license",
    "ood",
}


@pytest.fixture(scope="module")
def tiny() -> dict:
    data = generate(4000, seed=5)
    cfg = TrainConfig(members=3, steps=300, batch=64, log_every=10**9)
    return {
        "data": data,
        "built": build_level("L2A", data, cfg, TrainConfig(members=1, hidden=(16,), steps=200), log=lambda s: None),
    }


def test_tiny_training_learns_and_onnx_matches_numpy(tiny: dict) -> None:
    assert sorted(tiny["built"]) == sorted(MODEL_KINDS)  # the ensemble and every distilled kind
    for kind, (net, blob) in tiny["built"].items():
        x = level_inputs(tiny["data"], "L2A", kind)[:500]
        m = Model(blob)
        cot, std = m.run(x)
        ref_cot, ref_std = reference_outputs(net, x, distilled=kind != "ensemble")
        # parity in the network's own output unit (COT / 50): max abs difference < 1e-5
        assert np.abs(cot - ref_cot).max() / 50 < 1e-5 and np.abs(std - ref_std).max() / 50 < 1e-5
        assert m.bands == tuple(b for b in MODEL_BANDS["L2A"] if b not in KIND_WITHOUT.get(kind, ())) and m.kind == kind
    x = level_inputs(tiny["data"], "L2A")[:500]
    ens = tiny["built"]["ensemble"][0]
    truth = tiny["data"]["cot"][:500]
    # even 300 steps beat predicting the mean COT
    assert np.mean(np.abs(ens.predict(x)[0] - truth)) < np.mean(np.abs(truth - truth.mean()))


def test_tiny_training_fits_an_ood_codebook(tiny: dict) -> None:
    """Training writes the codebook: 99 % of its own training inputs score <= 1, far-off spectra score > 1."""
    m = Model(tiny["built"]["distilled"][1])
    x = level_inputs(tiny["data"], "L2A")
    _, _, ood = m.run(x, with_ood=True)
    assert np.mean(ood <= 1.0) == pytest.approx(0.99, abs=0.01)
    flat = np.full((3, len(m.bands)), 1.8, np.float32)  # uniformly brighter than snow in every band
    assert (m.run(flat, with_ood=True)[2] > 2).all()


@pytest.mark.parametrize("level,kind", LEVEL_KINDS)
def test_graph_ood_output_is_the_codebook_distance(level: str, kind: str) -> None:
    """The ``ood`` graph output (onnxruntime and the numpy engine) is the distance of the standardised input to the
    nearest codebook centroid / d99, computed here in float64 from the metadata."""
    blob = model_path(level, kind).read_bytes()
    net, meta = mlp_from_onnx(blob)
    x = level_inputs(generate(3000, seed=78), level, kind)
    x[:5] *= 3.0  # some far-off spectra too (values above 2 are clipped to 2 before the model)
    z = (np.minimum(x, 2.0) - net.mean) / net.std
    c = np.asarray(meta["ood"]["centroids"])
    want = np.sqrt(((z[:, None, :] - c[None]) ** 2).sum(-1).min(1)) / meta["ood"]["d99"]
    for engine in ("onnxruntime", "numpy"):
        got = Model(blob, engine=engine).run(x, with_ood=True)[2]
        np.testing.assert_allclose(got, want, atol=2e-4, rtol=1e-4)


def test_shipped_models_are_what_the_exporter_writes() -> None:
    """Each shipped graph is what the current ``export.to_onnx_bytes`` writes from the file's own weights and
    metadata: a change of the export fails here until ``python training/reexport.py`` ran."""
    from cotmask.training.pipeline import reexport

    for level, kind in LEVEL_KINDS:
        blob = model_path(level, kind).read_bytes()
        assert reexport(blob) == blob, f"{level} {kind} drifted from the exporter: run `python training/reexport.py`"


@pytest.mark.parametrize("engine", ["onnxruntime", "numpy"])
def test_results_do_not_depend_on_the_worker_threads(engine: str) -> None:
    """Chunks on 1 or 3 worker threads give the same numbers (numpy engine, with BLAS single-threaded meanwhile: to
    float32 rounding)."""
    import cotmask.core.model as core

    blob = model_path("L1C", "distilled").read_bytes()
    x = _pixels(50_000)
    x[7, 3] = np.nan
    one = Model(blob, threads=1, engine=engine).run(x, 4096, with_ood=True)
    two = Model(blob, threads=3, engine=engine).run(x, 4096, with_ood=True)
    for a, b in zip(one, two):  # numpy: single- vs multi-threaded BLAS sum in another order (last float32 digits)
        np.testing.assert_allclose(a, b, rtol=0, atol=0 if engine == "onnxruntime" else 1e-4)
    assert np.isnan(one[0][7]) and np.isfinite(np.delete(one[0], 7)).all()
    assert core.threadpool_limits is not None  # a dependency: the numpy engine's worker threads need it


def test_cpu_count_follows_the_container_cpu_limit(tmp_path, monkeypatch) -> None:
    import cotmask.core.model as core

    limit = tmp_path / "cpu.max"
    monkeypatch.setattr(core, "CGROUP_CPU_MAX", str(limit))
    monkeypatch.setattr(core.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert core.cpu_count() == 64  # no cgroup file: the affinity mask
    limit.write_text("150000 100000\n")  # 1.5 CPUs
    assert core.cpu_count() == 2 and Model(model_path("L2A", "distilled").read_bytes()).workers == 2
    limit.write_text("max 100000\n")
    assert core.cpu_count() == 64


@pytest.mark.parametrize("level", ["L1C", "L2A"])
def test_shipped_ood_score_on_new_synthetic_and_real_clear_pixels(level: str, shared_data) -> None:
    """Fresh generator samples (another seed) score like the training data (~99 % <= 1); real clear eo-learn
    scenes sit well inside (median < 0.5); a spectrum no surface or cloud has (flat 1.8) is far outside."""
    from cotmask.core.bands import S2_BANDS

    m = cotmask.load_model(level, "distilled")
    fresh = level_inputs(generate(3000, seed=11), level)
    assert np.mean(m.run(fresh, with_ood=True)[2] <= 1.0) > 0.97
    if level == "L1C":
        scenes = np.load(shared_data / "eolearn" / "REFERENCE_SCENES.npy")[[2, 3, 4]]
        x = scenes[..., [S2_BANDS.index(b) for b in m.bands]].reshape(-1, len(m.bands))
        assert np.median(cotmask.predict(x, level, "distilled")["ood"]) < 0.5
    assert (m.run(np.full((2, len(m.bands)), 1.8, np.float32), with_ood=True)[2] > 2).all()


@pytest.mark.parametrize("level,kind", LEVEL_KINDS)
def test_shipped_model_metadata_and_parity(level: str, kind: str) -> None:
    path = model_path(level, kind)
    meta = {p.key: json.loads(p.value) for p in onnx.load(path).metadata_props}
    assert REQUIRED_METADATA <= set(meta)
    assert meta["bands"] == list(model_bands(level, kind)) and meta["level"] == level and meta["kind"] == kind
    assert meta["thresholds"] == {"thin": 0.75, "opaque": 1.25}
    assert meta["reflectance"]["offset_dn"]["processing_baseline_04.00_or_later"] == -1000
    assert meta["members"] == (10 if kind == "ensemble" else 1)
    net = mlp_from_onnx(path.read_bytes())[0]
    distilled = kind != "ensemble"
    x = level_inputs(generate(2000, seed=77), level, kind)
    res = cotmask.predict(x, level, kind)
    ref_cot, ref_std = reference_outputs(net, x, distilled)
    # parity in the network's own output unit (COT / 50): max abs difference < 1e-5
    assert np.abs(res["cot"] - ref_cot).max() / 50 < 1e-5
    assert np.abs(res["cot_std"] - ref_std).max() / 50 < 1e-5


def test_shipped_models_are_small() -> None:
    total = sum(model_path(lv, k).stat().st_size for lv, k in LEVEL_KINDS)
    assert total < 2 * 1024 * 1024


@pytest.mark.parametrize("level", ["L1C", "L2A"])
def test_known_cot_on_synthetic_pixels(level: str) -> None:
    forest = SURFACES.index("conifer_forest")
    for cot, expect_class in [(0.0, 0), (20.0, 2)]:
        d = generate(2000, seed=31, cot=np.full(2000, cot), surface=np.full(2000, forest))
        res = cotmask.predict(level_inputs(d, level), level)
        assert np.mean(res["cloud_class"] == expect_class) > 0.95, (level, cot)
    d = generate(3000, seed=32, cot=np.full(3000, 5.0), surface=np.full(3000, forest))
    assert abs(np.median(cotmask.predict(level_inputs(d, level), level)["cot"]) - 5.0) < 1.5


def test_classes_follow_thresholds() -> None:
    cot = np.array([0.0, 0.74, 0.75, 1.0, 1.2499, 1.25, 40.0, np.nan])
    np.testing.assert_array_equal(cotmask.classify(cot, 0.75, 1.25), [0, 0, 1, 1, 1, 2, 2, np.nan])
    with pytest.raises(ValueError, match="below opaque"):
        cotmask.classify(cot, 1.5, 1.0)


def _pixels(n: int = 100) -> np.ndarray:
    return level_inputs(generate(n, seed=3), "L1C")


def test_predict_rejects_bad_input() -> None:
    x = _pixels()
    with pytest.raises(ValueError, match=r"shape \(N, 12\).*B02"):
        cotmask.predict(x[:, :11], "L1C")
    with pytest.raises(TypeError, match="float"):
        cotmask.predict((x * 10000).astype(np.uint16), "L1C")
    with pytest.raises(ValueError, match="looks like DN"):
        cotmask.predict(x * 10000 + 1000, "L1C")
    with pytest.raises(ValueError, match="offset"):
        cotmask.predict(x - 0.2, "L1C")
    with pytest.raises(ValueError, match="level"):
        cotmask.predict(x, "L3")


def test_predict_nodata_rows_give_nan() -> None:
    x = _pixels()
    x[3, 5] = np.nan
    x[7, 0] = -0.5  # isolated impossible value: documented nodata
    res = cotmask.predict(x, "L1C")
    for k in ("cot", "cot_std", "cloud_class"):
        assert np.isnan(res[k][[3, 7]]).all() and np.isfinite(np.delete(res[k], [3, 7])).all()


def test_predict_chunking_does_not_change_results() -> None:
    x = _pixels(1000)
    a, b = cotmask.predict(x, "L1C", chunk_size=64), cotmask.predict(x, "L1C", chunk_size=100000)
    np.testing.assert_array_equal(a["cot"], b["cot"])


def test_shipped_models_come_from_the_documented_training_command() -> None:
    """models/ was made by `python training/train.py` with its defaults (seed, samples, recipe)."""
    import sys

    sys.path.insert(0, str(model_path("L1C").parents[1] / "training"))
    import train

    defaults = {a.dest: a.default for a in train.build_parser()._actions if a.dest != "help"}
    from cotmask.training.pipeline import MODEL_BANDS

    for level in ("L1C", "L2A"):
        band = MODEL_BANDS[level].index("B10") if "B10" in MODEL_BANDS[level] and defaults["monotone_weight"] else -1
        expected = TrainConfig(
            members=defaults["members"],
            steps=defaults["steps"],
            seed=defaults["seed"],
            class_edges=tuple(float(e) for e in defaults["class_edges"].split(",")),
            monotone_weight=defaults["monotone_weight"],
            monotone_band=band,
            cot_weight_offset=defaults["cot_weight_offset"],
        ).to_dict()
        meta = {p.key: json.loads(p.value) for p in onnx.load(model_path(level, "ensemble")).metadata_props}
        assert meta["training"]["config"] == json.loads(json.dumps(expected))
        assert (
            meta["training"]["n_samples"] == defaults["samples"] and meta["training"]["data_seed"] == defaults["seed"]
        )
        # the distilled model: the DISTILLED recipe with the ensemble's seed + 1 and its B10 penalty
        student = {p.key: json.loads(p.value) for p in onnx.load(model_path(level, "distilled")).metadata_props}
        want = replace(
            DISTILLED,
            seed=expected["seed"] + 1,
            log_every=expected["log_every"],
            **{k: expected[k] for k in ("monotone_band", "monotone_weight", "monotone_delta")},
        )
        assert student["training"]["config"] == json.loads(json.dumps(want.to_dict()))
        assert "perturbed" in student["training"]["teacher"]


def test_model_card_metrics_match_a_fresh_evaluation() -> None:
    """models/metrics.json (and the card) are what training/evaluate.py gives for the shipped models."""
    import sys

    sys.path.insert(0, str(model_path("L1C").parents[1] / "training"))
    import evaluate

    shipped = json.loads((model_path("L1C").parent / "metrics.json").read_text())
    fresh, _ = evaluate.evaluate(60_000, 1001)
    for name, res in fresh.items():
        if name.startswith("cotmask"):
            for key in ("thin_detected_as_cloud", "snow_cloudless_false_cloud_rate", "haze_flagged_rate"):
                assert res[key] == pytest.approx(shipped[name][key], abs=1e-3), (name, key)
            assert res["detection"]["balanced_accuracy"] == pytest.approx(
                shipped[name]["detection"]["balanced_accuracy"], abs=1e-3
            )


@pytest.mark.parametrize("level", ["L1C", "L2A"])
def test_compact_fp16_models_are_generated_from_the_shipped_ones(level: str) -> None:
    from cotmask.training.fp16 import compact_path, to_fp16

    assert compact_path(level).read_bytes() == to_fp16(model_path(level, "ensemble").read_bytes()), (
        f"{compact_path(level).name} drifted: run `python -m cotmask.training.fp16`, then `cotmask build`"
    )


def test_model_checksums_are_recorded_for_every_shipped_model() -> None:
    """models/SHA256SUMS holds the SHA-256 of every shipped ONNX file (the float16 copies too) as they are now; the
    loader and the UDF builder check each file against it."""
    folder = model_path("L1C").parent
    shipped = {model_path(lv, k).name for lv in ("L1C", "L2A") for k in MODEL_KINDS} | {
        compact_path(lv).name for lv in ("L1C", "L2A")
    }
    assert set(read_checksums(folder) or {}) == shipped
    assert (folder / CHECKSUMS).read_text() == checksums_text(folder), (
        f"models/{CHECKSUMS} drifted from models/*.onnx: after retraining, re-exporting or converting the models on "
        f"purpose run `{RECORD_CHECKSUMS}` (then `cotmask build`); otherwise a model is damaged: `git checkout models/`"
    )


@pytest.mark.parametrize("kind", ["ensemble", "distilled"])
def test_cot_does_not_fall_when_b10_rises_on_real_cirrus(kind: str, shared_data) -> None:
    """Real cirrus pixels of the 13-band scene (B10 > 0.01): raising B10 by half must not lower COT (B10 is
    evidence of cloud). The v1 models lowered it on ~70 % of them."""
    from cotmask.core.bands import S2_BANDS

    toa = np.load(shared_data / "s2cloudless_1.2.2" / "input_arrays.npz")["s2_im"][0].reshape(-1, 13)
    model = cotmask.load_model("L1C", kind)
    x = toa[toa[:, S2_BANDS.index("B10")] > 0.01][:, [S2_BANDS.index(b) for b in model.bands]]
    up = x.copy()
    up[:, model.bands.index("B10")] *= 1.5
    cot, cot_up = cotmask.predict(x, "L1C", kind)["cot"], cotmask.predict(up, "L1C", kind)["cot"]
    assert len(x) > 100_000
    assert np.mean(cot_up < cot - 0.05) < 0.01


def test_distilled_model_follows_the_ensemble_on_real_scenes(shared_data) -> None:
    """The default (distilled) model is trained on the ensemble's outputs around the training spectra: on the real
    13-band scene (hazy: many pixels near the threshold) and the eo-learn scenes it gives the ensemble's cloud flag on
    > 94 % / > 98 % of the pixels (shipped: 94.7 % / 99.4 %)."""
    from cotmask.core.bands import S2_BANDS

    scenes = {
        "s2cloudless": np.load(shared_data / "s2cloudless_1.2.2" / "input_arrays.npz")["s2_im"][0],
        "eolearn": np.load(shared_data / "eolearn" / "REFERENCE_SCENES.npy"),
    }
    bands = [S2_BANDS.index(b) for b in MODEL_BANDS["L1C"]]
    for name, toa in scenes.items():
        x = toa[..., bands].reshape(-1, len(bands))
        ens, dist = (cotmask.predict(x, "L1C", k)["cot"] >= 0.75 for k in ("ensemble", "distilled"))
        assert np.mean(ens == dist) > (0.94 if name == "s2cloudless" else 0.98), name

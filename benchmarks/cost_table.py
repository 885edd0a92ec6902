"""What a UDP costs per km2 and date: pixels loaded with the shadows' margin, model, shadow and temporal-test
CPU-seconds, memory.

    python benchmarks/cost_table.py     # writes benchmarks/cost.json, the table in docs/cost.md, records/; ~1 min

Measured here, in one run, on one core (threads=1): the cotmask UDF path (``cube_outputs``, the distilled L2A model)
with onnxruntime and with the numpy engine, the shadow step, on real pixels (the s2cloudless scene, tiled), and the
temporal test (``temporal_cube``) on 12 dates of that scene with a little noise; a backend's executor runs the same
code per tile and date. Multiply a row by your area (km2) and number of dates.
"""

import json
import time
from pathlib import Path

import numpy as np
import xarray as xr

import cotmask
from cotmask.core.bands import S2_BANDS
from cotmask.core.cube import cube_outputs
from cotmask.udf.shadow import NEIGHBORHOOD_SIZE, SHADOW_REACH_M, overlap_px, shadow_mask
from cotmask.udf.temporal import temporal_cube
from cotmask.udp import PROCESSES, RECORDS_DIR, render_record
from cotmask.udp.common import CHAIN_BANDS

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "s2cloudless_1.2.2" / "input_arrays.npz"
#: The grid each UDP runs on (m): native 10 m, scene screening at its default 60 m.
GRID_M = {m.PROCESS_ID: (60.0 if m.PROCESS_ID == "cotmask_scene_screening" else 10.0) for m in PROCESSES}
#: The UDPs that run the temporal test (``temporal``, default true).
SERIES = {m.PROCESS_ID for m in PROCESSES if "temporal" in {q.name for q in m.parameters()}}


def _cpu_seconds(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def measure() -> dict:
    """CPU-seconds per million pixels on one core: the UDF path per engine, and the shadow step."""
    toa = np.load(DATA)["s2_im"][0].astype(np.float32)
    tiled = np.tile(toa, (2, 2, 1))  # 1712 x 1024 px, 1.75 Mpx
    cube = xr.DataArray(np.moveaxis(tiled, -1, 0), dims=("bands", "y", "x"), coords={"bands": list(S2_BANDS)})
    l2a = cube.drop_sel(bands="B10")
    mpx = cube.sizes["y"] * cube.sizes["x"] / 1e6
    out: dict = {"pixels": int(mpx * 1e6)}
    for engine in ("onnxruntime", "numpy"):
        get = lambda lv, k, e, engine=engine: cotmask.load_model(lv, k, 1, engine)  # noqa: E731
        cube_outputs(l2a[:, :64, :64], {"scale": 1.0}, get)  # load the model outside the timing
        out[f"udf_{engine}_cpu_s_per_mpx"] = _cpu_seconds(lambda: cube_outputs(l2a, {"scale": 1.0}, get)) / mpx
    cls = cotmask.cloud_mask(l2a, {"scale": 1.0}).sel(bands="cloud_class").values
    band = lambda b: tiled[..., S2_BANDS.index(b)]  # noqa: E731
    seconds = _cpu_seconds(lambda: shadow_mask(band("B03"), band("B08"), band("B11"), cls, 10.0))
    out["shadow_cpu_s_per_mpx"] = seconds / mpx
    rng = np.random.default_rng(0)
    part = l2a[:, :512, :512]
    names = [*CHAIN_BANDS, "cot", "cloud_class"]
    dates = [part.sel(bands=list(CHAIN_BANDS)).values * rng.normal(1, 0.02) / 1e-4 for _ in range(12)]
    extra = [np.stack([np.full(part.shape[1:], 0.2), cls[:512, :512]]) for _ in range(12)]
    t = (np.datetime64("2024-05-01") + 5 * np.arange(12)).astype("datetime64[ns]")
    series = xr.DataArray(
        np.concatenate([np.stack(dates), np.stack(extra)], axis=1).astype(np.float32),
        dims=("t", "bands", "y", "x"),
        coords={"t": t, "bands": names},
    )
    out["temporal_cpu_s_per_mpx_date"] = _cpu_seconds(lambda: temporal_cube(series)) / (12 * 512 * 512 / 1e6)
    return out


def table(m: dict) -> list[dict]:
    """Per UDP and km2 x date: grid, pixels, the margin the shadows load, CPU-seconds per engine, memory."""
    rows = []
    for pid, grid in GRID_M.items():
        px = 1e6 / grid**2
        window = NEIGHBORHOOD_SIZE + 2 * overlap_px(grid)
        rows.append(
            {
                "process": pid,
                "grid_m": grid,
                "pixels_per_km2_date": px,
                "shadow_margin_km_per_side": overlap_px(grid) * grid / 1000,
                "model_cpu_s_onnxruntime": px / 1e6 * m["udf_onnxruntime_cpu_s_per_mpx"],
                "model_cpu_s_numpy": px / 1e6 * m["udf_numpy_cpu_s_per_mpx"],
                # the shadow window is wider than its output: (size + 2 overlap)^2 / size^2 pixels per output pixel
                "shadow_cpu_s": px / 1e6 * m["shadow_cpu_s_per_mpx"] * (window / NEIGHBORHOOD_SIZE) ** 2,
                "temporal_cpu_s": px / 1e6 * m["temporal_cpu_s_per_mpx_date"] * (pid in SERIES),
                "shadow_window_input_mib": window**2 * 4 * (len(CHAIN_BANDS) + 2) / 2**20,
            }
        )
    return rows


def markdown(m: dict, rows: list[dict]) -> str:
    """docs/cost.md."""
    lines = [
        "# What a UDP costs",
        "",
        "Per km² and date, on one CPU core (`python benchmarks/cost_table.py`, measured on this project's 2-core "
        f"machine: the UDF path {m['udf_onnxruntime_cpu_s_per_mpx']:.2f} CPU-s per million pixels with onnxruntime, "
        f"{m['udf_numpy_cpu_s_per_mpx']:.2f} with the numpy engine; the shadow step "
        f"{m['shadow_cpu_s_per_mpx']:.2f}; the temporal test {m['temporal_cpu_s_per_mpx_date']:.2f} per million pixels "
        "and date). Multiply by area and dates: a 1 000 km² county over a month of 6 "
        "acquisitions is 6 000 km² x date. Backends add their own overhead (loading, resampling, Spark).",
        "",
        f"With shadows, every window loads the shadows' reach ({SHADOW_REACH_M / 1000:g} km) beyond it on each side: "
        "for a small stand that margin, not the stand, is what is loaded and computed (a 1 ha stand: about "
        f"{(2 * SHADOW_REACH_M / 1000 + 0.1) ** 2:.0f} km² per date). Scene screening with `shadows=false` loads "
        "no margin.",
        "",
        "| process | grid | pixels per km² x date | shadow margin per side | model CPU-s (onnxruntime / numpy) | "
        "shadow CPU-s | temporal CPU-s | shadow window input per date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['process']}` | {r['grid_m']:g} m | {r['pixels_per_km2_date']:,.0f} | "
            f"{r['shadow_margin_km_per_side']:.2f} km | {r['model_cpu_s_onnxruntime']:.4f} / "
            f"{r['model_cpu_s_numpy']:.4f} | {r['shadow_cpu_s']:.4f} | {r['temporal_cpu_s']:.4f} | "
            f"{r['shadow_window_input_mib']:.0f} MiB |"
        )
    lines += [
        "",
        "Memory per UDF call: the cotmask UDF holds its input tile, four float32 output bands (16 bytes a pixel) and "
        "the chunks in flight (benchmarks/results.md: a full 10980² tile 1.9 GiB above its input); the shadow UDF one "
        "window of the chain's seven float32 bands (last column); the temporal UDF a 144 x 144 px window with every "
        "date: 24 MiB for 12 dates, 286 MiB for 146 (benchmarks/series_cost.json). Each graph reads the cotmask UDF's "
        "result through one chain of single consumers, so a geotrellis backend, which persists nothing that two "
        "steps read (openeo-geopyspark-driver issue 986), runs the model once per pixel and date "
        "(tests/test_compute_once.py).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Measure, tabulate, write."""
    m = measure()
    rows = table(m)
    (HERE / "cost.json").write_text(json.dumps({"measured": m, "rows": rows}, indent=1) + "\n")
    (HERE.parent / "docs" / "cost.md").write_text(markdown(m, rows))
    for module in PROCESSES:  # the catalogue records state these figures (cost_estimate, cost_unit)
        (RECORDS_DIR / f"{module.PROCESS_ID}.json").write_text(render_record(module))
    print(markdown(m, rows))
    print("wrote benchmarks/cost.json, docs/cost.md and records/*.json; update the README's cost line")


if __name__ == "__main__":
    main()

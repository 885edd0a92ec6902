"""What the temporal test and the one-chain graphs cost, in the same local run, and the temporal UDF's memory per call.

    python benchmarks/series_cost.py      # writes benchmarks/series_cost.json; ~3 min

*Stages* (what a backend runs per pixel and date; issue 21's bound: the temporal test adds at most 25 %): each UDF of
the series chain on a generated 12-date 256 x 256 L2A series (``cotmask.samples.synthetic``, its 6 dates twice), best
of three: the cotmask model (distilled, onnxruntime: the fastest engine, so the temporal share is the largest), the
consolidation, the shadows (folded, one date per call) and the temporal test. The added share is the temporal test's
time over the sum of the others.

*Graphs end to end* (local harness, 6 dates of 128 x 128 px): the graph as it was before (``BEFORE``: git commit
eb0248e, read with ``git show``), today's with ``temporal`` false and today's defaults, in rotated order, best of three.
The local engine evaluates both branches of a top-level ``if`` (the backends evaluate only the chosen one), so
"temporal off" still runs the test here; fixed costs dominate at this size.

Memory: peak of Python allocations (``tracemalloc``: numpy's arrays included) in one call of the temporal UDF on the
window the graphs give it (``TEMPORAL_WINDOW`` + 2 x ``MAX_RADIUS`` px a side) with the 7 bands the chain carries,
for 12 dates and for 146 (the longest real series here: a year and a half of dates).
"""

import json
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import xarray as xr

from cotmask.local.harness import run_graph_locally
from cotmask.samples.real import to_dn, write_collection
from cotmask.samples.synthetic import synthetic_timeseries, synthetic_worldcover
from cotmask.udf.consolidate import MAX_RADIUS
from cotmask.udf.temporal import temporal_cube
from cotmask.udp import PROCESSES, call_graph, published_udps
from cotmask.udp.common import CHAIN_BANDS, TEMPORAL_WINDOW

HERE = Path(__file__).resolve().parent
BEFORE = "eb0248e"
SERIES_GRAPHS = (
    "cotmask_mask_timeseries",
    "cotmask_forest_composite",
    "cotmask_best_pixel_composite",
    "cotmask_scene_screening",
)
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[15.0, 59.98], [15.02, 59.98], [15.02, 59.99], [15.0, 59.99], [15.0, 59.98]]],
}


def before_udps() -> list[dict]:
    """The UDPs as committed at ``BEFORE``."""
    out = []
    for m in PROCESSES:
        text = subprocess.run(
            ["git", "show", f"{BEFORE}:graphs/{m.PROCESS_ID}.json"], cwd=HERE.parent, capture_output=True, check=True
        ).stdout
        out.append(json.loads(text))
    return out


def udf_memory(dates: int) -> float:
    """Peak MiB allocated by one temporal UDF call on a graph window with ``dates`` dates."""
    side = TEMPORAL_WINDOW + 2 * MAX_RADIUS
    rng = np.random.default_rng(0)
    bands = [*CHAIN_BANDS, "cot", "cloud_class"]
    data = rng.uniform(200, 3000, (dates, len(bands), side, side)).astype(np.float32)
    data[:, bands.index("cloud_class")] = rng.integers(0, 3, (dates, side, side))
    t = (np.datetime64("2024-01-01") + np.arange(dates) * 5).astype("datetime64[ns]")
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"), coords={"t": t, "bands": bands})
    tracemalloc.start()
    temporal_cube(cube, {})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 2**20, 1)


def stages() -> dict:
    """Seconds per UDF of the chain on a 12-date 256 x 256 series (best of three), and the temporal test's share."""
    from cotmask.core.bands import OUTPUT_BANDS
    from cotmask.core.shipped import load_model
    from cotmask.local.harness import run_udf_locally

    cube, _ = synthetic_timeseries("L2A", size=256)
    dn = to_dn(cube).sel(bands=list(load_model("L2A").bands)).astype(np.float32)
    later = dn.assign_coords(t=dn.t.values + np.timedelta64(90, "D"))
    dn = xr.concat([dn, later], dim="t").transpose("t", "bands", "y", "x")
    best: dict = {}

    def timed(name: str, fn):
        start = time.perf_counter()
        result = fn()
        best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
        return result

    for _ in range(3):
        # as the graphs run it: the model with the rules band, the consolidation on those five bands
        mask = timed("model", lambda: run_udf_locally(dn, {"rule_band": True}, udf="cotmask_udf_distilled.py"))
        mask = timed(
            "consolidation",
            lambda: run_udf_locally(mask, {}, udf="cotmask_consolidate_udf.py").sel(bands=list(OUTPUT_BANDS)),
        )
        chain = xr.concat([dn.sel(bands=list(CHAIN_BANDS)), mask.sel(bands=["cot", "cloud_class"])], dim="bands")
        tested = timed("temporal", lambda: run_udf_locally(chain, {}, udf="cotmask_temporal_udf.py"))
        timed(
            "shadows",
            lambda: [run_udf_locally(tested.isel(t=[i]), {"fold": 1}, udf="cotmask_shadow_udf.py") for i in range(12)],
        )
    assert list(mask.bands.values) == list(OUTPUT_BANDS)
    others = best["model"] + best["consolidation"] + best["shadows"]
    return {**{f"{k}_s": round(v, 3) for k, v in best.items()}, "temporal_added": round(best["temporal"] / others, 3)}


def main() -> None:
    """Time the series graphs before and now (temporal off and on); measure the UDF's memory; write the results."""
    folder = Path(tempfile.mkdtemp(prefix="cotmask_series_cost_"))
    cube, truth = synthetic_timeseries("L2A", size=128)
    coll = write_collection(to_dn(cube), folder / "series.nc")
    worldcover = write_collection(synthetic_worldcover(truth), folder / "worldcover.nc")
    udps = {"before": before_udps(), "now": published_udps()}
    variants = {"before": ("before", {}), "temporal off": ("now", {"temporal": False}), "now": ("now", {})}
    out: dict = {"stages_12_dates_256_px": stages(), "series": "6 dates, 128 x 128 px, L2A (generated)"}
    out |= {"before": BEFORE, "graphs": {}}
    for m in [m for m in PROCESSES if m.PROCESS_ID in SERIES_GRAPHS]:
        names = {q.name for q in m.parameters()}
        extra = {"geometries": POLYGON} if "geometries" in names else {}
        extra.update({"worldcover_collection": str(worldcover)} if "worldcover_collection" in names else {})
        extra.update({"scl_collection": str(coll)} if "scl_collection" in names else {})
        best = dict.fromkeys(variants, float("inf"))
        names_ = list(variants)
        for r in range(3):
            for name in names_[r:] + names_[:r]:  # each variant first once: no order advantage
                which, args = variants[name]
                graph = call_graph(
                    m.PROCESS_ID,
                    collection_id=str(coll),
                    spatial_extent=None,
                    temporal_extent=["2024-05-01", "2024-08-01"],
                    **extra,
                )
                graph["cotmask1"]["arguments"].update(args)
                t = time.perf_counter()
                run_graph_locally(graph, folder, udps[which])
                best[name] = min(best[name], time.perf_counter() - t)
        out["graphs"][m.PROCESS_ID] = {
            **{f"{k}_s": round(v, 3) for k, v in best.items()},
            "now_vs_before": round(best["now"] / best["before"] - 1, 3),
            "temporal_added": round(best["now"] / best["temporal off"] - 1, 3),
        }
    side = TEMPORAL_WINDOW + 2 * MAX_RADIUS
    out["temporal_udf_peak_mib"] = {f"{d} dates, {side} x {side} px, 7 bands": udf_memory(d) for d in (12, 146)}
    (HERE / "series_cost.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

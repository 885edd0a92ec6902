"""What the spatial consolidation (``smooth``) adds to each process graph, in the same local run.

    python benchmarks/consolidation_cost.py      # writes benchmarks/consolidation_cost.json; ~2 min

Each UDP on the generated 6-date 64 x 64 L2A series (``cotmask.samples.synthetic``) through the local harness, with
``smooth`` 0 (pixel by pixel) and 4 (the default), alternated and best of three; issue 21's bound: at most +25 %.
"""

import json
import tempfile
import time
from pathlib import Path

from cotmask.local.harness import run_graph_locally
from cotmask.samples.real import to_dn, write_collection
from cotmask.samples.synthetic import synthetic_timeseries, synthetic_worldcover
from cotmask.udp import PROCESSES, call_graph, published_udps

HERE = Path(__file__).resolve().parent
POLYGON = {
    "type": "Polygon",
    "coordinates": [[[15.0, 59.98], [15.01, 59.98], [15.01, 59.99], [15.0, 59.99], [15.0, 59.98]]],
}


def main() -> None:
    """Time every graph with and without consolidation; write the ratios."""
    folder = Path(tempfile.mkdtemp(prefix="cotmask_consolidation_"))
    cube, truth = synthetic_timeseries("L2A")
    coll = write_collection(to_dn(cube), folder / "series.nc")
    worldcover = write_collection(synthetic_worldcover(truth), folder / "worldcover.nc")
    udps, out = published_udps(), {}
    for m in PROCESSES:
        names = {q.name for q in m.parameters()}
        extra = {"geometries": POLYGON} if "geometries" in names else {}
        extra.update({"worldcover_collection": str(worldcover)} if "worldcover_collection" in names else {})
        extra.update({"scl_collection": str(coll)} if "scl_collection" in names else {})
        best = {0: float("inf"), 4: float("inf")}
        for _ in range(3):
            for smooth in best:
                graph = call_graph(
                    m.PROCESS_ID,
                    collection_id=str(coll),
                    spatial_extent=None,
                    smooth=smooth,
                    temporal_extent=["2024-05-01", "2024-08-01"],
                    **extra,
                )
                t = time.perf_counter()
                run_graph_locally(graph, folder, udps)
                best[smooth] = min(best[smooth], time.perf_counter() - t)
        out[m.PROCESS_ID] = {"smooth_0_s": best[0], "smooth_4_s": best[4], "added": round(best[4] / best[0] - 1, 3)}
    (HERE / "consolidation_cost.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

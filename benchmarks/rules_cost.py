"""Cost of the physics rules (snow test, cirrus floor) in the UDF path, and the UDF against s2cloudless; same run.

    python benchmarks/rules_cost.py       # writes benchmarks/rules_cost.json; ~2 min

The real 13-band L1C scene (s2cloudless's test input, 856 x 512 px) tiled to 3424 x 2048 px (7 Mpx) and run
through the UDF's cube path (``cube_outputs``, the distilled L1C model, 2 threads) with the rules on (the default)
and off, and s2cloudless (its default 10 bands, no consolidation) on a 1/16 part of it, as the peer.
"""

import json
from pathlib import Path

import numpy as np
import xarray as xr
from timing import best_of

import cotmask
from cotmask.core.bands import S2_BANDS
from cotmask.core.cube import cube_outputs

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "s2cloudless_1.2.2" / "input_arrays.npz"


def main() -> None:
    """Time the UDF path with and without the rules, and s2cloudless; write the ratios."""
    toa = np.load(DATA)["s2_im"][0].astype(np.float32)
    tiled = np.tile(toa, (4, 4, 1))
    cube = xr.DataArray(np.moveaxis(tiled, -1, 0), dims=("bands", "y", "x"), coords={"bands": list(S2_BANDS)})
    get = lambda lv, k, e: cotmask.load_model(lv, k, 2, e)  # noqa: E731
    on = {"scale": 1.0}
    off = {"scale": 1.0, "snow_test": False, "cirrus_floor": None}
    res = {"pixels": int(cube.sizes["y"] * cube.sizes["x"])}
    res["udf_rules_on_s"] = best_of(lambda: cube_outputs(cube, on, get))
    res["udf_rules_off_s"] = best_of(lambda: cube_outputs(cube, off, get))
    from s2cloudless import S2PixelCloudDetector

    part = tiled[: tiled.shape[0] // 4, : tiled.shape[1] // 4][None]
    detector = S2PixelCloudDetector(all_bands=True, average_over=0, dilation_size=0)
    s2c = best_of(lambda: detector.get_cloud_probability_maps(part), 1) * tiled.size / part.size
    res["s2cloudless_s_same_pixels"] = s2c
    res["rules_added"] = round(res["udf_rules_on_s"] / res["udf_rules_off_s"] - 1, 3)
    res["udf_vs_s2cloudless"] = round(s2c / res["udf_rules_on_s"], 1)
    (HERE / "rules_cost.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

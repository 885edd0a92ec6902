"""Cost of the shadow step against the cloud mask it follows, same machine, same run.

    python benchmarks/shadow_cost.py       # writes benchmarks/shadow_cost.json; ~1 min

A 2048 x 2048 px window of real pixels (the ukis tile, 6 bands, tiled) as the graphs' shadow UDF sees it: with
its 512 px overlap, i.e. 3072 x 3072 px handed to the shadow step for 2048^2 output pixels. The cloud mask
is timed per output pixel (2048^2) for the L2A distilled model and the ensemble (6 of its bands padded from the
tile's own: a timing, not a prediction).
"""

import json
from pathlib import Path

import numpy as np
from timing import best_of

import cotmask
from cotmask.udf.shadow import shadow_mask

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data" / "ukis_csmask" / "sentinel2.npz"


def main() -> None:
    """Time both steps and write the ratio."""
    img = np.load(DATA)["img"].astype(np.float32)
    window = np.tile(img, (6, 6, 1))  # 3072 x 3072: a 2048 px window with 512 px overlap on each side
    inner = window[512:2560, 512:2560]
    l2a = cotmask.load_model("L2A").bands  # B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12
    src = {"B02": 0, "B03": 1, "B04": 2, "B05": 2, "B06": 3, "B07": 3, "B08": 3, "B8A": 3, "B09": 3, "B11": 4, "B12": 5}
    x = inner[..., [src[b] for b in l2a]].reshape(-1, len(l2a))
    cls = cotmask.predict(img[..., [src[b] for b in l2a]].reshape(-1, len(l2a)), "L2A", "distilled")["cloud_class"]
    cls = np.tile(cls.reshape(512, 512), (6, 6))
    res = {"output_pixels": 2048**2, "shadow_input_pixels": 3072**2}
    res["cloud_mask_distilled_s"] = best_of(lambda: cotmask.predict(x, "L2A", "distilled"))
    res["cloud_mask_ensemble_s"] = best_of(lambda: cotmask.predict(x, "L2A", "ensemble"), 2)
    res["shadow_step_s"] = best_of(lambda: shadow_mask(window[..., 1], window[..., 3], window[..., 4], cls, 10.0))
    for kind in ("distilled", "ensemble"):
        res[f"shadow_added_to_{kind}"] = round(res["shadow_step_s"] / res[f"cloud_mask_{kind}_s"], 3)
    (HERE / "shadow_cost.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

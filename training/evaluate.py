"""Evaluate the shipped models on a held-out synthetic test set and write the model card's metrics.

    python training/evaluate.py            # 60k samples, seed 1001 (training uses seed 1)

Writes models/metrics.json and the section between the METRICS markers of models/README.md.
s2cloudless (optional extra ``eval``) is run on the same simulated L1C TOA pixels when installed.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

import cotmask
from cotmask.core.bands import MODEL_KINDS, S2_BANDS
from cotmask.training.metrics import CLASSES, confusion, detection_rates, mae_per_bin, recall_precision
from cotmask.training.pipeline import level_inputs
from cotmask.training.synth import SURFACES, generate

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- METRICS:BEGIN -->", "<!-- METRICS:END -->"
#: TOA NDSI bin edges of the snow false-cloud table
NDSI_EDGES = (0.4, 0.6)


def s2cloudless_cloudy(toa: np.ndarray) -> np.ndarray | None:
    """s2cloudless per-pixel probability > 0.4 on TOA pixels (n, 13), or None if not installed.

    Its mask step averages probabilities over neighbouring pixels, which would mix unrelated
    samples here, so the probability map is thresholded directly (pixel-wise, as trained).
    """
    try:
        from s2cloudless import S2PixelCloudDetector
    except ImportError:
        return None
    det = S2PixelCloudDetector(threshold=0.4, all_bands=True)
    return det.get_cloud_probability_maps(toa[None, :, None, :].astype(np.float32))[0, :, 0] > 0.4


def carried_fp16(x: np.ndarray, level: str) -> dict[str, np.ndarray]:
    """What the UDF's float16 copy of the ensemble gives (models/*_ensemble_fp16.onnx)."""
    from cotmask.core.model import Model, classify
    from cotmask.core.shipped import predict_rows
    from cotmask.training.fp16 import compact_path

    model = Model(compact_path(level).read_bytes())
    cot, std = predict_rows(model, x)
    return {
        "cot": cot,
        "cot_std": std,
        "cloud_class": classify(cot, model.thresholds["thin"], model.thresholds["opaque"]),
    }


def evaluate(n: int, seed: int) -> tuple[dict, str]:
    """All metrics and a markdown report."""
    d = generate(n, seed=seed)
    thin_t, opaque_t = (cotmask.load_model("L1C").thresholds[k] for k in ("thin", "opaque"))
    true_cls = np.digitize(d["cot"], [thin_t, opaque_t])
    cloudy = d["cot"] >= thin_t
    snow = d["surface"] == SURFACES.index("snow_ice")
    thin = true_cls == 1
    cloudless, haze = d["cot"] == 0, (d["cot"] > 0) & (d["cot"] < thin_t)
    toa = lambda band: d["toa"][:, S2_BANDS.index(band)]  # noqa: E731
    ndsi_bin = np.digitize((toa("B03") - toa("B11")) / (toa("B03") + toa("B11")), NDSI_EDGES)
    results, md = {}, []
    methods = {}
    for level in ("L1C", "L2A"):
        for kind in MODEL_KINDS:
            methods[f"cotmask {level} {kind}"] = cotmask.predict(level_inputs(d, level, kind), level, kind)
        methods[f"cotmask {level} ensemble fp16 (UDF)"] = carried_fp16(level_inputs(d, level), level)
    s2c = s2cloudless_cloudy(d["toa"])
    md.append(f"Held-out synthetic test set: {n} samples, generator seed {seed} (training: seed 1).\n")
    summary = []
    for name, r in methods.items():
        cm = confusion(true_cls, r["cloud_class"])
        det = detection_rates(cloudy, r["cloud_class"] >= 1)
        rec_t, prec_t = recall_precision(cm, 1)
        res = {
            "confusion": cm.tolist(),
            "detection": det,
            "thin_class_recall": rec_t,
            "thin_class_precision": prec_t,
            "thin_detected_as_cloud": float(np.mean(r["cloud_class"][thin] >= 1)),
            "snow_false_cloud_rate": float(np.mean(r["cloud_class"][snow & ~cloudy] >= 1)),
            "snow_cloudless_false_cloud_rate": float(np.mean(r["cloud_class"][snow & cloudless] >= 1)),
            "cloudless_false_cloud_rate": float(np.mean(r["cloud_class"][cloudless] >= 1)),
            "haze_flagged_rate": float(np.mean(r["cloud_class"][haze] >= 1)),
            "snow_cloudless_false_cloud_by_ndsi": [
                float(np.mean(r["cloud_class"][snow & cloudless & (ndsi_bin == i)] >= 1))
                for i in range(len(NDSI_EDGES) + 1)
            ],
            "cot_mae": mae_per_bin(d["cot"], r["cot"]).to_dict("records"),
            "per_surface": {
                s: detection_rates(cloudy[d["surface"] == i], r["cloud_class"][d["surface"] == i] >= 1)
                for i, s in enumerate(SURFACES)
            },
        }
        results[name] = res
        summary.append(
            {
                "method": name,
                "balanced_acc": det["balanced_accuracy"],
                "cloud_recall": det["recall"],
                "cloud_precision": det["precision"],
                "thin_detected": res["thin_detected_as_cloud"],
                "thin_class_recall": rec_t,
                "thin_class_precision": prec_t,
                "snow_false_cloud": res["snow_false_cloud_rate"],
                "snow_cot0_false_cloud": res["snow_cloudless_false_cloud_rate"],
                "cot0_false_cloud": res["cloudless_false_cloud_rate"],
                "haze_flagged": res["haze_flagged_rate"],
            }
        )
    if s2c is not None:
        det = detection_rates(cloudy, s2c)
        extra = {
            "thin_detected": float(np.mean(s2c[thin])),
            "snow_false_cloud": float(np.mean(s2c[snow & ~cloudy])),
            "snow_cot0_false_cloud": float(np.mean(s2c[snow & cloudless])),
            "cot0_false_cloud": float(np.mean(s2c[cloudless])),
            "haze_flagged": float(np.mean(s2c[haze])),
        }
        results["s2cloudless (L1C, p>0.4)"] = {"detection": det, **extra}
        summary.append(
            {
                "method": "s2cloudless (L1C, p>0.4)",
                "balanced_acc": det["balanced_accuracy"],
                "cloud_recall": det["recall"],
                "cloud_precision": det["precision"],
                **extra,
            }
        )
    md.append(
        f"Cloudy = COT >= {thin_t} (thin or opaque). *thin_detected*: share of true thin pixels "
        f"({thin_t} <= COT < {opaque_t}) flagged thin or opaque. *snow_false_cloud*: share of clear (COT < {thin_t}) "
        "snow/ice pixels flagged; *snow_cot0_false_cloud*: the same for cloud-free (COT = 0) snow/ice; "
        "*cot0_false_cloud*: cloud-free pixels of all surfaces flagged; *haze_flagged*: pixels with "
        f"sub-threshold haze (0 < COT < {thin_t}) flagged. *fp16 (UDF)*: the float16-weight copies of the "
        "ensembles that udf/cotmask_udf.py carries (the graphs carry the distilled models as shipped). s2cloudless "
        "is run on the same simulated L1C TOA "
        "pixels (it is a binary detector: no thin class).\n"
    )
    md.append(pd.DataFrame(summary).round(3).to_markdown(index=False))
    main = results["cotmask L1C ensemble"]
    md.append("\n\nConfusion matrix, cotmask L1C ensemble (rows true, columns predicted; clear / thin / opaque):\n")
    md.append(pd.DataFrame(main["confusion"], index=CLASSES, columns=CLASSES).to_markdown())
    md.append("\n\nCOT error per true-COT bin, cotmask L1C ensemble:\n")
    md.append(pd.DataFrame(main["cot_mae"]).round(3).to_markdown(index=False))
    md.append("\n\nPer surface type, cotmask L1C ensemble / L2A ensemble (cloud detection):\n")
    rows = [
        {
            "surface": s,
            **{f"L1C {k}": v for k, v in main["per_surface"][s].items() if k in ("recall", "false_cloud_rate")},
            **{
                f"L2A {k}": v
                for k, v in results["cotmask L2A ensemble"]["per_surface"][s].items()
                if k in ("recall", "false_cloud_rate")
            },
        }
        for s in SURFACES
    ]
    md.append(pd.DataFrame(rows).round(3).to_markdown(index=False))
    labels = [
        f"NDSI < {NDSI_EDGES[0]}",
        *(f"{a} to {b}" for a, b in zip(NDSI_EDGES, NDSI_EDGES[1:])),
        f"NDSI >= {NDSI_EDGES[-1]}",
    ]
    md.append(
        "\n\nCloud-free snow/ice flagged, by its TOA NDSI ((B03 - B11) / (B03 + B11)): the false clouds sit on "
        "snow whose SWIR is bright (fine-grained, impure or partial snow), which a thin cloud over snow resembles:\n"
    )
    md.append(
        pd.DataFrame(
            {
                "TOA NDSI": labels,
                "samples": [int(np.sum(snow & cloudless & (ndsi_bin == i))) for i in range(len(labels))],
                **{
                    k.removeprefix("cotmask "): v["snow_cloudless_false_cloud_by_ndsi"]
                    for k, v in results.items()
                    if k.startswith("cotmask") and "fp16" not in k
                },
            }
        )
        .round(3)
        .to_markdown(index=False)
    )
    return results, "\n".join(md)


def main() -> None:
    """Run the evaluation and update models/metrics.json and models/README.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=60_000)
    ap.add_argument("--seed", type=int, default=1001)
    a = ap.parse_args()
    results, md = evaluate(a.samples, a.seed)
    (ROOT / "models" / "metrics.json").write_text(json.dumps(results, indent=1))
    card = ROOT / "models" / "README.md"
    text = card.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    card.write_text(text[:start] + "\n" + md + "\n" + text[end:])
    print(md)


if __name__ == "__main__":
    main()

"""Distilled models before and after the real-clear calibration, on held-out real data and the generator.

    git show c5de214:models/cotmask_l1c_distilled.onnx > before/cotmask_l1c_distilled.onnx   # etc.: the models
    python training/calibration_experiment.py --before before/ --after models/             # before calibration
    # -> training/calibration_experiment.md and evaluation/figures/calibration_cloudy_ssl4eo.png

Each model folder runs in its own process (``COTMASK_MODEL_DIR``): the real labels drawn by eye
(evaluation/real_labels.py, L1C, none of their scenes used in training), the held-out clear and snow scenes of
evaluation/real_surfaces.py, the cloudy SSL4EO-S12 date 2020-08-23 (L1C: the place of the L1C training scene, another
date, cumulus; against s2cloudless), and the synthetic held-out set (generator seed 7).
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("distilled", "distilled_nob09")


def measure() -> dict:
    """Everything for the models of ``$COTMASK_MODEL_DIR`` (run in a subprocess)."""
    import numpy as np
    import xarray as xr

    sys.path.insert(0, str(ROOT / "evaluation"))
    import real_labels
    import real_surfaces

    import cotmask
    from cotmask.core.bands import DN_SCALE
    from cotmask.training.pipeline import level_inputs
    from cotmask.training.synth import generate

    out: dict = {}
    per_class, _ = real_labels.evaluate(
        methods=lambda toa, bands: {
            k: v for k, v in real_labels.flagged(toa, bands).items() if k.startswith("cotmask") or k.startswith("s2c")
        }
    )
    out["real_labels"] = {f"{r['method']}|{r['class']}": r["fraction"] for r in per_class.to_dict("records")}
    models = {k: real_surfaces.shipped_model(k) for k in KINDS}
    res = real_surfaces.evaluate(models=models, modes=("nearest",), worldcereal=False)
    out["real_surfaces"] = {
        f"{r['model']}|{r['scene']}": r["flagged"] for r in res["rows"] if r["status"] == "ok" and not r.get("trained")
    }
    scene = next(s for s in real_surfaces.read_scenes(real_surfaces.DEFAULT_DATA) if s.name.endswith("08-23 L1C"))
    arr, names, _ = real_surfaces.grid(scene, "nearest")
    cube = xr.DataArray(arr[0], dims=("bands", "y", "x"), coords={"bands": list(names)})
    cls = cotmask.cloud_mask(cube, {"offset": 0}).sel(bands="cloud_class").values
    out["cloudy_classes"] = cls.tolist()
    d = generate(20000, seed=7)
    thin, opaque = (cotmask.load_model("L1C").thresholds[k] for k in ("thin", "opaque"))
    cot = d["cot"]
    for level in ("L1C", "L2A"):
        for kind in KINDS:
            c = cotmask.predict(level_inputs(d, level, kind), level, kind)["cloud_class"]
            out[f"synthetic|{level} {kind}"] = {
                "cloud_recall": float(np.mean(c[cot >= thin] >= 1)),
                "thin_recall": float(np.mean(c[(cot >= thin) & (cot < opaque)] >= 1)),
                "cot0_false_cloud": float(np.mean(c[cot == 0] >= 1)),
            }
    out["s2cloudless_cloudy"] = real_surfaces.s2cloudless_model(consolidate=False)(cube, "L1C").tolist()
    out["rgb"] = np.stack([cube.sel(bands=b).values * DN_SCALE for b in ("B04", "B03", "B02")], -1).tolist()
    return out


def run(folder: Path) -> dict:
    """``measure`` for the models in ``folder``, in a fresh process."""
    env = {**os.environ, "COTMASK_MODEL_DIR": str(folder.resolve())}
    cmd = [sys.executable, __file__, "--measure"]
    return json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)


def figure(before: dict, after: dict, path: Path) -> None:
    """True colour, the default L1C model's classes before and after, s2cloudless, on the cloudy SSL4EO-S12 date."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rgb = np.clip(np.asarray(after["rgb"]) * 3.0, 0, 1)
    fig, ax = plt.subplots(1, 4, figsize=(18, 5), constrained_layout=True)
    panels = [
        (None, "true colour (x3)"),
        (before["cloudy_classes"], "cotmask before: thin yellow, opaque red"),
        (after["cloudy_classes"], "cotmask calibrated"),
        (after["s2cloudless_cloudy"], "s2cloudless p > 0.4"),
    ]
    for a, (mask, title) in zip(ax, panels):
        a.imshow(rgb)
        if mask is not None:
            m = np.asarray(mask, dtype=float)
            a.imshow(np.ma.masked_equal(m, 0), cmap="autumn_r", vmin=1, vmax=2, alpha=0.5, interpolation="nearest")
        a.set_title(title)
        a.set_axis_off()
    fig.suptitle("SSL4EO-S12 2020-08-23 L1C (cumulus over farmland; contains modified Copernicus Sentinel data)")
    fig.savefig(path, dpi=70)


def report(before: dict, after: dict) -> str:
    """The comparison as markdown."""
    import numpy as np

    lines = [
        "# Real-clear calibration of the distilled models: before and after",
        "",
        "`python training/calibration_experiment.py --before DIR --after DIR`: the distilled models without (before) "
        "and with (after) the real clear pixels of `cotmask.training.pipeline.REAL_CLEAR_SCENES` in their "
        "distillation; the rules after the network (snow test, cirrus floor) apply to both. Only held-out data "
        "below.",
        "",
        "## Real labels drawn by eye (L1C, flagged fraction per class)",
        "",
        "| method | class | before | after |",
        "|---|---|---|---|",
    ]
    for key in sorted(after["real_labels"]):
        method, cls = key.split("|")
        lines.append(
            f"| {method} | {cls} | {before['real_labels'].get(key, float('nan')):.3f} | "
            f"{after['real_labels'][key]:.3f} |"
        )
    lines += [
        "",
        "## Held-out real clear and snow scenes (L2A unless named; flagged fraction, nearest resampling)",
        "",
        "| model | scene | before | after |",
        "|---|---|---|---|",
    ]
    for key in sorted(after["real_surfaces"]):
        model, scene = key.split("|")
        lines.append(
            f"| {model} | {scene} | {before['real_surfaces'].get(key, float('nan')):.3f} | "
            f"{after['real_surfaces'][key]:.3f} |"
        )
    s2c = np.asarray(after["s2cloudless_cloudy"])
    lines += [
        "",
        "## The cloudy date at the L1C training scene's place (SSL4EO-S12 2020-08-23, cumulus)",
        "",
        "| | flagged | of s2cloudless's cloud | outside s2cloudless's cloud |",
        "|---|---|---|---|",
    ]
    for name, res in (("before", before), ("after", after)):
        c = np.asarray(res["cloudy_classes"]) >= 1
        lines.append(f"| {name} | {c.mean():.3f} | {c[s2c].mean():.3f} | {(c & ~s2c).mean():.3f} |")
    lines += [
        f"| s2cloudless p > 0.4 | {s2c.mean():.3f} | 1 | 0 |",
        "",
        "![cloudy date](../evaluation/figures/calibration_cloudy_ssl4eo.png)",
        "",
        "## Generator (held-out seed 7, 20 000 samples)",
        "",
        "| model | metric | before | after |",
        "|---|---|---|---|",
    ]
    for key in sorted(k for k in after if k.startswith("synthetic|")):
        for metric, v in after[key].items():
            lines.append(f"| {key.split('|')[1]} | {metric} | {before[key][metric]:.3f} | {v:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Compare two model folders."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", type=Path, help="folder of the models without calibration (required)")
    ap.add_argument("--after", type=Path, default=ROOT / "models")
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.measure:
        print(json.dumps(measure()))
        return
    if a.before is None:
        ap.error("--before DIR is required: the folder of the models to compare with")
    before, after = run(a.before), run(a.after)
    figure(before, after, ROOT / "evaluation" / "figures" / "calibration_cloudy_ssl4eo.png")
    (ROOT / "training" / "calibration_experiment.md").write_text(report(before, after))
    print("wrote training/calibration_experiment.md")


if __name__ == "__main__":
    main()

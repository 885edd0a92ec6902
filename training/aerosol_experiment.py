"""Does training on more aerosol types help on real scenes? A paired experiment, not the shipped recipe.

    python training/aerosol_experiment.py      # ~15 min on 2 cores; writes training/aerosol_experiment.md/.json

Two L1C networks of one ensemble member's size and recipe (``training/train.py``'s config with one member), same
seeds, trained on 300k generated samples that differ only in the aerosol model: continental only (as the shipped
models) or the mix ``MIX`` (``cotmask.training.synth.generate(aerosols=...)``: the other draws stay sample for sample).
Compared on what neither was trained on: the real-scene labels drawn by eye (``evaluation/real_labels.py``), and
held-out synthetic sets (seed 1001) with continental and with mixed aerosol. One member each, so differences of a
few points are within the member-to-member spread; the shipped ensembles stay continental until a full retrain shows
a gain.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from cotmask.core.model import Model
from cotmask.core.shipped import predict_rows
from cotmask.training.export import to_onnx_bytes
from cotmask.training.mlp import COT_SCALE, TrainConfig, cot_classes, train
from cotmask.training.pipeline import GENERATOR_ID, MODEL_BANDS, fit_codebook, level_inputs, metadata
from cotmask.training.synth import generate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "evaluation"))
import real_labels  # noqa: E402

MIX = {"continental": 0.4, "maritime": 0.2, "desert": 0.2, "biomass_burning": 0.2}
CONFIG = TrainConfig(
    members=1, steps=40_000, seed=1, monotone_band=MODEL_BANDS["L1C"].index("B10"), monotone_weight=1000.0
)


def member(aerosols: dict | None, samples: int, cfg: TrainConfig) -> Model:
    """One L1C network trained on generated data with the aerosol shares ``aerosols`` (None: continental)."""
    data = generate(samples, seed=1, aerosols=aerosols)
    x, cot = level_inputs(data, "L1C"), data["cot"].astype(np.float64)
    net = train(x, cot[:, None] / COT_SCALE, cfg, cot_classes(cot, cfg.class_edges))
    recipe = {
        "generator": GENERATOR_ID,
        "n_samples": samples,
        "data_seed": 1,
        "aerosols": aerosols,
        "config": cfg.to_dict(),
    }
    return Model(to_onnx_bytes(net, metadata("L1C", "ensemble", net, recipe, fit_codebook((x - net.mean) / net.std))))


def flagged_per_class(models: dict[str, Model], data: Path) -> pd.DataFrame:
    """Flagged fraction (COT >= the thin threshold) of the labelled real pixels, per class and model."""

    def masks(toa: np.ndarray, bands: tuple[str, ...]) -> dict[str, np.ndarray]:
        if bands != real_labels.S2_BANDS:
            return {}
        return {
            name: (
                predict_rows(m, toa[..., [bands.index(b) for b in m.bands]].reshape(-1, len(m.bands)))[0]
                >= m.thresholds["thin"]
            ).reshape(toa.shape[:2])
            for name, m in models.items()
        }

    per_class, _ = real_labels.evaluate(data, masks)
    return per_class.pivot(index="class", columns="method", values="fraction")


def synthetic(models: dict[str, Model], n: int) -> pd.DataFrame:
    """Thin-cloud recall, haze (0.25-0.75) and cloud-free flagging, median bias for COT 0.25-0.75, per test set."""
    rows = []
    for test, aerosols in (("continental", None), ("mixed", MIX)):
        d = generate(n, seed=1001, aerosols=aerosols)
        c = d["cot"]
        for name, m in models.items():
            cot = predict_rows(m, level_inputs(d, "L1C"))[0]
            f = cot >= m.thresholds["thin"]
            haze = (c >= 0.25) & (c < 0.75)
            rows.append(
                {
                    "test set": test,
                    "model": name,
                    "thin_detected": f[(c >= 0.75) & (c < 1.25)].mean(),
                    "haze_0.25-0.75_flagged": f[haze].mean(),
                    "cot0_flagged": f[c == 0].mean(),
                    "median_bias_0.25-0.75": float(np.median((cot - c)[haze])),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    """Train both, compare, write the report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=real_labels.DEFAULT_DATA)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (checks the script, says nothing)")
    a = ap.parse_args()
    samples, cfg, n = (
        (20_000, TrainConfig(**{**CONFIG.to_dict(), "steps": 300}), 5_000) if a.quick else (300_000, CONFIG, 60_000)
    )
    models = {"continental": member(None, samples, cfg), "mixed aerosols": member(MIX, samples, cfg)}
    real, synth = flagged_per_class(models, a.data), synthetic(models, n)
    stem = ROOT / "training" / ("aerosol_experiment_quick" if a.quick else "aerosol_experiment")
    stem.with_suffix(".json").write_text(
        json.dumps(
            {"mix": MIX, "real": real.round(4).to_dict(), "synthetic": synth.round(4).to_dict("records")}, indent=1
        )
    )
    md = [
        "# Aerosol types: continental-only vs mixed training data (one L1C member each, same seeds)",
        "",
        f"`python training/aerosol_experiment.py`; mix {MIX}. Real labels: flagged fraction per class "
        "(targets: haze_thin >= 0.85; clear, bright_surface, turbid_water <= 0.02).",
        "",
        real.round(3).to_markdown(),
        "",
        "Held-out synthetic (seed 1001), each aerosol setting:",
        "",
        synth.round(3).to_markdown(index=False),
        "",
    ]
    stem.with_suffix(".md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()

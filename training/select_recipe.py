"""Choose the training recipe on a validation set (generator seed 2001), never on the test set (seed 1001).

    python training/select_recipe.py            # short L1C ensembles per candidate -> training/recipe_selection.md

Scores: thin-cloud recall, faint-haze flagging (0.25 <= COT < 0.75), cloud-free snow flagged, median COT bias per
true-COT bin below 2, and the share of samples whose COT falls when B10 rises by 0.01 (monotonicity).
"""

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from cotmask.training.mlp import COT_SCALE, TrainConfig, cot_classes, train
from cotmask.training.pipeline import MODEL_BANDS, level_inputs
from cotmask.training.synth import SURFACES, generate

HERE = Path(__file__).resolve().parent
VALIDATION_SEED = 2001
CANDIDATES = {  # name: (monotone_weight, cot_weight_offset[, class edges for balanced batches])
    "baseline (v1 recipe)": (0.0, 0.0),
    "monotone 100": (100.0, 0.0),
    "weighted c=2": (0.0, 2.0),
    "monotone 100 + weighted c=2": (100.0, 2.0),
    "monotone 1000 + weighted c=2": (1000.0, 2.0),
    "monotone 100 + weighted c=0.5": (100.0, 0.5),
    "monotone 1000": (1000.0, 0.0),
    "monotone 1000 + 4 groups": (1000.0, 0.0, (0.25, 0.75, 1.25)),
}


def scores(net, val: dict) -> dict:
    """Validation metrics of an L1C ensemble ``net``."""
    x = level_inputs(val, "L1C")
    cot_true = val["cot"]
    cot, _ = net.predict(x)
    up = x.copy()
    up[:, MODEL_BANDS["L1C"].index("B10")] += 0.01
    falls = np.mean(net.predict(up)[0] < cot - 0.01)
    thin = (cot_true >= 0.75) & (cot_true < 1.25)
    haze = (cot_true >= 0.25) & (cot_true < 0.75)
    snow = (val["surface"] == SURFACES.index("snow_ice")) & (cot_true == 0)
    bins = [(0, 0.25), (0.25, 0.75), (0.75, 1.25), (1.25, 2.0)]
    bias = {f"bias [{a}, {b})": float(np.median((cot - cot_true)[(cot_true >= a) & (cot_true < b)])) for a, b in bins}
    return {
        "thin_recall": float(np.mean(cot[thin] >= 0.75)),
        "haze_flagged": float(np.mean(cot[haze] >= 0.75)),
        "snow_cot0_flagged": float(np.mean(cot[snow] >= 0.75)),
        **bias,
        "max_abs_bias_below_2": max(abs(v) for v in bias.values()),
        "cot_falls_with_b10": float(falls),
    }


def main() -> None:
    """Train each candidate briefly and write the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=150_000)
    ap.add_argument("--steps", type=int, default=8_000)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--only", help="comma-separated candidate names (default: all)")
    a = ap.parse_args()
    data = generate(a.samples, seed=1)
    val = generate(40_000, seed=VALIDATION_SEED)
    x = level_inputs(data, "L1C")
    cot = data["cot"].astype(np.float64)
    base = TrainConfig(members=a.members, steps=a.steps, seed=1, log_every=10**9)
    rows = []
    only = set(a.only.split(",")) if a.only else set(CANDIDATES)
    for name, (mono, offset, *edges) in CANDIDATES.items():
        if name not in only:
            continue
        t0 = time.time()
        cfg = replace(
            base,
            monotone_weight=mono,
            cot_weight_offset=offset,
            monotone_band=MODEL_BANDS["L1C"].index("B10") if mono else -1,
            class_edges=edges[0] if edges else base.class_edges,
        )
        net = train(x, cot[:, None] / COT_SCALE, cfg, cot_classes(cot, cfg.class_edges))
        rows.append(
            {
                "recipe": name,
                **{k: round(v, 3) for k, v in scores(net, val).items()},
                "train_s": round(time.time() - t0),
            }
        )
        print(rows[-1], flush=True)
    table = pd.DataFrame(rows).to_markdown(index=False)
    out = HERE / ("recipe_selection.md" if not a.only else "recipe_selection_partial.md")
    out.write_text(
        f"# Recipe selection on the validation set (seed {VALIDATION_SEED})\n\nShort L1C ensembles "
        f"({a.members} members, {a.steps} steps, {a.samples} samples, seed 1) per candidate; `python "
        f"training/select_recipe.py`.\n\n{table}\n"
    )
    print(table)


if __name__ == "__main__":
    main()

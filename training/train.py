"""Train the shipped cotmask models and write them to models/ (one command, CPU, fixed seed).

python training/train.py                  # full: 300k samples, 10 members, both levels (~50 min, 2 cores)
python training/train.py --quick          # a tiny configuration to check the pipeline
python training/train.py --distil-only    # only the distilled models, from the ensembles in --out (~12 min)
python training/evaluate.py               # then: metrics on a held-out set into models/README.md
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from cotmask.core.bands import DN_SCALE, KIND_WITHOUT
from cotmask.training.mlp import TrainConfig
from cotmask.training.pipeline import MODEL_BANDS, REAL_CLEAR_SCENES, build_models, distil_models
from cotmask.training.smhi import load_smhi

ROOT = Path(__file__).resolve().parents[1]
#: Recipe choices, made on the validation set (training/select_recipe.py), never on the test set.
MONOTONE_WEIGHT = 1000.0
COT_WEIGHT_OFFSET = 0.0


def build_parser() -> argparse.ArgumentParser:
    """The command's options; their defaults are the shipped models' recipe."""
    ap = argparse.ArgumentParser(description="Train cotmask ensembles + distilled models and export ONNX.")
    ap.add_argument("--samples", type=int, default=300_000, help="synthetic training samples")
    ap.add_argument("--members", type=int, default=10, help="ensemble members")
    ap.add_argument("--steps", type=int, default=40_000, help="Adam steps per ensemble")
    ap.add_argument("--seed", type=int, default=1, help="data and training seed")
    ap.add_argument("--levels", default="L1C,L2A")
    ap.add_argument(
        "--class-edges",
        default="0.75,1.25",
        help="COT edges of the classes that batches are balanced over (default clear/thin/opaque)",
    )
    ap.add_argument(
        "--monotone-weight",
        type=float,
        default=MONOTONE_WEIGHT,
        help="penalty on COT falling when B10 rises (L1C); 0: off",
    )
    ap.add_argument(
        "--cot-weight-offset",
        type=float,
        default=COT_WEIGHT_OFFSET,
        help="relative-error loss weight ((1 + c) / (COT + c))^2; 0: plain MSE",
    )
    ap.add_argument(
        "--aerosols",
        default="",
        help="aerosol-type shares of the generated data, e.g. continental=0.4,maritime=0.2,desert=0.2,"
        "biomass_burning=0.2 (default: continental only)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "models")
    ap.add_argument(
        "--smhi",
        type=Path,
        help="train on an SMHI-format file instead of generated data (its L2A model then sees TOA values without B10)",
    )
    ap.add_argument("--quick", action="store_true", help="tiny run: 20k samples, 3 members, 500 steps")
    ap.add_argument(
        "--distil-only",
        action="store_true",
        help="rebuild only the distilled models from the ensembles in --out (their metadata names the data)",
    )
    ap.add_argument(
        "--real-clear",
        type=Path,
        help="the shared data folder (../shared/data) whose REAL_CLEAR_SCENES join the distillation as clear (the "
        "shipped distilled models were built with it)",
    )
    ap.add_argument(
        "--kinds",
        default="distilled,distilled_nob09",
        help="with --distil-only: the distilled kinds to rebuild (default both)",
    )
    return ap


def real_clear_rows(data: Path, level: str) -> np.ndarray:
    """Reflectance rows (N, the level's bands) of the ``REAL_CLEAR_SCENES`` of ``level``, read from ``data`` by
    evaluation/real_surfaces.py's readers (20 m and 60 m bands repeated to 10 m); rows with a fill value dropped."""
    sys.path.insert(0, str(ROOT / "evaluation"))
    import real_surfaces

    rows = []
    for scene in real_surfaces.read_scenes(data):
        if scene.name in REAL_CLEAR_SCENES[level]:
            arr, names, _ = real_surfaces.grid(scene, "nearest")
            x = arr[:, [names.index(b) for b in MODEL_BANDS[level]]].transpose(0, 2, 3, 1)
            x = x.reshape(-1, len(MODEL_BANDS[level]))
            rows.append(x[(x > 0).all(axis=1)] * np.float32(DN_SCALE))
    if len(rows) != len(REAL_CLEAR_SCENES[level]):
        raise SystemExit(f"found {len(rows)} of the {level} scenes {REAL_CLEAR_SCENES[level]} in {data}")
    return np.concatenate(rows)


def main() -> None:
    """Parse options and build the models."""
    a = build_parser().parse_args()
    levels = tuple(a.levels.split(","))
    kinds = tuple(a.kinds.split(","))
    if not set(kinds) <= {"distilled", *KIND_WITHOUT}:
        raise SystemExit(f"--kinds takes distilled kinds only ({['distilled', *KIND_WITHOUT]}), got {list(kinds)}")
    real = {lv: real_clear_rows(a.real_clear, lv) for lv in levels} if a.real_clear else None
    if a.distil_only:
        distil_models(a.out, levels, kinds=kinds, real_clear=real)
        return
    if a.quick:
        a.samples, a.members, a.steps = 20_000, 3, 500
    cfg = TrainConfig(
        members=a.members,
        steps=a.steps,
        seed=a.seed,
        class_edges=tuple(float(e) for e in a.class_edges.split(",")),
        monotone_weight=a.monotone_weight,
        cot_weight_offset=a.cot_weight_offset,
    )
    a.out.mkdir(parents=True, exist_ok=True)
    data = load_smhi(a.smhi) if a.smhi else None
    aerosols = {k: float(v) for k, v in (kv.split("=") for kv in a.aerosols.split(","))} if a.aerosols else None
    build_models(a.out, a.samples, a.seed, cfg, levels, data=data, aerosols=aerosols, real_clear=real)


if __name__ == "__main__":
    main()

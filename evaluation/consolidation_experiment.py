"""Spatial consolidation of cotmask's classes, as s2cloudless consolidates its probabilities: which smoothing and
dilation, measured on the real labels drawn by eye (issue 21, part 1; an experiment, not yet in the graphs).

    python evaluation/consolidation_experiment.py     # writes evaluation/consolidation_experiment.md; ~1 min

Variants on the default L1C model with its rules: COT averaged over a disc of radius r px (NaN-aware) before the
thresholds, then the flags dilated by d px; s2cloudless per pixel and with its own consolidation (average over 4 px,
dilation 2) beside them. A backend would run the smoothing in a neighbourhood step with r + d px of overlap.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import binary_dilation, convolve

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import real_labels  # noqa: E402
from peers import s2cloudless_probability  # noqa: E402

import cotmask  # noqa: E402
from cotmask.core.bands import S2_BANDS  # noqa: E402
from cotmask.core.rules import rule_masks  # noqa: E402

VARIANTS = [(0, 0), (1, 0), (2, 0), (4, 0), (0, 1), (0, 2), (2, 1), (4, 2)]


def disc(radius: int) -> np.ndarray:
    """A disc footprint of ``radius`` px."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (x * x + y * y <= radius * radius).astype(float)


def consolidated(toa: np.ndarray, radius: int, dilation: int) -> np.ndarray:
    """Flags (thin or opaque) of the default L1C model with its rules, COT smoothed by ``radius``, dilated."""
    model = cotmask.load_model("L1C")
    x = toa[..., [S2_BANDS.index(b) for b in model.bands]].reshape(-1, len(model.bands))
    res = cotmask.predict(x, "L1C")
    cot = res["cot"].reshape(toa.shape[:2])
    if radius:
        k = disc(radius)
        ok = np.isfinite(cot)
        cot = convolve(np.where(ok, cot, 0.0), k, mode="nearest") / np.maximum(
            convolve(ok.astype(float), k, mode="nearest"), 1e-9
        )
    th = model.thresholds
    clear, cloud = rule_masks(x, model.bands, cot.reshape(-1))
    cls = cotmask.classify(cot.reshape(-1), th["thin"], th["opaque"], clear, cloud).reshape(toa.shape[:2])
    flags = cls >= 1
    return binary_dilation(flags, disc(dilation) > 0) if dilation else flags


def methods(toa: np.ndarray, bands: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every variant on a 13-band scene."""
    if bands != S2_BANDS:
        return {}
    out = {f"cotmask r={r} d={d}": consolidated(toa, r, d) for r, d in VARIANTS}
    prob = s2cloudless_probability(toa[None])[0]
    out["s2cloudless p>0.4"] = prob > 0.4
    avg = convolve(prob, disc(4) / disc(4).sum(), mode="nearest")
    out["s2cloudless consolidated (avg 4, dil 2)"] = binary_dilation(avg > 0.4, disc(2) > 0)
    return out


def main() -> None:
    """Evaluate and write the table."""
    per_class, _ = real_labels.evaluate(methods=methods)
    table = per_class.pivot(index="method", columns="class", values="fraction")
    cols = [c for c in ("haze_thin", "clear", "bright_surface", "turbid_water", "cloud_edge", "opaque") if c in table]
    md = [
        "# Spatial consolidation on the real labels (issue 21, part 1)",
        "",
        "`python evaluation/consolidation_experiment.py`: the default L1C model (rules on) with COT averaged over a "
        "disc of radius r px before the thresholds and the flags dilated by d px, against s2cloudless per pixel and "
        "consolidated. Flagged fraction per labelled class (13-band scenes; no scene here was used in training).",
        "",
        pd.DataFrame(table[cols]).round(3).to_markdown(),
        "",
    ]
    (HERE / "consolidation_experiment.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()

"""Real cirrus against the generator: B10 brightening over visible (B02) brightening, real pixels vs synthetic clouds.

    python evaluation/cirrus_coverage.py [--data ../shared/data]   # -> evaluation/figures/cirrus_coverage.png

Real: pixels of the s2cloudless 13-band scene over water and over vegetation, brightening measured against the
median clear pixel of the same surface (B10 < 0.002). Synthetic: thin clouds (COT 0.2-3) over forest and water,
cloudy minus clear of the same sample, with the v1 cloud sampling (ice tops 6-12 km, fixed 2 km vapour scale
height, reflection at the top) and the v2 sampling of ``cotmask.training.synth.generate``.
"""

import argparse
from pathlib import Path

import numpy as np

from cotmask.training.synth import SURFACES
from cotmask.training.synth.atmosphere import cloudy_toa
from cotmask.training.synth.generator import sample_clouds, sample_conditions
from cotmask.training.synth.surfaces import sample_surfaces

HERE = Path(__file__).resolve().parent
B02, B08, B10, B11 = 1, 7, 10, 11


def real_pairs(data: Path) -> dict[str, np.ndarray]:
    """(dB02, dB10) of real pixels with B10 > 0.005 per surface, against that surface's clear median."""
    toa = np.load(data / "s2cloudless_1.2.2" / "input_arrays.npz")["s2_im"][0].reshape(-1, 13)
    ndvi = (toa[:, B08] - toa[:, 3]) / (toa[:, B08] + toa[:, 3] + 1e-6)
    out = {}
    for name, surf in (("water", (toa[:, B08] < 0.06) & (toa[:, B11] < 0.05)), ("vegetation", ndvi > 0.35)):
        clear = surf & (toa[:, B10] < 0.002)
        ref = np.median(toa[clear], axis=0)
        hazy = surf & (toa[:, B10] > 0.005) & (toa[:, B02] - ref[B02] > 0.005)
        out[name] = np.column_stack([toa[hazy, B02] - ref[B02], toa[hazy, B10] - ref[B10]])
    return out


def synthetic_pairs(n: int, v1: bool, seed: int = 0) -> np.ndarray:
    """(dB02, dB10) of thin synthetic non-water-phase clouds over forest and water (cloudy minus clear)."""
    rng = np.random.default_rng(seed)
    cond = sample_conditions(n, rng)
    kind = rng.choice([SURFACES.index("conifer_forest"), SURFACES.index("water")], n)
    rho = sample_surfaces(kind, rng, np.cos(np.radians(cond["sza"])))
    c = sample_clouds(n, rng)
    ice = c["ice"] if not v1 else np.ones(n, bool)
    top = rng.uniform(6, 12, n) if v1 else c["top_km"]
    shape = {} if v1 else {"vapour_scale_km": c["vapour_scale_km"], "scatter_depth_km": c["scatter_depth_km"]}
    if v1:
        cond["wv"] = rng.uniform(0.2, 4.5, n)
    keep = ice if not v1 else np.ones(n, bool)
    cot = rng.uniform(0.2, 3.0, n)
    args = (ice, c["r_eff_um"], top)
    d = cloudy_toa(rho, cot, *args, **cond, **shape) - cloudy_toa(rho, np.zeros(n), *args, **cond, **shape)
    return d[keep][:, [B02, B10]]


def main() -> None:
    """Write the figure and print the ratio percentiles."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data")
    a = ap.parse_args()
    real = real_pairs(a.data)
    fig, ax = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True, sharey=True)
    for axis, v1 in zip(ax, (True, False)):
        syn = synthetic_pairs(30_000, v1)
        axis.hexbin(syn[:, 0], syn[:, 1], gridsize=60, extent=(0, 0.25, 0, 0.12), bins="log", cmap="Greys", mincnt=1)
        for (name, pts), colour in zip(real.items(), ("tab:blue", "tab:green")):
            sub = pts[np.random.default_rng(0).choice(len(pts), min(len(pts), 3000), replace=False)]
            axis.scatter(sub[:, 0], sub[:, 1], s=2, alpha=0.3, color=colour, label=f"real cirrus over {name}")
        ratio = np.percentile(syn[:, 1] / np.maximum(syn[:, 0], 1e-6), [5, 50, 95])
        axis.set_title(
            f"generator {'v1' if v1 else 'v2'} (grey): dB10/dB02 5/50/95 % = "
            f"{ratio[0]:.2f} / {ratio[1]:.2f} / {ratio[2]:.2f}",
            fontsize=9,
        )
        axis.set_xlim(0, 0.25)
        axis.set_ylim(0, 0.12)
        axis.set_xlabel("visible brightening dB02 (TOA reflectance)")
    ax[0].set_ylabel("cirrus-band brightening dB10")
    ax[0].legend(loc="upper left", markerscale=5, fontsize=8)
    fig.suptitle(
        "Thin ice/mixed clouds: where real cirrus lies and what the generator covers "
        "(real: s2cloudless 1.2.2 test scene, CC BY-SA 4.0, contains modified Copernicus Sentinel data)",
        fontsize=9,
    )
    path = HERE / "figures" / "cirrus_coverage.png"
    fig.savefig(path, dpi=80)
    for name, pts in real.items():
        print(
            name,
            "real dB10/dB02 percentiles 25/50/75:",
            np.percentile(pts[:, 1] / pts[:, 0], [25, 50, 75]).round(2),
            f"({len(pts)} px)",
        )
    print("wrote", path)


if __name__ == "__main__":
    main()

"""Build the vegetation spectral library for the synthetic generator with PROSAIL.

Run once (needs the ``lut`` extra, which brings ``prosail``)::

    python training/make_surface_library.py

Writes ``src/cotmask/training/synth/canopy_library.npz``: for each vegetated surface type, PROSAIL
(PROSPECT-D + 4SAIL) canopy reflectance spectra for random leaf/canopy parameters, convolved to the
13 Sentinel-2 bands with top-hat spectral responses (centre and width from ``cotmask.training.synth.optics``).
The file is committed so that data generation never needs PROSAIL or numba.
"""

import argparse
from pathlib import Path

import numpy as np

from cotmask.training.synth.optics import CENTRE_NM, WIDTH_NM

OUT = Path(__file__).resolve().parents[1] / "src" / "cotmask" / "training" / "synth" / "canopy_library.npz"

# Uniform ranges per parameter: N, Cab, Car, Cbrown, Cw, Cm, LAI, ALA, soil brightness, soil wetness,
# crown-shadow darkening factor (PROSAIL has no clumping; conifer stands are darker than turbid media).
TYPES: dict[str, dict[str, tuple[float, float]]] = {
    "conifer_forest": dict(
        n=(1.8, 2.5),
        cab=(30, 60),
        car=(8, 15),
        cbrown=(0, 0.3),
        cw=(0.015, 0.03),
        cm=(0.015, 0.03),
        lai=(2, 7),
        ala=(45, 65),
        rsoil=(0.1, 0.4),
        psoil=(0, 0.6),
        shade=(0.55, 0.85),
    ),
    "deciduous_forest": dict(
        n=(1.4, 1.9),
        cab=(30, 70),
        car=(6, 14),
        cbrown=(0, 0.2),
        cw=(0.01, 0.02),
        cm=(0.004, 0.009),
        lai=(2, 6.5),
        ala=(40, 60),
        rsoil=(0.2, 0.6),
        psoil=(0, 0.6),
        shade=(0.8, 1.0),
    ),
    "agriculture_grass": dict(
        n=(1.2, 1.8),
        cab=(15, 70),
        car=(5, 15),
        cbrown=(0, 0.8),
        cw=(0.004, 0.02),
        cm=(0.003, 0.008),
        lai=(0.3, 5),
        ala=(50, 70),
        rsoil=(0.4, 1.2),
        psoil=(0, 1),
        shade=(0.95, 1.0),
    ),
    "clearcut_sparse": dict(
        n=(1.4, 2.2),
        cab=(10, 50),
        car=(5, 15),
        cbrown=(0.2, 1.5),
        cw=(0.004, 0.02),
        cm=(0.005, 0.02),
        lai=(0.05, 1.2),
        ala=(45, 70),
        rsoil=(0.5, 1.3),
        psoil=(0, 1),
        shade=(0.9, 1.0),
    ),
}


def band_response(wl_nm: np.ndarray) -> np.ndarray:
    """Top-hat spectral response (13, n_wavelengths), rows normalised to sum 1."""
    srf = (np.abs(wl_nm[None, :] - CENTRE_NM[:, None]) <= WIDTH_NM[:, None] / 2).astype(float)
    return srf / srf.sum(axis=1, keepdims=True)


def main() -> None:
    """Sample PROSAIL spectra for every vegetated type and write the library."""
    import prosail

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-type", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=20240)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    srf = band_response(np.arange(400, 2501, dtype=float))
    out = {}
    for name, rng_def in TYPES.items():
        spectra = np.empty((a.per_type, 13), dtype=np.float32)
        for i in range(a.per_type):
            p = {k: rng.uniform(*v) for k, v in rng_def.items()}
            r = prosail.run_prosail(
                p["n"],
                p["cab"],
                p["car"],
                p["cbrown"],
                p["cw"],
                p["cm"],
                lai=p["lai"],
                lidfa=p["ala"],
                hspot=0.05,
                tts=rng.uniform(25, 70),
                tto=rng.uniform(0, 12),
                psi=rng.uniform(0, 180),
                prospect_version="D",
                typelidf=2,
                rsoil=p["rsoil"],
                psoil=p["psoil"],
                factor="SDR",
            )
            spectra[i] = (srf @ r) * p["shade"]
        out[name] = spectra
        print(
            f"{name}: median B04 {np.median(spectra[:, 3]):.3f}  B8A {np.median(spectra[:, 8]):.3f}  B11 "
            f"{np.median(spectra[:, 11]):.3f}"
        )
    np.savez_compressed(
        a.out,
        **out,
        provenance=np.array(
            f"prosail {prosail.__version__ if hasattr(prosail, '__version__') else '2.0.5'} "
            f"PROSPECT-D+4SAIL, seed {a.seed}, built by training/make_surface_library.py"
        ),
    )
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()

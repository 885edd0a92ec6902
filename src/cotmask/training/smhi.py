"""Reader for the SMHI synthetic COT data set (Pirinen et al. 2024), for users who hold it.

Layout (one row per sample, float): columns 0-12 the 13 band reflectances (B01 B02 B03 B04 B05 B06
B07 B08 B8A B09 B10 B11 B12), 13-15 angles (sun zenith, view zenith, relative azimuth, degrees),
16 COT, 17 cloud type, 18 profile type, 19-20 gas amounts, 21 surface description index.
Files: ``.npy``, ``.npz`` (first array) or whitespace/comma separated text.
"""

from pathlib import Path

import numpy as np

from ..core.bands import S2_BANDS

N_COLUMNS = 22


def _read(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".npz":
        with np.load(path) as z:
            if not z.files:
                raise ValueError(f"{path}: empty .npz archive")
            return z[z.files[0]]
    return np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None, ndmin=2)


def load_smhi(path: str | Path) -> dict[str, np.ndarray]:
    """Load and validate an SMHI-format file; returns arrays keyed like ``synth.generate``'s output.

    ``toa`` (n, 13), ``boa`` (n, 12: the same without B10 -- the set has no L2A values), ``cot``,
    ``sza``, ``vza``, ``raa``, ``cloud_type``, ``profile``, ``gas`` (n, 2), ``surface``.
    Raises ``ValueError`` naming the problem for a wrong shape, column count, NaN or out-of-range values.
    """
    path = Path(path)
    a = _read(path)
    if a.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array (samples x {N_COLUMNS} columns), got shape {a.shape}")
    if a.shape[1] != N_COLUMNS:
        raise ValueError(
            f"{path}: expected {N_COLUMNS} columns (13 bands, 3 angles, COT, cloud type, profile, "
            f"2 gases, surface), got {a.shape[1]}"
        )
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
        raise ValueError(f"{path}: values must be finite numbers")
    a = a.astype(np.float64)
    checks = [
        ("band reflectance (columns 0-12)", a[:, :13], 0.0, 2.0),
        ("sun zenith (column 13)", a[:, 13], 0.0, 90.0),
        ("view zenith (column 14)", a[:, 14], 0.0, 90.0),
        ("relative azimuth (column 15)", a[:, 15], -360.0, 360.0),
        ("COT (column 16)", a[:, 16], 0.0, 100.0),
    ]
    for what, v, lo, hi in checks:
        if v.min() < lo or v.max() > hi:
            raise ValueError(f"{path}: {what} outside [{lo}, {hi}] (found {v.min():.4g} .. {v.max():.4g})")
    keep = [i for i, b in enumerate(S2_BANDS) if b != "B10"]
    return {
        "toa": a[:, :13].astype(np.float32),
        "boa": a[:, keep].astype(np.float32),
        "sza": a[:, 13],
        "vza": a[:, 14],
        "raa": a[:, 15],
        "cot": a[:, 16].astype(np.float32),
        "cloud_type": a[:, 17].astype(int),
        "profile": a[:, 18].astype(int),
        "gas": a[:, 19:21],
        "surface": a[:, 21].astype(int),
    }

"""DN to reflectance conversion and the SMHI loader."""

import numpy as np
import pytest

from cotmask import baseline_offset, to_reflectance
from cotmask.training.smhi import load_smhi


def test_offset_is_applied_and_nodata_masked() -> None:
    dn = np.array([[0, 1000, 1500, 11000]], dtype=np.uint16)
    np.testing.assert_allclose(to_reflectance(dn, offset=-1000), [[np.nan, 0.0, 0.05, 1.0]], atol=1e-7)
    np.testing.assert_allclose(to_reflectance(dn, offset=0)[0, 1:], [0.1, 0.15, 1.1], atol=1e-7)


def test_offset_must_be_given_and_reflectance_is_not_converted_twice() -> None:
    with pytest.raises(TypeError):
        to_reflectance(np.array([1000]))  # offset is a required keyword
    with pytest.raises(ValueError, match="reflectance already"):
        to_reflectance(np.array([0.05, 0.3], dtype=np.float32), offset=0)


@pytest.mark.parametrize(
    "baseline,offset", [("04.00", -1000), ("N0400", -1000), ("05.09", -1000), ("02.09", 0), ("N0209", 0)]
)
def test_baseline_offset(baseline: str, offset: int) -> None:
    assert baseline_offset(baseline) == offset


def test_real_l1c_dn_with_offset_matches_esa_toa(shared_data) -> None:
    """ukis-pysat's 2022 (baseline 04.00) tile: DN with offset -1000 equals its published float TOA."""
    rasterio = pytest.importorskip("rasterio")
    base = shared_data / "ukis_pysat" / "S2B_MSIL1C_20220615T101559_N0400_R065_T32UPC_20220615T122549"
    with rasterio.open(f"{base}.tif") as a, rasterio.open(f"{base}_toa.tif") as b:
        dn, toa = a.read(), b.read()
    refl = to_reflectance(dn, offset=baseline_offset("N0400"))
    ok = np.isfinite(refl) & np.isfinite(toa) & (toa > 0)
    np.testing.assert_allclose(refl[ok], toa[ok], atol=2e-4)


def _smhi_rows(n: int = 20) -> np.ndarray:
    rng = np.random.default_rng(0)
    a = np.zeros((n, 22))
    a[:, :13] = rng.uniform(0, 1, (n, 13))
    a[:, 13:16] = [40.0, 5.0, 100.0]
    a[:, 16] = rng.uniform(0, 50, n)
    return a


def test_smhi_loader_reads_and_validates(tmp_path) -> None:
    a = _smhi_rows()
    np.save(tmp_path / "ok.npy", a)
    d = load_smhi(tmp_path / "ok.npy")
    assert d["toa"].shape == (20, 13) and d["boa"].shape == (20, 12)
    np.testing.assert_allclose(d["cot"], a[:, 16], rtol=1e-6)
    np.savetxt(tmp_path / "ok.csv", a, delimiter=",")
    np.testing.assert_allclose(load_smhi(tmp_path / "ok.csv")["sza"], 40.0)
    np.save(tmp_path / "cols.npy", a[:, :21])
    with pytest.raises(ValueError, match="22 columns"):
        load_smhi(tmp_path / "cols.npy")
    bad = a.copy()
    bad[0, 16] = -3
    np.save(tmp_path / "cot.npy", bad)
    with pytest.raises(ValueError, match="COT"):
        load_smhi(tmp_path / "cot.npy")
    bad = a.copy()
    bad[1, 2] = 4000
    np.save(tmp_path / "dn.npy", bad)
    with pytest.raises(ValueError, match="reflectance"):
        load_smhi(tmp_path / "dn.npy")
    np.save(tmp_path / "flat.npy", a[0])
    with pytest.raises(ValueError, match="2-D"):
        load_smhi(tmp_path / "flat.npy")

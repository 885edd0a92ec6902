"""Comparing two cotmask results: cot, cot_std and cloud_class bit for bit, ood to float rounding.

The ood score is a matrix product whose BLAS kernel (and so its last bits) depends on how many rows go in at
once, i.e. on the chunking; the model outputs do not."""

import numpy as np
import xarray as xr

EXACT = ("cot", "cot_std", "cloud_class")


def assert_same_result(a: xr.DataArray, b: xr.DataArray) -> None:
    """Same dims, bands and values (ood: to 1e-4)."""
    dim = "bands" if "bands" in a.dims else "band"
    b = b.rename({"bands" if "bands" in b.dims else "band": dim}).transpose(*a.dims)
    assert a[dim].values.tolist() == b[dim].values.tolist()
    for band in a[dim].values.tolist():
        x, y = a.sel({dim: band}).values, b.sel({dim: band}).values
        if band in EXACT:
            np.testing.assert_array_equal(x, y, err_msg=band)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4, err_msg=band)  # the score matters near 1

"""Client side of scene screening: the aggregate_spatial result as a DataFrame sorted by usability."""

import pandas as pd
import xarray as xr

from ..udf.fractions import FRACTIONS

#: The scene screening's bands, in the graph's order (a legacy JSON result is read by position).
INDICATOR_NAMES = (*FRACTIONS, "valid_fraction")


def _from_json(result: dict) -> pd.DataFrame:
    """Rows from a backend's JSON: a GeoJSON vector cube (properties ``"<date>~<band>"``, as openeo-python-driver
    writes it) or the legacy ``{date: [[cloudy, opaque, shadow, valid], ...per polygon]}`` time series
    (``INDICATOR_NAMES``)."""
    rows = []
    if result.get("type") == "FeatureCollection":
        for i, feature in enumerate(result["features"]):
            per_date: dict = {}
            for key, value in (feature.get("properties") or {}).items():
                if "~" in key:
                    date, band = key.split("~", 1)
                    per_date.setdefault(date, {})[band] = value
            rows += [{"date": d, "polygon": i, **v} for d, v in per_date.items()]
    else:
        rows = [
            {"date": d, "polygon": i, **dict(zip(INDICATOR_NAMES, v))}
            for d, per_polygon in result.items()
            for i, v in enumerate(per_polygon)
            if v
        ]
    df = pd.DataFrame(rows)
    for name in INDICATOR_NAMES:  # a missing indicator stays NaN: such a row is never "usable"
        df[name] = pd.to_numeric(df[name], errors="coerce") if name in df else float("nan")
    return df


def screening_table(
    result: xr.DataArray | pd.DataFrame | dict, max_cloud_fraction: float = 0.1, min_valid_fraction: float = 0.5
) -> pd.DataFrame:
    """One row per polygon and date: cloudy/opaque/valid fractions and a ``usable`` flag, best first.

    ``result``: the local engine's vector cube (dims geometry/t/bands), a backend's JSON result
    (GeoJSON vector cube or date-keyed lists) or a table with columns for date, polygon and the three
    bands. ``usable``: cloudy_fraction + shadow_fraction <= max_cloud_fraction (a shadowed pixel is as lost as a
    cloudy one) and valid_fraction >= min_valid_fraction.
    """
    if not 0 <= max_cloud_fraction <= 1:
        raise ValueError(f"max_cloud_fraction must be within [0, 1], got {max_cloud_fraction}")
    if isinstance(result, xr.DataArray):
        gdim = next(d for d in result.dims if d not in ("t", "bands"))
        df = (
            result.drop_vars([c for c in result.coords if c not in ("t", "bands")])
            .assign_coords({gdim: range(result.sizes[gdim])})
            .to_dataset("bands")
            .to_dataframe()
            .reset_index()
            .rename(columns={gdim: "polygon", "t": "date"})
        )
    elif isinstance(result, dict):
        df = _from_json(result)
    else:
        df = result.rename(columns={"feature_index": "polygon", "t": "date"}).copy()
    if "shadow_fraction" not in df or df["shadow_fraction"].isna().all():
        df["shadow_fraction"] = 0.0  # screened without shadows (shadows=false): none counted
    lost = df["cloudy_fraction"] + df["shadow_fraction"]
    df["usable"] = (lost <= max_cloud_fraction) & (df["valid_fraction"] >= min_valid_fraction)
    return df.sort_values(["usable", "cloudy_fraction", "date"], ascending=[False, True, True]).reset_index(drop=True)

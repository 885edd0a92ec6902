"""Physics rules after the network: snow is clear ground, and where the cirrus band sees cirrus there is cloud.

numpy only; inlined into the cotmask UDFs by ``cotmask.udf.build``.

*Snow test.* The network, trained on generated spectra, calls real snow cloud where its spectrum lies outside the
generator's snow (mixed forest and snow, shaded mountain slopes): 53 % of a real snow patch was flagged. Snow reflects
little in the SWIR (B11) while water clouds reflect much, so the normalised difference snow index
NDSI = (B03 - B11) / (B03 + B11) separates them (as in Fmask and Sen2Cor). What it cannot separate: thin cloud and ice
cloud over snow; on L1C the cirrus band B10 still sees high cloud there, on L2A nothing does (the model card gives the
cost on the generator's clouds over snow).

*Cirrus floor* (L1C). B10 (1375 nm) lies in a strong water-vapour absorption band: the ground below barely reaches the
sensor, so B10 reflectance at or above the floor means cloud high in the atmosphere (ESA's own L1C cirrus test uses
the same band). Such pixels are at least thin cloud, whatever the network says, unless their spectrum is snow's
(high, dry snowfields reach the floor in B10 too).
"""

import numpy as np

#: A pixel is snow when NDSI >= ndsi, B08 >= nir and B03 >= green (bright, not water or shadow), and, where the model
#: has the cirrus band B10 (L1C), B10 < cirrus (no high cloud above it). It stays cloud where the network gives it
#: COT >= max_cot: thick ice cloud, which snow does not pass for (the network gave real snow COT < 6.4 on 99 % of it).
SNOW_TEST = {"ndsi": 0.4, "nir": 0.11, "green": 0.10, "cirrus": 0.008, "max_cot": 8.0}
#: TOA reflectance of B10 from which a pixel is at least thin cloud (L1C; the UDF context ``cirrus_floor``).
CIRRUS_FLOOR = 0.012
_STEP = 1 << 20  # rows per block: no full-size temporaries on a full tile


def _snow_spectrum(refl: np.ndarray, bands: list) -> np.ndarray:
    snow = np.zeros(len(refl), bool)
    if not {"B03", "B08", "B11"} <= set(bands):
        return snow
    i03, i08, i11 = (bands.index(b) for b in ("B03", "B08", "B11"))
    with np.errstate(invalid="ignore"):
        for s in range(0, len(refl), _STEP):
            block = refl[s : s + _STEP]
            b03, b11 = block[:, i03], block[:, i11]
            out = (b03 - b11) >= SNOW_TEST["ndsi"] * (b03 + b11)  # NDSI >= ndsi, without a division
            out &= (block[:, i08] >= SNOW_TEST["nir"]) & (b03 >= SNOW_TEST["green"])
            snow[s : s + _STEP] = out
    return snow


def rule_masks(
    refl: np.ndarray, bands, cot: np.ndarray | None, snow_test: bool = True, floor: float | None = CIRRUS_FLOOR
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(clear, cloud) for ``classify``: the rows that pass the snow test (with the network's ``cot``: only below
    ``SNOW_TEST["max_cot"]``), and the rows whose B10 is at or above ``floor`` while their spectrum is not snow's
    (high, dry snowfields reach the floor in B10 too; over them the network decides). None where a rule is off or
    the bands lack what it needs; NaN rows are in neither."""
    bands = list(bands)
    spectrum = _snow_spectrum(refl, bands) if snow_test or (floor is not None and "B10" in bands) else None
    b10 = refl[:, bands.index("B10")] if "B10" in bands else None
    clear = cloud = None
    with np.errstate(invalid="ignore"):
        if snow_test:
            clear = spectrum if b10 is None else spectrum & (b10 < SNOW_TEST["cirrus"])
            if cot is not None:
                clear &= np.asarray(cot) < SNOW_TEST["max_cot"]
        if floor is not None and b10 is not None:
            cloud = (b10 >= floor) & ~spectrum
    return clear, cloud

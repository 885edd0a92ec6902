"""Metric code on hand-computed cases, and the real-data evaluation in its small version."""

import sys

import numpy as np
import pytest
from conftest import ROOT

from cotmask.training.metrics import block_ids, bootstrap_ci, confusion, detection_rates, mae_per_bin, recall_precision


def test_detection_rates_hand_computed() -> None:
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    p = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0], bool)
    r = detection_rates(t, p)  # tp 3, fn 1, fp 1, tn 5
    assert r["recall"] == 0.75 and r["precision"] == 0.75 and r["f1"] == 0.75
    assert r["false_cloud_rate"] == pytest.approx(1 / 6)
    assert r["balanced_accuracy"] == pytest.approx((0.75 + 5 / 6) / 2)


def test_confusion_and_thin_recall() -> None:
    cm = confusion(np.array([0, 1, 1, 2, 2]), np.array([0, 1, 2, 2, np.nan]))
    assert cm.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]  # the NaN prediction is left out
    assert recall_precision(cm, 1) == (0.5, 1.0)


def test_mae_per_bin() -> None:
    df = mae_per_bin(np.array([0.1, 0.2, 1.0, 1.1]), np.array([0.3, 0.2, 0.5, 1.1]), bins=(0, 0.5, 2))
    assert df["n"].tolist() == [2, 2] and df["mae"].tolist() == pytest.approx([0.1, 0.25])


def test_block_bootstrap() -> None:
    ids = block_ids((2, 4, 4), 2)
    assert ids.max() == 7 and (ids[0, :2, :2] == ids[0, 0, 0]).all() and ids[1, 0, 0] != ids[0, 0, 0]
    t = np.ones((2, 4, 4), bool)
    v, lo, hi = bootstrap_ci(lambda a, b: detection_rates(a, b)["recall"], t, t, ids, n=30)
    assert v == lo == hi == 1.0
    p = np.zeros_like(t)
    p[0] = True  # recall 0.5, blocks disagree -> a real interval
    v, lo, hi = bootstrap_ci(lambda a, b: detection_rates(a, b)["recall"], t, p, ids, n=200)
    assert v == 0.5 and lo < 0.5 < hi


def test_real_data_evaluation_small_version(shared_data, tmp_path) -> None:
    sys.path.insert(0, str(ROOT / "evaluation"))
    import run_evaluation as evaluation

    md, res = evaluation.injected(shared_data, n_boot=10, seeds=1, figures=tmp_path)
    ens = next(r for r in res["injected"] if r["method"] == "cotmask L1C ensemble")
    assert float(ens["recall"].split()[0]) > 0.9  # injected clouds of known COT on real backgrounds
    assert res["clear_false_cloud"]["cotmask L1C ensemble"] < 0.05  # real clear scenes
    assert (tmp_path / "cot_threshold_sweep.png").exists()
    md, res = evaluation.s2cloudless_scene(shared_data, tmp_path)
    assert 0.8 < res["s2cloudless_scene"]["agreement"] <= 1.0

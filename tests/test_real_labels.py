"""The real-scene labels drawn by eye: complete, each with a reason, inside its scene, and rasterised right."""

import sys

import numpy as np
from conftest import ROOT

sys.path.insert(0, str(ROOT / "evaluation"))
import real_labels  # noqa: E402
from real_labels import (  # noqa: E402
    CLASSES,
    COT_THRESHOLDS,
    PROB_THRESHOLDS,
    _swept,
    load_labels,
    polygon_mask,
    scenes,
)

from cotmask.core.bands import MODEL_KINDS  # noqa: E402


def test_labels_cover_every_class_with_reasons_inside_their_scenes(shared_data) -> None:
    labels = load_labels()
    assert len(labels) >= 40 and len({lab["id"] for lab in labels}) == len(labels)
    assert {lab["class"] for lab in labels} == set(CLASSES)
    data = scenes(shared_data)
    for lab in labels:
        toa, _ = data[(lab["scene"], lab.get("index"))]
        assert len(lab["why"]) > 20, lab["id"]
        assert polygon_mask(lab["polygon"], toa.shape[:2]).sum() >= 20, lab["id"]  # inside the scene, not a sliver


def test_polygon_mask_takes_pixel_centres_edges_included() -> None:
    m = polygon_mask([[1, 1], [1, 3], [2, 3], [2, 1]], (4, 5))
    expected = np.zeros((4, 5), bool)
    expected[1:3, 1:4] = True
    np.testing.assert_array_equal(m, expected)


def test_threshold_sweep_masks_are_nested_and_include_the_shipped_classes(shared_data, monkeypatch) -> None:
    """The sweep's masks are each method's score at the threshold its name states (COT >= t, probability > t), computed
    here independently; at 0.75 (the shipped thin threshold) the COT mask is exactly predict's thin-or-opaque class."""
    import cotmask

    toa, bands = scenes(shared_data)[("eolearn", 1)]  # cloud over part of it: each step of the sweep flags differently
    # s2cloudless (an extra) stands in as a known probability field, so its thresholding is checked wherever it runs
    prob = np.linspace(0.0, 1.0, toa.shape[0] * toa.shape[1]).reshape(1, *toa.shape[:2])
    seen = []
    kinds = MODEL_KINDS
    monkeypatch.setattr(real_labels, "s2cloudless_probs", lambda arr: seen.append(arr) or prob)
    masks = _swept(toa, bands)
    assert len(seen) == 1 and np.array_equal(seen[0], toa[None])
    assert set(masks) == {f"cotmask L1C {kind} @ {t}" for kind in kinds for t in COT_THRESHOLDS} | {
        f"s2cloudless @ {t}" for t in PROB_THRESHOLDS
    }
    for t in PROB_THRESHOLDS:
        np.testing.assert_array_equal(masks[f"s2cloudless @ {t}"], prob[0] > t, err_msg=f"s2cloudless @ {t}")
    for kind in kinds:
        model = cotmask.load_model("L1C", kind)
        x = toa[..., [bands.index(b) for b in model.bands]].reshape(-1, len(model.bands))
        pred = cotmask.predict(x, "L1C", kind)
        cot = pred["cot"].reshape(toa.shape[:2])
        for t in COT_THRESHOLDS:
            np.testing.assert_array_equal(masks[f"cotmask L1C {kind} @ {t}"], cot >= t, err_msg=f"{kind} @ {t}")
        # this scene tells every step of the sweep apart (a mask taken at a neighbouring threshold would show)
        assert len({int(masks[f"cotmask L1C {kind} @ {t}"].sum()) for t in COT_THRESHOLDS}) == len(COT_THRESHOLDS)
        shipped = (pred["cloud_class"] >= 1).reshape(toa.shape[:2])
        assert model.thresholds["thin"] == 0.75
        np.testing.assert_array_equal(masks[f"cotmask L1C {kind} @ 0.75"], shipped)
    # the comparison at the threshold itself: COT exactly at t is flagged, just below it is not (as predict's classes)
    at = np.array(COT_THRESHOLDS)
    monkeypatch.setattr(real_labels, "cot_of", lambda arr, level, kind: np.stack([at, np.nextafter(at, 0.0)]))
    exact = _swept(toa[:2, : len(at)], bands)
    j = np.arange(len(at))
    for i, t in enumerate(COT_THRESHOLDS):
        np.testing.assert_array_equal(exact[f"cotmask L1C distilled @ {t}"], [j >= i, j > i], err_msg=f"@ {t}")

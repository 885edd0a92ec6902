"""The real-scene labels drawn by eye: complete, each with a reason, inside its scene, and rasterised right."""

import sys

import numpy as np

from conftest import ROOT

sys.path.insert(0, str(ROOT / "evaluation"))
from real_labels import COT_THRESHOLDS, CLASSES, _swept, load_labels, polygon_mask, scenes  # noqa: E402


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


def test_threshold_sweep_masks_are_nested_and_include_the_shipped_classes(shared_data) -> None:
    """The sweep's masks: a higher threshold flags a subset of a lower one, and at 0.75 (the shipped thin threshold)
    the mask is exactly predict's thin-or-opaque class."""
    import cotmask

    toa, bands = scenes(shared_data)[("eolearn", 0)]
    masks = _swept(toa, bands)
    for kind in ("distilled", "ensemble"):
        seq = [masks[f"cotmask L1C {kind} @ {t}"] for t in COT_THRESHOLDS]
        assert all((hi <= lo).all() for lo, hi in zip(seq, seq[1:])) and seq[0].sum() > seq[-1].sum()
        model = cotmask.load_model("L1C", kind)
        x = toa[..., [bands.index(b) for b in model.bands]].reshape(-1, len(model.bands))
        shipped = (cotmask.predict(x, "L1C", kind)["cloud_class"] >= 1).reshape(toa.shape[:2])
        np.testing.assert_array_equal(masks[f"cotmask L1C {kind} @ 0.75"], shipped)

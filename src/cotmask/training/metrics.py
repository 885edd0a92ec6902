"""Metrics for cloud masks: confusion matrices, recall / precision, COT error per bin, surface breakdowns."""

import numpy as np
import pandas as pd

CLASSES = ("clear", "thin", "opaque")
COT_BINS = (0.0, 0.25, 0.75, 1.25, 2.5, 5.0, 10.0, 25.0, 50.01)


def confusion(true_cls: np.ndarray, pred_cls: np.ndarray, n: int = 3) -> np.ndarray:
    """Counts (n, n): rows true class, columns predicted class; NaN predictions are left out."""
    ok = np.isfinite(pred_cls)
    return np.bincount(true_cls[ok].astype(int) * n + pred_cls[ok].astype(int), minlength=n * n).reshape(n, n)


def recall_precision(cm: np.ndarray, cls: int) -> tuple[float, float]:
    """Recall and precision of class ``cls`` from a confusion matrix."""
    tp = cm[cls, cls]
    return float(tp / max(cm[cls].sum(), 1)), float(tp / max(cm[:, cls].sum(), 1))


def detection_rates(true_cloudy: np.ndarray, pred_cloudy: np.ndarray) -> dict[str, float]:
    """Binary cloud detection: recall, precision, F1, false-positive rate, balanced accuracy."""
    t, p = true_cloudy.astype(bool), pred_cloudy.astype(bool)
    tp, fp = np.sum(t & p), np.sum(~t & p)
    fn, tn = np.sum(t & ~p), np.sum(~t & ~p)
    rec, prec = tp / max(tp + fn, 1), tp / max(tp + fp, 1)
    fpr = fp / max(fp + tn, 1)
    return {
        "recall": float(rec),
        "precision": float(prec),
        "f1": float(2 * rec * prec / max(rec + prec, 1e-12)),
        "false_cloud_rate": float(fpr),
        "balanced_accuracy": float((rec + 1 - fpr) / 2),
    }


def mae_per_bin(cot_true: np.ndarray, cot_pred: np.ndarray, bins: tuple[float, ...] = COT_BINS) -> pd.DataFrame:
    """COT mean absolute error and median bias per true-COT bin."""
    idx = np.digitize(cot_true, bins) - 1
    rows = []
    for i in range(len(bins) - 1):
        m = idx == i
        if m.any():
            err = cot_pred[m] - cot_true[m]
            rows.append(
                {
                    "cot_bin": f"[{bins[i]:g}, {bins[i + 1]:g})",
                    "n": int(m.sum()),
                    "mae": float(np.mean(np.abs(err))),
                    "median_bias": float(np.median(err)),
                }
            )
    return pd.DataFrame(rows)


def block_ids(shape: tuple[int, ...], block: int = 16) -> np.ndarray:
    """Spatial block index per pixel of images with trailing dims (y, x), for a block bootstrap."""
    *lead, ny, nx = shape
    by, bx = np.arange(ny) // block, np.arange(nx) // block
    per_image = by[:, None] * (bx.max() + 1) + bx[None, :]
    n_img = int(np.prod(lead)) if lead else 1
    return (np.arange(n_img)[:, None, None] * (per_image.max() + 1) + per_image[None]).reshape(shape)


def bootstrap_ci(
    stat, true: np.ndarray, pred: np.ndarray, blocks: np.ndarray, n: int = 200, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Statistic and its block-bootstrap percentile interval (blocks keep spatial correlation together).

    ``stat(true, pred) -> float`` on flat arrays; ``blocks`` gives each pixel's block id.
    """
    t, p, b = true.ravel(), pred.ravel(), blocks.ravel()
    order = np.argsort(b, kind="stable")
    t, p, b = t[order], p[order], b[order]
    uniq, start = np.unique(b, return_index=True)
    stop = np.append(start[1:], len(b))
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([np.arange(start[i], stop[i]) for i in pick])
        vals.append(stat(t[idx], p[idx]))
    lo, hi = np.nanpercentile(vals, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(stat(t, p)), float(lo), float(hi)

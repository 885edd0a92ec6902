"""Build the shipped models: synthetic data -> ensemble -> distilled model -> ONNX with metadata."""

import json
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..core.bands import DN_SCALE, KIND_WITHOUT, L2A_BANDS, S2_BANDS
from ..core.onnx_numpy import read_onnx
from ..core.shipped import write_checksums
from .export import to_onnx_bytes
from .mlp import COT_SCALE, MLP, TrainConfig, cot_classes, train
from .synth import generate

#: The generator's name as the shipped models' recipe metadata records it (the generator is
#: ``cotmask.training.synth.generate``; the recorded name stays, so the shipped files re-export byte for byte).
GENERATOR_ID = "cotmask.synth.generate"
#: Input bands of each model level (B01 is dropped; L2A has no B10). Written into the model metadata,
#: which is the source of truth at inference time.
MODEL_BANDS: dict[str, tuple[str, ...]] = {
    "L1C": tuple(b for b in S2_BANDS if b != "B01"),
    "L2A": tuple(b for b in L2A_BANDS if b != "B01"),
    # evaluation-only variant for 6-band data (ukis-csmask's labelled tile); not shipped
    "L1C_6B": ("B02", "B03", "B04", "B08", "B11", "B12"),
}
THRESHOLDS = {"thin": 0.75, "opaque": 1.25}
REFLECTANCE = {
    "scale": DN_SCALE,
    "offset_dn": {"processing_baseline_before_04.00": 0, "processing_baseline_04.00_or_later": -1000},
    "formula": "reflectance = (DN + offset_dn) * scale",
    "valid_range": [-0.2, 2.0],
}
#: The distilled model: one network of the ensemble members' architecture (MLP5), trained on the shipped ensemble's
#: mean and spread with the ensemble's B10 monotonicity penalty. Its inputs are the training inputs and a perturbed copy
#: of them (``DISTIL_NEIGHBOURHOOD``), both labelled by the teacher, and no further input noise: the student then
#: follows the ensemble around the training spectra too, where real pixels fall (models/README.md: how it was chosen,
#: and that seed-to-seed differences are as large as those between the recipes tried).
DISTILLED = TrainConfig(members=1, hidden=(64, 64, 64, 64), steps=40000, batch=512, lr=2e-3, noise_frac=0.0)
#: Perturbation of the copy: Gaussian, sigma this fraction of each band's mean (the ensemble's training input noise).
DISTIL_NEIGHBOURHOOD = 0.03
#: Real clear scenes whose pixels join the distillation as clear (target COT 0, the teacher's spread): bright dry
#: farmland the generator's surfaces do not cover, which the teacher calls thin cloud. Scene-wise split: every other
#: real scene (evaluation/real_surfaces.py, evaluation/real_labels.py) is never used in training. Names as
#: evaluation/real_surfaces.py reads them from ../shared/data.
REAL_CLEAR_SCENES = {
    "L1C": ("SSL4EO-S12 2020-06-04 L1C",),
    "L2A": ("SSL4EO-S12 2020-06-04 L2A", "BigEarthNet S2A_MSIL2A_20170613T101031_87_48"),
}


def level_inputs(data: dict[str, np.ndarray], level: str, kind: str = "ensemble") -> np.ndarray:
    """Model inputs (N, n_bands) of the ``kind`` model of ``level`` from a ``synth.generate`` result."""
    src, order = (data["toa"], S2_BANDS) if level.startswith("L1C") else (data["boa"], L2A_BANDS)
    return src[:, [order.index(b) for b in model_bands(level, kind)]]


#: Centroids of the out-of-distribution codebook (k-means of the standardised training inputs).
OOD_CENTROIDS = 64


def fit_codebook(
    z: np.ndarray, k: int = OOD_CENTROIDS, iterations: int = 25, seed: int = 0, sample: int = 100_000
) -> dict[str, object]:
    """k-means (Lloyd) centroids of standardised training inputs ``z`` and ``d99``, the 99th percentile of the
    training samples' distance to their nearest centroid: the graph's ``ood`` output divides by it."""
    rng = np.random.default_rng(seed)
    pts = z[rng.choice(len(z), min(sample, len(z)), replace=False)].astype(np.float64)
    centroids = pts[rng.choice(len(pts), k, replace=False)].copy()

    def nearest(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d2 = (x * x).sum(1)[:, None] - 2 * x @ centroids.T + (centroids * centroids).sum(1)[None]
        return d2.argmin(1), np.sqrt(np.maximum(d2.min(1), 0))

    for _ in range(iterations):
        label, _ = nearest(pts)
        for j in range(k):
            members = pts[label == j]
            centroids[j] = members.mean(0) if len(members) else pts[rng.integers(len(pts))]
    _, dist = nearest(z.astype(np.float64))
    return {
        "centroids": centroids.round(4).tolist(),
        "d99": round(float(np.percentile(dist, 99)), 5),
        "method": f"k-means ({k} centroids) of the standardised training inputs; score = distance to the nearest "
        "centroid / d99 (the 99th percentile of the training samples' distance)",
    }


def outputs(with_ood: bool) -> dict[str, str]:
    """The graph outputs and what they hold (metadata ``outputs``; ``export.to_onnx_bytes`` writes ``ood`` when the
    metadata has a codebook)."""
    return {
        "cot": "cloud optical thickness, ensemble mean (clipped at 0)",
        "cot_std": "ensemble spread (std)",
        **(
            {"ood": "distance of the standardised input to the nearest codebook centroid / d99 (metadata ood)"}
            if with_ood
            else {}
        ),
    }


def model_bands(level: str, kind: str) -> tuple[str, ...]:
    """The input bands of the ``kind`` model of ``level``: the level's bands without those ``KIND_WITHOUT`` drops."""
    return tuple(b for b in MODEL_BANDS[level] if b not in KIND_WITHOUT.get(kind, ()))


def metadata(level: str, kind: str, net: MLP, recipe: dict, codebook: dict | None = None) -> dict[str, object]:
    """Model metadata stored in ONNX ``metadata_props`` (``codebook``: from ``fit_codebook``)."""
    return {
        "bands": list(model_bands(level, kind)),
        "level": level,
        "kind": kind,
        "members": net.members,
        "input": "float32 (N, n_bands) " + ("TOA reflectance (L1C)" if level == "L1C" else "BOA reflectance (L2A)"),
        "outputs": outputs(codebook is not None),
        "reflectance": REFLECTANCE,
        "thresholds": THRESHOLDS,
        "normalisation": {"mean": net.mean.round(6).tolist(), "std": net.std.round(6).tolist()},
        "training": recipe,
        "version": __version__,
        "license": "MIT",
        **({"ood": codebook} if codebook else {}),
    }


def mlp_from_onnx(blob: bytes) -> tuple[MLP, dict]:
    """The network (float32 weights as float64) and the metadata of a cotmask ONNX file."""
    model = read_onnx(blob)
    w = model["initializers"]
    n = sum(1 for k in w if re.fullmatch(r"W\d+", k))
    # a distilled model's layers are 2-D: as a one-member ensemble
    member = lambda a: a.astype(np.float64)[None] if a.ndim == 2 else a.astype(np.float64)  # noqa: E731
    net = MLP(
        *(w[k].astype(np.float64) for k in ("mean", "std")),
        [member(w[f"W{i}"]) for i in range(n)],
        [member(w[f"b{i}"]) for i in range(n)],
    )
    return net, {k: json.loads(v) for k, v in model["metadata"].items()}


def reexport(blob: bytes) -> bytes:
    """A cotmask ONNX file rewritten by the current ``export.to_onnx_bytes`` from its own weights and metadata (the
    metadata's ``outputs`` follows the graph; weights, normalisation, codebook and recipe stay as they are)."""
    net, meta = mlp_from_onnx(blob)
    meta["outputs"] = outputs("ood" in meta)
    return to_onnx_bytes(net, meta, distilled=meta["kind"] != "ensemble")


def distil(
    teacher_blob: bytes,
    x: np.ndarray,
    distill_cfg: TrainConfig = DISTILLED,
    log: Callable[[str], None] = print,
    kind: str = "distilled",
    real_clear: np.ndarray | None = None,
) -> tuple[MLP, bytes]:
    """Train the distilled model on the mean and spread of the ensemble ``teacher_blob`` (ONNX as shipped, so a
    full training run and ``training/train.py --distil-only`` give the same model) for its training inputs ``x`` and
    a perturbed copy of them (``DISTILLED``); it takes the teacher's class edges and B10 monotonicity penalty, and
    fits its own codebook on ``x``. ``kind``: ``distilled``, or a kind of ``KIND_WITHOUT`` whose student sees fewer
    bands than its teacher (the teacher labels the full inputs). ``real_clear``: real clear pixels (rows in the
    teacher's bands, ``REAL_CLEAR_SCENES``), taught as COT 0 with the teacher's spread. Returns (net, onnx bytes)."""
    teacher, meta = mlp_from_onnx(teacher_blob)
    tcfg = meta["training"]["config"]
    cols = [i for i, b in enumerate(meta["bands"]) if b not in KIND_WITHOUT.get(kind, ())]
    mono = tcfg["monotone_band"]
    dcfg = replace(
        distill_cfg,
        seed=tcfg["seed"] + 1,
        log_every=tcfg["log_every"],
        monotone_band=cols.index(mono) if mono in cols else -1,
        **{k: tcfg[k] for k in ("monotone_weight", "monotone_delta")},
    )
    rng = np.random.default_rng(dcfg.seed)
    x = np.asarray(x, dtype=np.float32)
    both = np.concatenate(
        [x, x + (rng.normal(0, 1, x.shape) * DISTIL_NEIGHBOURHOOD * np.abs(x.mean(axis=0))).astype(np.float32)]
    )
    mean, std = teacher.predict(both)
    if real_clear is not None and len(real_clear):
        real = np.asarray(real_clear, dtype=np.float32)
        both = np.concatenate([both, real])
        mean, std = np.concatenate([mean, np.zeros(len(real))]), np.concatenate([std, teacher.predict(real)[1]])
    both, x = both[:, cols], x[:, cols]
    t0 = time.time()
    net = train(
        both,
        np.stack([mean, std], 1) / COT_SCALE,
        dcfg,
        cot_classes(mean, tuple(tcfg["class_edges"])),
        lambda step, loss: log(f"  {meta['level']} {kind} step {step:>6}  loss {loss:.3e}  {time.time() - t0:5.0f}s"),
    )
    book = fit_codebook((x - net.mean) / net.std)  # the training inputs in the student's own standardisation
    recipe = {
        **meta["training"],
        "config": dcfg.to_dict(),
        "teacher": f"the shipped ensemble (its float32 weights) on the training inputs and a copy perturbed by "
        f"N(0, ({DISTIL_NEIGHBOURHOOD} x band mean)^2)",
        **(
            {
                "real_clear": {
                    "scenes": list(REAL_CLEAR_SCENES[meta["level"]]),
                    "pixels": len(real_clear),
                    "target": "COT 0, the teacher's spread",
                }
            }
            if real_clear is not None and len(real_clear)
            else {}
        ),
    }
    return net, to_onnx_bytes(net, metadata(meta["level"], kind, net, recipe, book), distilled=True)


def build_level(
    level: str,
    data: dict[str, np.ndarray],
    cfg: TrainConfig,
    distill_cfg: TrainConfig = DISTILLED,
    log: Callable[[str], None] = print,
    real_clear: np.ndarray | None = None,
) -> dict[str, tuple[MLP, bytes]]:
    """Train the ensemble and the distilled models of ``level`` (``real_clear``: as ``distil``); returns
    {kind: (net, onnx bytes)}."""
    x = level_inputs(data, level)
    cot = data["cot"].astype(np.float64)
    band = MODEL_BANDS[level].index("B10") if "B10" in MODEL_BANDS[level] else -1
    cfg = replace(cfg, monotone_band=band if cfg.monotone_weight > 0 else -1)
    labels = cot_classes(cot, cfg.class_edges)
    t0 = time.time()

    def prog(tag: str) -> Callable[[int, float], None]:
        return lambda step, loss: log(f"  {level} {tag} step {step:>6}  loss {loss:.3e}  {time.time() - t0:5.0f}s")

    ens = train(x, cot[:, None] / COT_SCALE, cfg, labels, prog("ensemble"))
    book = fit_codebook((x - ens.mean) / ens.std)
    recipe = {
        "generator": GENERATOR_ID,
        "n_samples": len(x),
        "data_seed": int(data.get("seed", -1)),
        **({"aerosols": data["aerosols"]} if data.get("aerosols") else {}),
        "loss": "MSE on COT/50"
        + (
            f", weighted ((1 + {cfg.cot_weight_offset}) / (COT + {cfg.cot_weight_offset}))^2"
            if cfg.cot_weight_offset > 0
            else ""
        )
        + (
            f", + {cfg.monotone_weight} x squared COT/50 decrease when B10 rises by {cfg.monotone_delta}"
            if cfg.monotone_band >= 0
            else ""
        ),
        "sampling": "class-balanced clear/thin/opaque",
        "config": cfg.to_dict(),
    }
    blob = to_onnx_bytes(ens, metadata(level, "ensemble", ens, recipe, book))
    students = {kind: distil(blob, x, distill_cfg, log, kind, real_clear) for kind in ("distilled", *KIND_WITHOUT)}
    return {"ensemble": (ens, blob), **students}


def build_models(
    out_dir: Path,
    n_samples: int,
    seed: int,
    cfg: TrainConfig,
    levels: tuple[str, ...] = ("L1C", "L2A"),
    log: Callable[[str], None] = print,
    data: dict[str, np.ndarray] | None = None,
    aerosols: dict[str, float] | None = None,
    real_clear: dict[str, np.ndarray] | None = None,
) -> list[Path]:
    """Train on ``data`` (default: generated with ``seed`` and the aerosol-type shares ``aerosols``, None: continental
    only) and write ``cotmask_<level>_<kind>.onnx`` files."""
    if data is None:
        log(f"generating {n_samples} synthetic samples (seed {seed}, aerosols {aerosols or 'continental'})")
        data = {**generate(n_samples, seed=seed, aerosols=aerosols), "seed": np.int64(seed), "aerosols": aerosols}
    written = []
    for level in levels:
        real = (real_clear or {}).get(level)
        for kind, (_, blob) in build_level(level, data, cfg, log=log, real_clear=real).items():
            path = Path(out_dir) / f"cotmask_{level.lower()}_{kind}.onnx"
            path.write_bytes(blob)
            written.append(path)
            log(f"wrote {path} ({len(blob) / 1024:.0f} KiB)")
    write_checksums(Path(out_dir), [p.name for p in written])  # the folder's SHA256SUMS: what load_model verifies
    return written


def distil_models(
    model_dir: Path,
    levels: tuple[str, ...] = ("L1C", "L2A"),
    distill_cfg: TrainConfig = DISTILLED,
    log: Callable[[str], None] = print,
    kinds: tuple[str, ...] = ("distilled", *KIND_WITHOUT),
    real_clear: dict[str, np.ndarray] | None = None,
) -> list[Path]:
    """Rebuild the distilled models ``cotmask_<level>_<kind>.onnx`` from the ensemble files in ``model_dir`` and the
    generated training data their metadata names (generator, n_samples, data_seed, aerosols): the same models a full
    training run writes."""
    written, data = [], {}
    for level in levels:
        teacher = (Path(model_dir) / f"cotmask_{level.lower()}_ensemble.onnx").read_bytes()
        recipe = mlp_from_onnx(teacher)[1]["training"]
        if recipe.get("generator") != GENERATOR_ID:
            raise ValueError(
                f"the {level} ensemble was trained on {recipe.get('generator')!r} data, which this "
                "command cannot regenerate: run the full training"
            )
        key = (recipe["n_samples"], recipe["data_seed"], json.dumps(recipe.get("aerosols")))
        if key not in data:
            log(f"generating {key[0]} synthetic samples (seed {key[1]}, aerosols {key[2]})")
            data[key] = generate(key[0], seed=key[1], aerosols=recipe.get("aerosols"))
        for kind in kinds:
            real = (real_clear or {}).get(level)
            blob = distil(teacher, level_inputs(data[key], level), distill_cfg, log, kind, real)[1]
            path = Path(model_dir) / f"cotmask_{level.lower()}_{kind}.onnx"
            path.write_bytes(blob)
            written.append(path)
            log(f"wrote {path} ({len(blob) / 1024:.0f} KiB)")
    write_checksums(Path(model_dir), [p.name for p in written])
    return written

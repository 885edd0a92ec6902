"""Rewrite the shipped models' ONNX graphs with the current exporter, from their own weights and metadata.

    python training/reexport.py     # then: python -m cotmask.training.fp16 && cotmask build   (~1 min)

For a change of the graph alone (``cotmask.export``): weights, normalisation, out-of-distribution codebook and
training recipe stay as shipped (``cotmask.training.pipeline.reexport``). ``tests/test_model.py`` fails while a shipped
file differs from what this writes. ``training/train.py`` writes the same graphs when it trains.
"""

from cotmask.core.bands import LEVELS, MODEL_KINDS
from cotmask.core.shipped import model_path, write_checksums
from cotmask.training.pipeline import reexport


def main() -> None:
    """Rewrite every shipped model in place."""
    for level in LEVELS:
        for kind in MODEL_KINDS:
            path = model_path(level, kind)
            old = path.read_bytes()
            new = reexport(old)
            path.write_bytes(new)
            print(f"{path.name}: {'unchanged' if new == old else f'rewritten ({len(old)} -> {len(new)} bytes)'}")
    print(f"recorded {write_checksums(names=[model_path(lv, k).name for lv in LEVELS for k in MODEL_KINDS])}")


if __name__ == "__main__":
    main()

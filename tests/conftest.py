"""Shared fixtures: paths to ../shared data (tests may read it; the product never does)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared sample data folder; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data not present")
    return SHARED

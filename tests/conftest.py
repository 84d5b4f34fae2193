"""Fixtures and paths shared by the test files."""

from pathlib import Path

import pytest
import torch

from rmcourse.data import PreferenceWorld

# The tests' models are tiny: one thread is faster than two, and leaves the other core to a
# second pytest worker (make test and make test-fast run two).
torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
"""The repository's root folder (notebooks/, solutions/, exercises/ live there)."""


@pytest.fixture(scope="session")
def world() -> PreferenceWorld:
    """The colour world every lesson uses (seed 0)."""
    return PreferenceWorld(seed=0)

"""Fixtures shared by the test files (their plain helpers and paths are in ``helpers.py``)."""

import pytest
import torch

from rmcourse.data import PreferenceWorld

# The tests' models are tiny: one thread is faster than two, and leaves the other core to a
# second pytest worker (make test and make test-fast run two).
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def world() -> PreferenceWorld:
    """The colour world every lesson uses (seed 0)."""
    return PreferenceWorld(seed=0)

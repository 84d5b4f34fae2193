"""Fixtures shared by the test files (their plain helpers and paths are in ``helpers.py``)."""

import helpers
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


@pytest.fixture(scope="session", autouse=True)
def shared_grades(tmp_path_factory, worker_id):
    """Under pytest-xdist, a folder of this run that every worker sees, where
    :func:`helpers.grade_submissions` keeps what it graded."""
    if worker_id != "master":
        helpers.SHARED_GRADES = tmp_path_factory.getbasetemp().parent / "grades"
        helpers.SHARED_GRADES.mkdir(exist_ok=True)

"""Fixtures shared by the test files (their plain helpers and paths are in ``helpers.py``)."""

import helpers
import pins
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


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected
def pytest_collection_modifyitems(config, items):
    """Start the resolver dry runs of tests/test_setup.py as soon as they are sure to be read."""
    if any(pins.TEST in item.nodeid for item in items):
        pins.start_once(pins.run_folder(config), pins.pythons_on_this_machine())

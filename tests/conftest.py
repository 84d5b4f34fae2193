"""Fixtures and paths shared by the test files."""

from pathlib import Path

import pytest

from rmcourse.data import PreferenceWorld

ROOT = Path(__file__).resolve().parents[1]
"""The repository's root folder (notebooks/, solutions/, exercises/ live there)."""


@pytest.fixture(scope="session")
def world() -> PreferenceWorld:
    """The colour world every lesson uses (seed 0)."""
    return PreferenceWorld(seed=0)

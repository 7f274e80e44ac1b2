"""Shared fixtures: small demo studies and hand-made rsatoolbox RDM files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.demo import STRONG_SIGNAL, write_demo

SMALL_DEMO_IMAGES = 60


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory) -> Path:
    """A small demo study, written once per test session (read-only: copy before changing). At 60
    images the planted peaks are visible only with a large effect, so it asks for STRONG_SIGNAL
    (the default demo has the real data's small effects)."""
    folder = tmp_path_factory.mktemp("demo") / "study"
    return write_demo(folder, n_images=SMALL_DEMO_IMAGES, seed=1, signal=STRONG_SIGNAL).parent


@pytest.fixture
def demo(demo_master, tmp_path) -> Path:
    """A private copy of the small demo study that a test may change."""
    return Path(shutil.copytree(demo_master, tmp_path / "demo"))

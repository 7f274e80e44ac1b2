"""Provenance: checksums of files, versions, and the project's git state."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from analysis.pipeline.provenance import git_state, sha256_and_finite, sha256_file, versions


def test_sha256_file_reads_in_chunks_like_hashlib(tmp_path):
    data = bytes(range(256)) * 50_000
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f", chunk=4096) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("chunk", [8, 4096, 1 << 22])
def test_hashing_checks_the_values_of_a_region_in_the_same_read(tmp_path, chunk):
    values = np.arange(1000, dtype="<f8")
    head, tail = b"header" * 7, bytes(range(256)) * 3
    path = tmp_path / "f"
    path.write_bytes(head + values.tobytes() + tail)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    region = (len(head), values.nbytes)
    assert sha256_and_finite(path, region, chunk) == (expected, True)
    assert sha256_and_finite(path, None, chunk) == (expected, None)
    values[997] = np.nan
    path.write_bytes(head + values.tobytes() + b"\xff" * 64)  # NaN bytes after it: not looked at
    assert sha256_and_finite(path, region, chunk)[1] is False
    values[997] = 1.0
    path.write_bytes(head + values.tobytes() + np.full(8, np.inf).tobytes())
    assert sha256_and_finite(path, region, chunk)[1] is True
    assert sha256_and_finite(path, (len(head), values.nbytes + 64), chunk)[1] is False


def test_versions_and_git_state():
    found = versions()
    assert {"python", "numpy", "rsatoolbox", "project"} <= set(found)
    state = git_state()
    assert set(state) == {"version", "git_commit", "git_dirty"}


def test_git_state_outside_a_repository_is_none(tmp_path):
    assert git_state(tmp_path)["git_commit"] is None

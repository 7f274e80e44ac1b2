"""Provenance: checksums of files, versions, and the project's git state."""

from __future__ import annotations

import hashlib

from analysis.pipeline.provenance import git_state, sha256_file, versions


def test_sha256_file_reads_in_chunks_like_hashlib(tmp_path):
    data = bytes(range(256)) * 50_000
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f", chunk=4096) == hashlib.sha256(data).hexdigest()


def test_versions_and_git_state():
    found = versions()
    assert {"python", "numpy", "rsatoolbox", "project"} <= set(found)
    state = git_state()
    assert set(state) == {"version", "git_commit", "git_dirty"}


def test_git_state_outside_a_repository_is_none(tmp_path):
    assert git_state(tmp_path)["git_commit"] is None

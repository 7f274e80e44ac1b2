"""Publishing a folder: one writer at a time, and
the old folder stays whole until the new one is."""

from __future__ import annotations

import pytest

from analysis.errors import AnalysisError
from analysis.publish import lock_path, locked, staged_folder


def test_a_second_writer_is_refused_with_the_given_words(tmp_path):
    out = tmp_path / "out"
    with locked(out, busy="another render is writing the report"):
        with pytest.raises(AnalysisError, match="another render is writing the report; wait"):
            with locked(out, busy="another render is writing the report"):
                pass
    assert lock_path(out) == tmp_path / ".out.lock"
    with locked(out):  # released: the next writer gets it
        pass


def test_staged_folder_replaces_the_old_one_only_when_complete(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staged_folder(out) as stage:
            (stage / "new.txt").write_text("half")
            raise RuntimeError("the writer failed")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    with staged_folder(out) as stage:
        (stage / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no leftovers beside it

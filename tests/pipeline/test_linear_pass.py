"""The corr and cosine point stage (streaming.linear_pass): the same bytes on one or two threads,
in memory or from the aligned store, in chunks of pairs; every vector read once; and equal to
comparing whole vectors with rsatoolbox. The spearman and rho-a second-order map, streamed from
integer ranks, equals rsatoolbox too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rsatoolbox

from analysis.pipeline import streaming
from analysis.pipeline.run import run
from analysis.reading import store as store_module
from analysis.reading.loading import load_aligned
from analysis.reading.study import load_study


def _with_method(demo: Path, method: str) -> Path:
    study = demo / "study.yml"
    text = study.read_text(encoding="utf-8").replace("method: corr", f"method: {method}")
    study.write_text(text, encoding="utf-8")
    return study


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_one_or_two_threads_in_memory_or_store_give_the_same_bytes(
    demo, tmp_path, monkeypatch, method
) -> None:
    study = _with_method(demo, method)
    monkeypatch.setattr(streaming, "CHUNK_PAIRS", 97)  # many chunks, a short last one
    read = []
    original = store_module.StoredRow.read

    def counted(self, start=0, stop=None, out=None):
        values = original(self, start, stop, out)
        read.append(len(values))
        return values

    monkeypatch.setattr(store_module.StoredRow, "read", counted)
    outs = []
    for threads, store in (("1", None), ("2", None), ("2", tmp_path / "store")):
        monkeypatch.setenv("RSA_THREADS", threads)
        outs.append(tmp_path / f"{threads}-{store is not None}")
        run(study, outs[-1], samples=0, store=store)
    names = sorted(p.name for p in outs[0].glob("*.csv"))
    assert "second_order.csv" in names and "per_subject.csv" in names
    for other in outs[1:]:
        for name in names:
            assert (outs[0] / name).read_bytes() == (other / name).read_bytes(), (other, name)
    aligned = load_aligned(load_study(study))
    vectors = sum(len(rdms.names) for a in aligned.subjects.values() for rdms in a.values())
    vectors += sum(len(rdms.names) for rdms in aligned.networks.values())
    vectors += sum(len(rdms.names) for rdms in aligned.group_means.values())
    n_pairs = len(aligned.images) * (len(aligned.images) - 1) // 2
    assert sum(read) == vectors * n_pairs, "from the store, every vector is read once"


@pytest.mark.parametrize("method", ["corr", "cosine"])
def test_pass_equals_rsatoolbox_on_whole_vectors(demo, tmp_path, monkeypatch, method) -> None:
    study = _with_method(demo, method)
    monkeypatch.setattr(streaming, "CHUNK_PAIRS", 101)
    out = tmp_path / "out"
    run(study, out, samples=0)
    aligned = load_aligned(load_study(study))
    per_subject = pd.read_csv(out / "per_subject.csv")
    joint = pd.read_csv(out / "joint.csv")
    second = pd.read_csv(out / "second_order.csv")
    layers = np.vstack([rdms.dissimilarities for rdms in aligned.networks.values()])
    models = rsatoolbox.rdm.RDMs(layers)
    for atlas in aligned.atlases:
        for subject, atlases in aligned.subjects.items():
            rdms = atlases[atlas]
            expected = rsatoolbox.rdm.compare(
                models, rsatoolbox.rdm.RDMs(rdms.dissimilarities), method
            )
            got = per_subject[(per_subject.subject == subject) & (per_subject.atlas == atlas)]
            # rows: ROI-major, then network and layer (the order of `layers`)
            np.testing.assert_allclose(
                got["r"].to_numpy().reshape(len(rdms.names), -1), expected.T, rtol=0, atol=1e-12
            )
        averaged = aligned.joint(atlas).dissimilarities
        everything = rsatoolbox.rdm.RDMs(np.vstack([averaged, layers]))
        expected = rsatoolbox.rdm.compare(everything, everything, method)
        got = joint[joint.atlas == atlas]["r"].to_numpy().reshape(len(averaged), -1)
        np.testing.assert_allclose(got, expected[: len(averaged), len(averaged) :], atol=1e-12)
        i, j = np.triu_indices(len(expected), 1)
        np.testing.assert_allclose(
            second[second.atlas == atlas]["r"], expected[i, j], rtol=0, atol=1e-12
        )


@pytest.mark.parametrize("method", ["spearman", "rho-a"])
def test_rank_second_order_equals_rsatoolbox_on_whole_vectors(demo, tmp_path, method) -> None:
    study = _with_method(demo, method)
    out = tmp_path / "out"
    run(study, out, samples=0, store=tmp_path / "store")
    aligned = load_aligned(load_study(study))
    second = pd.read_csv(out / "second_order.csv")
    layers = np.vstack([rdms.dissimilarities for rdms in aligned.networks.values()])
    for atlas in aligned.atlases:
        everything = rsatoolbox.rdm.RDMs(np.vstack([aligned.joint(atlas).dissimilarities, layers]))
        expected = rsatoolbox.rdm.compare(everything, everything, method)
        i, j = np.triu_indices(len(expected), 1)
        got = second[second.atlas == atlas]["r"]
        np.testing.assert_allclose(got, expected[i, j], rtol=0, atol=1e-12)

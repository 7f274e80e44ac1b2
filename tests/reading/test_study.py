"""Study files: both forms of `subjects`, atlases, group means, image settings, and one clear line
for each mistake."""

from __future__ import annotations

import pytest
import yaml

from analysis.errors import AnalysisError
from analysis.reading.study import DEFAULT_ATLAS, load_study


def _study(tmp_path, **fields):
    path = tmp_path / "study.yml"
    path.write_text(yaml.safe_dump({"networks": {"n": "n.h5"}, **fields}, sort_keys=False))
    return path


def test_a_plain_subject_file_is_the_default_atlas(tmp_path):
    study = load_study(
        _study(tmp_path, subjects={"s1": "a.h5"}, roi_groups={"g": ["V1"]}, rois=["V1"])
    )
    assert study.atlases == (DEFAULT_ATLAS,) and study.subjects["s1"] == {
        DEFAULT_ATLAS: tmp_path / "a.h5"
    }
    assert study.roi_groups == {DEFAULT_ATLAS: {"g": ["V1"]}} and study.rois == {
        DEFAULT_ATLAS: ["V1"]
    }
    assert study.images.match == "exact" and not study.images.explicit


def test_atlases_group_means_and_images(tmp_path):
    study = load_study(
        _study(
            tmp_path,
            subjects={"s1": {"A": "s1a.h5", "B": "s1b.h5"}, "s2": {"A": "s2a.h5", "B": "s2b.h5"}},
            group_mean={"B": "mb.h5"},
            roi_groups={"A": {"g": ["V1"]}},
            images={
                "match": "stem-casefold",
                "align": "per-subject",
                "sources": {"COCO": "^COCO_"},
            },
        )
    )
    assert study.atlases == ("A", "B") and study.group_mean == {"B": tmp_path / "mb.h5"}
    assert [f[:3] for f in study.files()] == [
        ("subject", "s1", "A"),
        ("subject", "s1", "B"),
        ("subject", "s2", "A"),
        ("subject", "s2", "B"),
        ("group_mean", "MEAN", "B"),
        ("network", "n", ""),
    ]
    assert study.images.explicit and study.images.align == "per-subject"
    assert study.as_dict()["images"]["sources"] == {"COCO": "^COCO_"}


@pytest.mark.parametrize(
    "fields, problem",
    [
        (
            dict(subjects={"s1": {"A": "a.h5"}, "s2": {"B": "b.h5"}}),
            "subject s2 has no file for atlas A",
        ),
        (
            dict(subjects={"s1": {"A": "a.h5"}}, group_mean={"C": "m.h5"}),
            "group_mean names atlas C",
        ),
        (
            dict(subjects={"s1": {"A": "a.h5"}, "s2": {"A": "b.h5"}}, rois={"Z": ["V1"]}),
            "rois names atlas Z",
        ),
        (
            dict(subjects={"s1": {"A": "a.h5", "B": "b.h5"}}, roi_groups={"g": ["V1"]}),
            "with several atlases",
        ),
        (dict(subjects={"s1": "a.h5"}, images={"match": "fuzzy"}), "unknown images.match 'fuzzy'"),
        (dict(subjects={"s1": "a.h5"}, images={"align": "best"}), "unknown images.align 'best'"),
        (
            dict(subjects={"s1": "a.h5"}, images={"sources": {"X": "("}}),
            "images.sources.X: not a regular",
        ),
        (
            dict(subjects={"s1": "a.h5"}, images={"allow_image_loss": "yes"}),
            "allow_image_loss must be true or false",
        ),
        (dict(subjects={"s1": "a.h5"}, images={"matching": "exact"}), "'images' takes only"),
        (dict(subjects={"s1": "a.h5"}, method="pearson"), "unknown method 'pearson'"),
    ],
)
def test_each_mistake_is_one_error_naming_the_file(tmp_path, fields, problem):
    with pytest.raises(AnalysisError, match=problem.replace("(", r"\(")) as caught:
        load_study(_study(tmp_path, **fields))
    assert caught.value.source == str(tmp_path / "study.yml")


def test_dataset_section_declares_the_data(tmp_path):
    path = _study(
        tmp_path,
        subjects={"s1": "s1.h5"},
        dataset={
            "name": "Some RDMs",
            "doi": "https://doi.org/10.5061/dryad.x",
            "licence": "CC-BY 4.0",
            "cite": "pickard2023bold5000",
        },
    )
    dataset = load_study(path).dataset
    assert dataset.declared and dataset.name == "Some RDMs"
    assert dataset.doi == "10.5061/dryad.x"
    assert dataset.source_url == "https://doi.org/10.5061/dryad.x"
    assert dataset.cite == ("pickard2023bold5000",)
    assert not load_study(_study(tmp_path, subjects={"s1": "s1.h5"})).dataset.declared


@pytest.mark.parametrize(
    "dataset, problem",
    [
        ({"nmae": "x"}, "unknown dataset key(s) nmae"),
        ({"cite": ["pickard2023bold5000", "nobody1999"]}, "dataset.cite names nobody1999"),
        ({"name": ["a", "b"]}, "dataset.name must be text"),
        ("just text", "'dataset' must map keys to text"),
    ],
)
def test_dataset_mistakes_are_one_error(tmp_path, dataset, problem):
    path = _study(tmp_path, subjects={"s1": "s1.h5"}, dataset=dataset)
    with pytest.raises(AnalysisError) as err:
        load_study(path)
    assert problem in str(err.value) and str(path) in str(err.value)


def test_the_bold5000_study_files_declare_the_dryad_deposit():
    from analysis.pipeline.provenance import PROJECT_ROOT

    for name in ("study.yml", "resnet50_bold5000_csi1-3.yml"):
        dataset = load_study(PROJECT_ROOT / "data" / "bold5000" / name).dataset
        assert dataset.doi == "10.5061/dryad.wpzgmsbtr"
        assert "pickard2023bold5000" in dataset.cite


def test_networks_plain_or_with_ordered(tmp_path):
    study = load_study(
        _study(
            tmp_path,
            subjects={"s1": "a.h5"},
            networks={"ResNet": "r.h5", "Models": {"file": "m.h5", "ordered": False}},
        )
    )
    assert study.networks == {"ResNet": tmp_path / "r.h5", "Models": tmp_path / "m.h5"}
    assert study.networks_ordered == {"ResNet": True, "Models": False}
    assert study.as_dict()["networks"] == {"ResNet": "r.h5", "Models": "m.h5"}
    assert study.as_dict()["networks_ordered"] == {"ResNet": True, "Models": False}
    mapped = load_study(_study(tmp_path, subjects={"s1": "a.h5"}, networks={"N": {"file": "n.h5"}}))
    assert mapped.networks_ordered == {"N": True}


@pytest.mark.parametrize(
    "entry, problem",
    [
        ({"file": "m.h5", "order": False}, r"unknown key\(s\) order in networks.Models"),
        ({"file": "m.h5", "ordered": "no"}, "networks.Models.ordered must be true or false"),
        ({"ordered": False}, "networks.Models.file must be a file path"),
    ],
)
def test_a_bad_network_entry_is_one_line_naming_the_file(tmp_path, entry, problem):
    path = _study(tmp_path, subjects={"s1": "a.h5"}, networks={"Models": entry})
    with pytest.raises(AnalysisError, match=problem) as caught:
        load_study(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)

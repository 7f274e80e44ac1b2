"""Image names: matching keys, sources, and what alignment costs a file, in numbers and in words."""

from __future__ import annotations

import pytest

from analysis.errors import AnalysisError
from analysis.reading.images import account, image_keys, loss_line, source_of, stem_casefold


@pytest.mark.parametrize(
    "name, key",
    [
        ("COCO_1.jpg", "coco_1"),
        ("a/b/N0001_2.JPEG", "n0001_2"),
        ("scene.1.png", "scene.1"),
        ("noext", "noext"),
        (".hidden", ".hidden"),
    ],
)
def test_stem_casefold(name, key):
    assert stem_casefold(name) == key


def test_exact_keys_are_the_names_and_collisions_name_both():
    assert image_keys(["A.jpg", "a.png"], "exact", "f.h5") == ["A.jpg", "a.png"]
    with pytest.raises(AnalysisError, match="'A.jpg' and 'a.png' become the same image 'a'"):
        image_keys(["A.jpg", "a.png"], "stem-casefold", "f.h5")


def test_first_matching_source_wins():
    sources = {"COCO": "^COCO_", "any": "."}
    assert source_of("COCO_1.jpg", sources) == "COCO" and source_of("x.jpg", sources) == "any"
    assert source_of("x.jpg", {"COCO": "^COCO_"}) == "other"


def test_account_counts_kept_dropped_by_source_and_near_matches():
    names = ["COCO_1.jpg", "COCO_2.jpg", "n01_1.JPEG", "kitchen1.jpg"]
    kept = {"COCO_1.jpg", "kitchen1.jpg"}
    near = {stem_casefold(n) for n in names[:3]}  # n01_1 exists elsewhere as, say, N01_1.png
    tally = account(names, names, kept, {"COCO": "^COCO_", "ImageNet": r"^n\d", "Scene": "."}, near)
    assert (tally.images_in_file, tally.images_kept, tally.images_dropped) == (4, 2, 2)
    assert tally.dropped_by_source == {"COCO": 1, "ImageNet": 1}
    assert tally.kept_by_source == {"COCO": 1, "Scene": 1}
    assert tally.near_matches == 2 and tally.dropped_examples == ("COCO_2.jpg", "n01_1.JPEG")
    line = loss_line(tally, "exact")
    assert line.startswith("2 of 4 images are not in every file") and "COCO 1, ImageNet 1" in line
    assert "2 of them would match under images.match: stem-casefold" in line

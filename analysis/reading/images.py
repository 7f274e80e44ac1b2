"""Image names across files: how they are matched, which source each comes from, and what
alignment costs each file.

Files that name one image slightly differently (case, extension, a folder) would otherwise lose
that image without a word. `image_keys` maps names to the keys files are matched on;
`account` says, per file, how many images alignment keeps and drops, from which sources, and how
many dropped names would have matched under `stem-casefold`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import AnalysisError

OTHER_SOURCE = "other"
EXAMPLES = 5


def stem_casefold(name: str) -> str:
    """An image name without folders, extension and letter case: 'a/COCO_1.JPG' → 'coco_1'."""
    base = PurePosixPath(name.replace("\\", "/")).name
    stem = base.rsplit(".", 1)[0] if "." in base[1:] else base
    return stem.casefold()


def image_keys(names: Sequence[str], match: str, path: Path | str) -> list[str]:
    """The keys files are matched on; two names of one
    file with one key are an error naming both."""
    if match == "exact":
        return list(names)
    keys = [stem_casefold(name) for name in names]
    first: dict[str, str] = {}
    for key, name in zip(keys, names, strict=True):
        if key in first:
            raise AnalysisError(
                path,
                f"images {first[key]!r} and {name!r} become the same image "
                f"{key!r} under images.match: {match}",
            )
        first[key] = name
    return keys


def source_of(name: str, sources: dict[str, str]) -> str:
    """The first source whose pattern matches the name (re.search), else 'other'."""
    for source, pattern in sources.items():
        if re.search(pattern, name):
            return source
    return OTHER_SOURCE


@dataclass(frozen=True)
class ImageAccount:
    """What aligning one file to a set of images kept and dropped."""

    images_in_file: int
    images_kept: int
    dropped_by_source: dict[str, int] = field(default_factory=dict)
    kept_by_source: dict[str, int] = field(default_factory=dict)
    near_matches: int = 0
    dropped_examples: tuple[str, ...] = ()

    @property
    def images_dropped(self) -> int:
        return self.images_in_file - self.images_kept


def account(
    names: Sequence[str],
    keys: Sequence[str],
    kept: set[str],
    sources: dict[str, str],
    near: set[str] | None,
) -> ImageAccount:
    """Kept and dropped images of one file; `near`: the stem-casefold keys every file shares
    (None when files are already matched that way), to count dropped names that would match."""
    dropped = [name for name, key in zip(names, keys, strict=True) if key not in kept]
    kept_names = [name for name, key in zip(names, keys, strict=True) if key in kept]
    by_source = Counter(source_of(name, sources) for name in dropped) if sources else Counter()
    kept_source = Counter(source_of(name, sources) for name in kept_names) if sources else Counter()
    near_matches = 0 if near is None else sum(stem_casefold(name) in near for name in dropped)
    return ImageAccount(
        images_in_file=len(names),
        images_kept=len(kept_names),
        dropped_by_source=dict(sorted(by_source.items())),
        kept_by_source=dict(sorted(kept_source.items())),
        near_matches=near_matches,
        dropped_examples=tuple(sorted(dropped)[:EXAMPLES]),
    )


def loss_line(tally: ImageAccount, match: str) -> str:
    """One line saying what alignment dropped from a file (for a warning or an error)."""
    line = (
        f"{tally.images_dropped} of {tally.images_in_file} images "
        "are not in every file and were dropped"
    )
    if tally.dropped_by_source:
        line += " (" + ", ".join(f"{s} {n}" for s, n in tally.dropped_by_source.items()) + ")"
    if tally.near_matches:
        line += (
            f"; {tally.near_matches} of them would match under images.match: stem-casefold "
            "(the same name but for folder, extension or letter case)"
        )
    elif match == "stem-casefold":
        line += " after matching names by stem, ignoring case"
    return line

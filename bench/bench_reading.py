"""Reading a gzip-compressed RDM file against an uncompressed one, at the deposit's 4916 images.

`python -m bench reading` (part of `make bench`): writes two files of the same RDMs once into
_bench/reading/ (h5py's default chunking when compressing, gzip level 4, as a deposit might
store them), then times `open_rdm_file` plus reading every row, as the analysis reads them.
"""

from __future__ import annotations

import time
from pathlib import Path

import h5py
import numpy as np

from analysis.reading.rdmfile import open_rdm_file

from .common import BENCH_DIR, FULL_IMAGES, print_table

N_RDMS = 2
REPEATS = 3


def write_pair(folder: Path, n_images: int = FULL_IMAGES) -> tuple[Path, Path]:
    """The same RDMs twice: uncompressed and gzip-compressed (written once, then reused)."""
    plain, packed = folder / "plain.h5", folder / "gzip.h5"
    if plain.exists() and packed.exists():
        return plain, packed
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n_pairs = n_images * (n_images - 1) // 2
    # correlation distances: smooth structure plus noise, so gzip finds what real RDMs offer
    vectors = np.clip(1 + 0.3 * rng.standard_normal((N_RDMS, n_pairs)), 0, 2)
    images = np.array([f"img{i:05d}.jpg" for i in range(n_images)], dtype="S")
    for path, options in ((plain, {}), (packed, {"compression": "gzip", "compression_opts": 4})):
        with h5py.File(path, "w") as file:
            file.attrs["dissimilarity_measure"] = "correlation"
            file.create_dataset("dissimilarities", data=vectors, **options)
            file["rdm_descriptors/roi"] = np.array([f"ROI{i}" for i in range(N_RDMS)], dtype="S")
            file["pattern_descriptors/image"] = images
    return plain, packed


def _read_all(path: Path) -> float:
    """Seconds to open the file and read every RDM row (best of REPEATS)."""
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        rdm_file = open_rdm_file(path, "roi")
        for row in range(len(rdm_file.names)):
            rdm_file.read([row])
        best = min(best, time.perf_counter() - start)
    return best


def bench_reading(n_images: int = FULL_IMAGES) -> list[tuple[str, str, str, str]]:
    """One row: reading the compressed file against the uncompressed one (time and size)."""
    plain, packed = write_pair(BENCH_DIR / "reading", n_images)
    plain_s, packed_s = _read_all(plain), _read_all(packed)
    plain_mb, packed_mb = plain.stat().st_size / 1e6, packed.stat().st_size / 1e6
    return [
        (
            f"read {N_RDMS} RDMs at {n_images} images (best of {REPEATS})",
            f"{plain_s:.2f} s",
            f"{packed_s:.2f} s",
            f"gzip {packed_s / plain_s:.1f}x slower",
        ),
        ("file size", f"{plain_mb:.0f} MB", f"{packed_mb:.0f} MB", f"{packed_mb / plain_mb:.2f}"),
    ]


def main() -> None:
    rows = bench_reading()
    print_table(rows, header=("reading", "uncompressed", "gzip level 4", "ratio"))


if __name__ == "__main__":
    main()

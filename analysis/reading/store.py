"""Aligned RDM vectors on disk, so that a study of any size runs in bounded memory.

Without a store, `load_aligned` holds every aligned RDM in memory (about 97 MB each at 4916
images; the whole BOLD5000 deposit is over 20 GB). Inside `storing(store)`, it writes each
aligned vector once as a float64 .npy file named by a key over the input file's sha256, the
row and the image alignment, and keeps only where it lies (`StoredRow`). A rerun, or another
study over the same files, finds the vectors already there. A file whose images are already in
the canonical order and whose dissimilarities are contiguous little-endian float64 is not
copied: its rows are read straight from the HDF5 file.

Rows are read with explicit reads (os.preadv), never memory maps: pages of a mapped file count
as the process's resident memory, reads into a buffer the process frees do not. Workers of a
Dask cluster read the same files, so the store must lie on a path they share.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import AnalysisError
from ..executor import current
from .rdmfile import RDMFile

FLOAT = np.dtype("<f8")
HEADROOM = 1.05  # keep 5% of the free space free


@dataclass(frozen=True)
class StoredRow:
    """One aligned RDM vector on disk: `n_pairs` float64 values at byte `offset` of `path`.

    It stands in for a 1-D array: `np.asarray(row)` reads the whole vector, `read(start, stop)`
    a range of it. It pickles as three numbers, so Dask tasks can carry it.
    """

    path: str
    offset: int
    n_pairs: int

    @property
    def shape(self) -> tuple[int]:
        return (self.n_pairs,)

    ndim = 1
    dtype = FLOAT

    def __len__(self) -> int:
        return self.n_pairs

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self.read()
        return values if dtype is None else values.astype(dtype, copy=False)

    def read(
        self, start: int = 0, stop: int | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Values [start, stop) of the vector, as a new float64 array (or into `out`, a
        contiguous float64 array of that length)."""
        stop = self.n_pairs if stop is None else min(stop, self.n_pairs)
        values = np.empty(max(0, stop - start), dtype=FLOAT) if out is None else out
        buffer = memoryview(values).cast("B")
        position = self.offset + FLOAT.itemsize * start
        try:
            with open(self.path, "rb", buffering=0) as handle:
                done = 0
                while done < buffer.nbytes:
                    got = os.preadv(handle.fileno(), [buffer[done:]], position + done)
                    if got == 0:
                        raise AnalysisError(
                            self.path, "aligned RDM store file is truncated; delete it and rerun"
                        )
                    done += got
        except OSError as err:
            raise AnalysisError(
                self.path, f"cannot read the aligned RDM store ({err.strerror})"
            ) from None
        return values

    def prefetch(self, start: int, stop: int) -> None:
        """Ask the kernel to start reading values [start, stop) now (posix_fadvise WILLNEED),
        so that many ranges are on their way at once; a hint only, its failure is ignored."""
        try:
            with open(self.path, "rb", buffering=0) as handle:
                os.posix_fadvise(
                    handle.fileno(),
                    self.offset + FLOAT.itemsize * start,
                    FLOAT.itemsize * (min(stop, self.n_pairs) - start),
                    os.POSIX_FADV_WILLNEED,
                )
        except (OSError, AttributeError):
            pass

    def take(self, positions: np.ndarray) -> np.ndarray:
        """Values at a few scattered `positions`, reading only their pages (a read-only map,
        dropped at once: a few pages count as resident, not the vector)."""
        try:
            mapped = np.memmap(
                self.path, dtype=FLOAT, mode="r", offset=self.offset, shape=(self.n_pairs,)
            )
            return np.array(mapped[np.asarray(positions)])
        except (OSError, ValueError) as err:
            raise AnalysisError(self.path, f"cannot read the aligned RDM store ({err})") from None


@dataclass(frozen=True)
class StoredMatrix:
    """The aligned RDMs of one file on disk, standing in for an n_rdm × n_pairs array."""

    rows: tuple[StoredRow, ...]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.rows), self.rows[0].n_pairs if self.rows else 0)

    ndim = 2
    dtype = FLOAT

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[StoredRow]:
        return iter(self.rows)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)):
            return self.rows[key]
        return np.asarray(self)[key]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = np.empty(self.shape, dtype=FLOAT if dtype is None else dtype)
        for i, row in enumerate(self.rows):
            values[i] = row.read()
        return values


def row_range(row: np.ndarray | StoredRow, start: int, stop: int) -> np.ndarray:
    """Values [start, stop) of an RDM vector: a view of an array, a read of a stored row."""
    if isinstance(row, StoredRow):
        return row.read(start, stop)
    return row[start:stop]


def take(row: np.ndarray | StoredRow, positions: np.ndarray) -> np.ndarray:
    """Values of an RDM vector at `positions`: indexed in memory, read alone from the store."""
    if isinstance(row, StoredRow):
        return row.take(positions)
    return np.asarray(row)[positions]


def read_range_into(row: np.ndarray | StoredRow, start: int, out: np.ndarray) -> None:
    """Values [start, start + len(out)) of an RDM vector, into `out` (float64, contiguous)."""
    if isinstance(row, StoredRow):
        row.read(start, start + len(out), out=out)
    else:
        out[:] = row[start : start + len(out)]


@dataclass
class AlignedStore:
    """A folder of aligned RDM vectors; `sha256` maps each input file (resolved) to its digest."""

    folder: Path
    sha256: dict[str, str]
    finite: frozenset[str] = frozenset()  # files whose every value was checked while hashed

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        self.written_bytes = 0
        self.reused_bytes = 0
        self.advance: Callable[[int], None] | None = None  # told the bytes of each row handled

    def vectors(
        self, rdm_file: RDMFile, rows: list[int], index: np.ndarray | None, n_pairs: int
    ) -> StoredMatrix:
        """The file's `rows`, gathered by `index` (None: already aligned), on disk."""
        digest = self.sha256.get(str(Path(rdm_file.path).resolve()))
        if digest is None:
            raise AnalysisError(
                rdm_file.path, "no sha256 for this file: cannot key its aligned store entries"
            )
        alignment = hashlib.sha256(b"identity" if index is None else index.tobytes()).hexdigest()
        keys = [
            hashlib.sha256(f"{digest}\0{row}\0{alignment}\0{n_pairs}".encode()).hexdigest()[:40]
            for row in rows
        ]
        direct = contiguous_rows(rdm_file.path) if index is None else None
        stored = {row: self._existing(key, n_pairs) for row, key in zip(rows, keys, strict=True)}
        missing = [(row, key) for row, key in zip(rows, keys, strict=True) if stored[row] is None]
        reused = len(rows) - len(missing)
        self.reused_bytes += reused * n_pairs * FLOAT.itemsize
        if self.advance is not None and reused:
            self.advance(reused * n_pairs * FLOAT.itemsize)
        if missing and direct is not None and str(Path(rdm_file.path).resolve()) in self.finite:
            # read in place and already checked finite when the file was hashed: not read again
            for row, key in missing:
                stored[row] = write_reference(
                    self.folder / f"{key}.ref", StoredRow(str(rdm_file.path), direct[row], n_pairs)
                )
                if self.advance is not None:
                    self.advance(n_pairs * FLOAT.itemsize)
            missing = []
        if missing:
            self.folder.mkdir(parents=True, exist_ok=True)
            if direct is None:
                check_free(
                    self.folder, len(missing) * n_pairs * FLOAT.itemsize, "the aligned RDM store"
                )
            # One task per row (read, check, gather, write): threads here, or Dask workers that
            # share these paths.
            results = current().executor.map(
                store_row,
                missing,
                rdm_file=rdm_file,
                index=index,
                folder=str(self.folder),
                direct=direct,
                n_pairs=n_pairs,
            )
            for (row, _), entry in zip(missing, results, strict=True):
                stored[row] = entry
                if direct is None:
                    self.written_bytes += n_pairs * FLOAT.itemsize
                if self.advance is not None:
                    self.advance(n_pairs * FLOAT.itemsize)
        return StoredMatrix(tuple(stored[row] for row in rows))

    def _existing(self, key: str, n_pairs: int) -> StoredRow | None:
        path = self.folder / f"{key}.npy"
        reference = self.folder / f"{key}.ref"
        if reference.is_file():
            try:
                row = StoredRow(**json.loads(reference.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                return None
            return row if row.n_pairs == n_pairs and Path(row.path).is_file() else None
        if not path.is_file():
            return None
        row = npy_row(path)
        return row if row.n_pairs == n_pairs else None


def write_vector(path: Path, vector: np.ndarray) -> StoredRow:
    """Write one vector as .npy (to a temporary name, then renamed: never half-written)."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            np.save(handle, np.ascontiguousarray(vector, dtype=FLOAT))
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise AnalysisError(
            path.parent, f"cannot write the aligned RDM store ({err.strerror})"
        ) from None
    return npy_row(path)


def store_row(
    task: tuple[int, str],
    *,
    rdm_file: RDMFile,
    index: np.ndarray | None,
    folder: str,
    direct: list[int] | None,
    n_pairs: int,
) -> StoredRow:
    """Read one row of a file (checked finite), gather it and write it to the store; a row that
    can be read in place is only checked and recorded."""
    row, key = task
    vector = rdm_file.read([row])[0]
    if direct is not None:
        return write_reference(
            Path(folder) / f"{key}.ref", StoredRow(str(rdm_file.path), direct[row], n_pairs)
        )
    return write_vector(Path(folder) / f"{key}.npy", vector if index is None else vector[index])


def write_reference(path: Path, row: StoredRow) -> StoredRow:
    """Record that a row is read in place from its input file (already checked finite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(dataclasses.asdict(row)), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as err:
        temporary.unlink(missing_ok=True)
        raise AnalysisError(
            path.parent, f"cannot write the aligned RDM store ({err.strerror})"
        ) from None
    return row


def npy_row(path: Path) -> StoredRow:
    """Where the values of a 1-D float64 .npy file start, and how many there are."""
    try:
        mapped = np.load(path, mmap_mode="r")  # reads only the header; no page of data is touched
    except (OSError, ValueError) as err:
        raise AnalysisError(
            path, f"unreadable aligned RDM store file ({err}); delete it and rerun"
        ) from None
    if mapped.dtype != FLOAT or mapped.ndim != 1:
        raise AnalysisError(
            path, "not an aligned RDM store file (1-D float64 expected); delete it and rerun"
        )
    return StoredRow(str(path), int(mapped.offset), int(mapped.shape[0]))


def contiguous_layout(path: Path) -> tuple[int, int, int] | None:
    """(byte offset, rows, values per row) of an HDF5 file's dissimilarities when they can be
    read directly (contiguous, uncompressed, little-endian float64, 2-D); None otherwise."""
    try:
        with h5py.File(path, "r") as file:
            data = file["dissimilarities"]
            offset = data.id.get_offset()
            if offset is None or data.chunks is not None or data.dtype != FLOAT or data.ndim != 2:
                return None
            return int(offset), int(data.shape[0]), int(data.shape[1])
    except (OSError, KeyError):
        return None


def contiguous_rows(path: Path) -> list[int] | None:
    """Byte offset of each row of an HDF5 file's dissimilarities when they can be read directly
    (see contiguous_layout); None otherwise."""
    layout = contiguous_layout(path)
    if layout is None:
        return None
    offset, rows, values = layout
    return [offset + r * values * FLOAT.itemsize for r in range(rows)]


def check_free(folder: Path, needed: int, what: str) -> None:
    """Refuse to start writing `needed` bytes into `folder` when the disk cannot take them."""
    free = shutil.disk_usage(folder).free
    if needed * HEADROOM > free:
        raise AnalysisError(
            folder,
            f"{what} needs {needed / 1e9:.1f} GB and only {free / 1e9:.1f} GB "
            "are free there; free some space or choose another folder with --store",
        )


_ACTIVE: contextvars.ContextVar[AlignedStore | None] = contextvars.ContextVar(
    "aligned_store", default=None
)


@contextlib.contextmanager
def storing(store: AlignedStore | None) -> Iterator[AlignedStore | None]:
    """Within this block, aligned RDMs go to `store` (None: kept in memory, as by default)."""
    token = _ACTIVE.set(store)
    try:
        yield store
    finally:
        _ACTIVE.reset(token)


def active_store() -> AlignedStore | None:
    """The store that aligned RDMs go to within the current `storing` block, if any."""
    return _ACTIVE.get()


def aligned_vectors(
    rdm_file: RDMFile, rows: list[int], index: np.ndarray | None, n_pairs: int
) -> np.ndarray | StoredMatrix:
    """The file's `rows` gathered by `index`: in memory, or in the active store (see `storing`)."""
    store = _ACTIVE.get()
    if store is not None:
        return store.vectors(rdm_file, rows, index, n_pairs)
    vectors = np.empty((len(rows), n_pairs))
    for i, row in enumerate(rows):
        vector = rdm_file.read([row])[0]
        vectors[i] = vector if index is None else vector[index]
    return vectors


def aligned_on_disk(aligned: Any) -> bool:
    """Whether an AlignedStudy's vectors are in a store (read on demand) rather than in memory."""
    sets = [rdms for atlases in aligned.subjects.values() for rdms in atlases.values()]
    sets += list(aligned.networks.values())
    return any(isinstance(rdms.dissimilarities, StoredMatrix) for rdms in sets)

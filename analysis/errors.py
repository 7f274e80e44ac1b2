"""The one error type that the command line turns into a single clear line."""

from __future__ import annotations

from pathlib import Path


class AnalysisError(Exception):
    """Bad input or an impossible analysis: names the file (or thing) and the problem."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")

    def __reduce__(self):
        """Pickle as (source, problem), so an error raised
        in a Dask task reaches the client intact."""
        return (AnalysisError, (self.source, self.problem))

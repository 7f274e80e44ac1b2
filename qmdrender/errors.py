"""The one error type the renderer reports to the user."""

from __future__ import annotations

from pathlib import Path


class RenderError(Exception):
    """A problem with the project, a source file or a cell, shown as one line."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem

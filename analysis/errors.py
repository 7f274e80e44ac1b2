"""The one error type that the command line turns into a single clear line, the warning type it
shows as one line each, and the shared check that a value is one of the allowed choices."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TypeVar

__all__ = ["AnalysisError", "AnalysisWarning", "UnknownChoiceError", "check_choice"]

Choice = TypeVar("Choice")


class AnalysisError(Exception):
    """Bad input or an impossible analysis: names the file (or thing) and the problem."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")

    def __reduce__(self):
        """Pickle as (source, problem), so an error raised
        in a Dask task reaches the client intact."""
        return (type(self), (self.source, self.problem))


class AnalysisWarning(UserWarning):
    """Something the reader of the results should know (e.g. images dropped by alignment); the
    command line shows each as one line, ``warning: FILE: problem``."""


class UnknownChoiceError(AnalysisError, ValueError):
    """A parameter's value is not one of its allowed choices (also a ValueError for library
    callers)."""


def check_choice(
    value: Choice, allowed: Collection, parameter: str, source: str | Path | None = None
) -> Choice:
    """Return `value` if it is one of `allowed`; else raise UnknownChoiceError naming the
    parameter, the bad value and the choices (as nilearn's check_parameter_in_allowed does).

    Parameters
    ----------
    value
        The value given.
    allowed
        The allowed values, in the order the message lists them.
    parameter
        The parameter's name in the message, e.g. ``"method"`` or ``"images.match"``.
    source
        The file (or thing) the error names; the parameter when None.

    Returns
    -------
    The value, unchanged.
    """
    if value not in allowed:
        raise UnknownChoiceError(
            parameter if source is None else source,
            f"unknown {parameter} {value!r}; choose one of {', '.join(map(str, allowed))}",
        )
    return value

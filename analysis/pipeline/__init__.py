"""Running an analysis: the stages, their content-keyed
cache, provenance, and the results folder."""

from .run import Outcome, run
from .stages import StageOutput

__all__ = ["Outcome", "StageOutput", "run"]

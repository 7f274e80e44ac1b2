"""Statistical inference as rsatoolbox's eval_dual_bootstrap: resampling images and subjects,
weighted moments instead of resampled RDMs, noise ceilings, the Result statistics, and the
inference tables."""

from .dual_bootstrap import DualBootstrap, dual_bootstrap
from .resampling import Resampling, draw_resampling
from .statistics import ModelStatistics, adjust, dual_variance, model_statistics
from .tables import InferenceOutput, inference_arrays, inference_tables

__all__ = [
    "DualBootstrap",
    "InferenceOutput",
    "ModelStatistics",
    "Resampling",
    "adjust",
    "draw_resampling",
    "dual_bootstrap",
    "dual_variance",
    "inference_arrays",
    "inference_tables",
    "model_statistics",
]

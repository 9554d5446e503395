"""The steps of the skip-model pipeline, one Kubeflow Pipelines v2 component each.

Each component is a self-contained function (Kubeflow ships its source to a container), so
helpers live inside it and every import is local.
"""

from .dataset import build_training_set
from .evaluation import evaluate_skip_model
from .onnx_export import export_onnx
from .registry import register_model_version
from .training import train_skip_model

__all__ = [
    "build_training_set",
    "evaluate_skip_model",
    "export_onnx",
    "register_model_version",
    "train_skip_model",
]

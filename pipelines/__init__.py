"""Training pipelines of the lucid platform (Kubeflow Pipelines v2 components)."""

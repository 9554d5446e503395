"""The reference training pipeline of the skip model.

From the feature store's offline log to a registered model version: a point-in-time training
set (the ``backfill`` binary), a scikit-learn logistic regression trained on the earlier part of
the data window, an evaluation on the later held-out period, an ONNX export that the Rust
gateway scores with tract, and an MLflow run and model version with lineage tags.

``pipeline.py`` holds the Kubeflow pipeline, ``components/`` its steps, ``run.py`` the command
line that runs it on the KFP SDK's local runner. See ``README.md``.
"""

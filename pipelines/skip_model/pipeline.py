"""The skip-model training pipeline as a Kubeflow Pipelines v2 pipeline.

``python -m pipelines.skip_model.pipeline --out skip_model.yaml`` compiles it to the IR YAML
that a Kubeflow Pipelines server runs; ``run.py`` runs the same pipeline on the local runner.
"""

import argparse

from kfp import compiler, dsl

from .components import (
    build_training_set,
    evaluate_skip_model,
    export_onnx,
    register_model_version,
    train_skip_model,
)

NAME = "skip-model-training"


@dsl.pipeline(
    name=NAME,
    description="Point-in-time training set from the offline log, logistic regression, "
    "held-out evaluation, ONNX export, MLflow model version",
)
def skip_model_pipeline(
    offline_dir: str,
    mlflow_url: str,
    backfill_bin: str = "backfill",
    features_file: str = "",
    model_name: str = "skip-model",
    experiment: str = "skip-model",
    dedupe_key: str = "",
    alert_ids: str = "",
    code_version: str = "",
    holdout_fraction: float = 0.25,
    regularization: float = 1.0,
    calibration_bins: int = 10,
    parity_rows: int = 20,
    invert_scores: bool = False,
) -> str:
    """Trains and registers one version of the skip model; returns its JSON summary."""
    dataset = build_training_set(
        offline_dir=offline_dir, backfill_bin=backfill_bin, features_file=features_file
    )
    dataset.set_caching_options(False)

    split = train_skip_model(
        training_set=dataset.outputs["training_set"],
        holdout_fraction=holdout_fraction,
        regularization=regularization,
    )
    evaluation = evaluate_skip_model(
        training_set=dataset.outputs["training_set"],
        model=split.outputs["model"],
        calibration_bins=calibration_bins,
    )
    exported = export_onnx(
        training_set=dataset.outputs["training_set"],
        model=split.outputs["model"],
        model_name=model_name,
        parity_rows=parity_rows,
        invert_scores=invert_scores,
    )
    registered = register_model_version(
        mlflow_url=mlflow_url,
        experiment=experiment,
        model_name=model_name,
        dedupe_key=dedupe_key,
        alert_ids=alert_ids,
        code_version=code_version,
        offline_dir=offline_dir,
        training_set_sha256=dataset.outputs["sha256"],
        training_rows=dataset.outputs["rows"],
        backfill_sha256=dataset.outputs["backfill_sha256"],
        window_start_ms=split.outputs["window_start_ms"],
        split_time_ms=split.outputs["split_time_ms"],
        window_end_ms=split.outputs["window_end_ms"],
        features=split.outputs["features"],
        holdout_fraction=holdout_fraction,
        regularization=regularization,
        report=evaluation.outputs["report"],
        onnx_model=exported.outputs["onnx_model"],
    )
    # Registering talks to the registry: never answer it from a cache.
    registered.set_caching_options(False)
    return registered.output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the pipeline's IR YAML")
    args = parser.parse_args()
    compiler.Compiler().compile(skip_model_pipeline, package_path=args.out)


if __name__ == "__main__":
    main()

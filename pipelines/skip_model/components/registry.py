"""Step 5: an MLflow run with the evaluation and the ONNX model, and a new model version."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Model

from ..packages import BASE_IMAGE, pinned


@dsl.component(base_image=BASE_IMAGE, packages_to_install=pinned("mlflow-skinny"))
def register_model_version(
    mlflow_url: str,
    experiment: str,
    model_name: str,
    dedupe_key: str,
    alert_ids: str,
    code_version: str,
    offline_dir: str,
    training_set_sha256: str,
    training_rows: int,
    backfill_sha256: str,
    window_start_ms: int,
    split_time_ms: int,
    window_end_ms: int,
    features: str,
    holdout_fraction: float,
    regularization: float,
    report: Input[Artifact],
    onnx_model: Input[Model],
) -> str:
    """Logs the run and registers ``runs:/<run id>/model`` as a new version of ``model_name``.

    The run (named after ``dedupe_key``) holds the parameters, the held-out metrics, the
    evaluation report and the ONNX folder under ``model/``. The version is tagged with its
    lineage: the drift alerts that asked for it (``alert_ids``, comma-separated), the data
    window and split, the code version, the training set's SHA-256 and the dedupe key.

    Idempotent per dedupe key: when a finished run with that key already registered a
    version, nothing is logged and that version is returned, so a retried trigger does not
    register twice. Returns the version, its metrics and lineage as one JSON object.
    """
    import json
    import os
    import time
    from datetime import datetime, timezone

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    def iso(ms):
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")

    def result(version, run, deduplicated):
        tags = version.tags
        return json.dumps(
            {
                "model_name": version.name,
                "version": version.version,
                "run_id": run.info.run_id,
                "source": version.source,
                "dedupe_key": tags.get("lucid.dedupe_key", ""),
                "deduplicated": deduplicated,
                "alert_ids": [a for a in tags.get("lucid.alert_ids", "").split(",") if a],
                "data_window": {
                    "start": tags.get("lucid.data_window_start"),
                    "split": tags.get("lucid.data_window_split"),
                    "end": tags.get("lucid.data_window_end"),
                },
                "code_version": tags.get("lucid.code_version"),
                "training_set_sha256": tags.get("lucid.training_set_sha256"),
                "metrics": dict(sorted(run.data.metrics.items())),
            }
        )

    if "'" in dedupe_key or "\\" in dedupe_key:
        raise ValueError(f"the dedupe key {dedupe_key!r} holds a quote or a backslash")
    client = MlflowClient(tracking_uri=mlflow_url, registry_uri=mlflow_url)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)

    if dedupe_key:
        earlier = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`lucid.dedupe_key` = '{dedupe_key}' "
            "and attributes.status = 'FINISHED'",
        )
        for run in earlier:
            versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
            mine = [v for v in versions if v.name == model_name]
            if mine:
                return result(mine[0], run, True)

    with open(report.path) as f:
        evaluation = json.load(f)
    lineage = {
        "lucid.dedupe_key": dedupe_key,
        "lucid.alert_ids": ",".join(a.strip() for a in alert_ids.split(",") if a.strip()),
        "lucid.data_window_start": iso(window_start_ms),
        "lucid.data_window_split": iso(split_time_ms),
        "lucid.data_window_end": iso(window_end_ms),
        "lucid.code_version": code_version or "unknown",
        "lucid.training_set_sha256": training_set_sha256,
    }
    with open(os.path.join(onnx_model.path, "model.json")) as f:
        if json.load(f).get("lucid.inverted_scores") == "true":
            lineage["lucid.inverted_scores"] = "true"
    params = {
        "offline_dir": offline_dir,
        "training_rows": training_rows,
        "backfill_sha256": backfill_sha256,
        "holdout_fraction": holdout_fraction,
        "regularization_c": regularization,
        "model": "SimpleImputer(median) + StandardScaler + LogisticRegression",
        "features": features,
        "feature_count": len(json.loads(features)),
    }

    run = client.create_run(experiment_id, run_name=dedupe_key or None, tags=lineage)
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    try:
        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in evaluation["metrics"].items()],
            params=[Param(k, str(v)) for k, v in params.items()],
            tags=[RunTag("lucid.pipeline", "pipelines.skip_model")],
        )
        client.log_artifacts(run_id, onnx_model.path, artifact_path="model")
        client.log_artifact(run_id, report.path, artifact_path="evaluation")
        try:
            client.create_registered_model(
                model_name, description="Probability that a played track is skipped"
            )
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = client.create_model_version(
            model_name,
            source=f"runs:/{run_id}/model",
            run_id=run_id,
            tags=lineage,
            description=f"held-out AUC {evaluation['metrics']['auc']:.4f}",
        )
    except Exception:
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return result(version, client.get_run(run_id), False)
